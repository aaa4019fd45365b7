"""Errors that declare fields and a message template (see `provledger.errors.ProvledgerError`)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from provledger.errors import (
    EmptyMerkleTreeError,
    FileNotInManifestError,
    InputError,
    MalformedManifestError,
    ManifestRootMismatchError,
    PathAccessError,
    ProvledgerError,
    SymlinkNotAllowedError,
)
from provledger.store.relay import AlreadyRelayingError, GasBudgetExceededError


def test_fields_are_arguments_attributes_and_the_message() -> None:
    by_position = PathAccessError("data/a.csv", "permission denied")
    by_name = PathAccessError(reason="permission denied", path="data/a.csv")
    for error in (by_position, by_name):
        assert (error.path, error.reason) == ("data/a.csv", "permission denied")
        assert str(error) == "Cannot read 'data/a.csv': permission denied"
        assert error.args == ("Cannot read 'data/a.csv': permission denied",)
    assert repr(by_position) == "PathAccessError(\"Cannot read 'data/a.csv': permission denied\")"


def test_a_template_formats_its_fields_with_specs_and_defaults() -> None:
    error = GasBudgetExceededError(1_000_000, 999_000, 5_000, 30)
    assert str(error) == (
        "this API key's daily gas budget is 1,000,000; 999,000 used today, this request needs 5,000"
    )
    assert error.retry_after == 30
    assert str(EmptyMerkleTreeError()) == (
        "A Merkle tree needs at least one leaf, but no values were given"
    )
    assert EmptyMerkleTreeError("files").what == "files"


def test_a_message_beyond_a_template_comes_from_message() -> None:
    assert str(FileNotInManifestError("a.csv", b"\x01\xff")) == (
        "File 'a.csv' is not in the folder manifest with root 0x01ff"
    )
    error = AlreadyRelayingError("nonce:0xAbC:5", "req-1")
    assert str(error) == "0xAbC nonce 5 is already being relayed by request req-1"
    assert (error.claim, error.request_id) == ("nonce:0xAbC:5", "req-1")


def test_an_own_init_passes_its_parent_the_parent_fields() -> None:
    link = SymlinkNotAllowedError("set/link", "../elsewhere")
    assert (link.path, link.target) == ("set/link", "../elsewhere")
    assert str(link).startswith("Cannot hash 'set/link': it is a symbolic link (to '../elsewhere')")
    mismatch = ManifestRootMismatchError(b"\x01", b"\x02")
    assert isinstance(mismatch, MalformedManifestError)
    assert (mismatch.claimed, mismatch.computed) == (b"\x01", b"\x02")
    assert str(mismatch) == (
        "Malformed folder manifest: its files hash to root 0x02, not to the claimed root 0x01"
    )


def test_errors_compare_by_identity() -> None:
    # Raised errors are not values: two with the same fields are two errors (and hashable).
    first, second = PathAccessError("a", "b"), PathAccessError("a", "b")
    assert first != second
    assert len({first, second}) == 2


def test_an_error_without_fields_takes_its_message_as_text() -> None:
    class CodedError(InputError):
        code: ClassVar[int] = 7

    assert str(CodedError("as given")) == "as given"
    assert str(InputError("as given")) == "as given"


def test_fields_without_a_template_are_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="UntoldError declares fields but no template"):

        class UntoldError(ProvledgerError):
            value: int
