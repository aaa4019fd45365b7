"""The provledger exception family.

Every error the library raises on purpose derives from :class:`ProvledgerError`. Subclasses
build their message in ``__init__`` from the values that caused them, so a caller can both
print the error as one line and read the values back from attributes.
"""

from __future__ import annotations


class ProvledgerError(Exception):
    """Root of every error provledger raises on purpose."""


class ConfigurationError(ProvledgerError):
    """A setting, file or environment needed to proceed is missing or wrong."""


class InputError(ProvledgerError):
    """Input given by a user (a file, a hash, a flag) cannot be used as given."""
