"""Every exception provledger defines derives from :class:`ProvledgerError` and its name ends
in ``Error`` (ruff's N818 checks the name where the base says it is an exception; this test
checks every class, whatever its bases are called)."""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil

import provledger
from provledger.errors import ProvledgerError


@functools.cache
def _exception_classes() -> tuple[type[BaseException], ...]:
    """provledger's exception classes, by qualified name (the package is walked once)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(provledger.__path__, "provledger."):
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("provledger."):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return tuple(found[name] for name in sorted(found))


def test_the_package_defines_exceptions() -> None:
    assert len(_exception_classes()) > 50


def test_every_exception_is_a_provledger_error_named_error() -> None:
    outside = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in _exception_classes()
        if not issubclass(kind, ProvledgerError)
    ]
    misnamed = [
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in _exception_classes()
        if not kind.__name__.endswith("Error")
    ]
    assert outside == []
    assert misnamed == []
