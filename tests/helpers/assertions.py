"""Precise assertions: reverts by custom-error name and every argument, the revert data a
custom error encodes to, and the exception an action raises."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from provledger.chain.reverts import ContractRevertError


@contextmanager
def reverts(name: str, **arguments: Any) -> Iterator[pytest.ExceptionInfo[ContractRevertError]]:
    """Expect a revert with custom error ``name`` and exactly ``arguments`` (by parameter name)."""
    with pytest.raises(ContractRevertError) as info:
        yield info
    error = info.value
    assert error.name == name, f"expected {name}, got {error}"
    assert error.args_by_name == arguments, f"expected {name}({arguments}), got {error}"


def selector(signature: str) -> bytes:
    """The four-byte selector of an error signature."""
    return keccak(text=signature)[:4]


def error_data(signature: str, types: list[str], values: list[Any]) -> bytes:
    """Revert data of ``signature`` with ``values``."""
    return selector(signature) + abi_encode(types, values)


def failure_of(action: Callable[[], object]) -> BaseException:
    """The exception ``action`` raises; fails the test if it returns."""
    try:
        action()
    except Exception as error:
        return error
    raise AssertionError("expected the call to revert")
