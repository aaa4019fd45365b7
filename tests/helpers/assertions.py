"""Precise assertions: reverts by custom-error name and every argument."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from provledger.chain.reverts import ContractRevertError


@contextmanager
def reverts(name: str, **arguments: Any) -> Iterator[pytest.ExceptionInfo[ContractRevertError]]:
    """Expect a revert with custom error ``name`` and exactly ``arguments`` (by parameter name)."""
    with pytest.raises(ContractRevertError) as info:
        yield info
    error = info.value
    assert error.name == name, f"expected {name}, got {error}"
    assert error.args_by_name == arguments, f"expected {name}({arguments}), got {error}"
