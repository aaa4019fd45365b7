"""The provledger exception family.

Every error the library raises on purpose derives from :class:`ProvledgerError`. Subclasses
build their message in ``__init__`` from the values that caused them, so a caller can both
print the error as one line and read the values back from attributes.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence


class ProvledgerError(Exception):
    """Root of every error provledger raises on purpose."""


class ConfigurationError(ProvledgerError):
    """A setting, file or environment needed to proceed is missing or wrong."""


class ServiceUnavailableError(ProvledgerError):
    """A node, a gateway or another service cannot be reached or fails on its side."""


class InputError(ProvledgerError):
    """Input given by a user (a file, a hash, a flag) cannot be used as given."""


class SolcVersionMismatchError(ConfigurationError):
    """A Solidity compiler was named or found, but it is not the version provledger pins."""

    def __init__(self, path: str, found: str, expected: str, hint: str) -> None:
        self.path = path
        self.found = found
        self.expected = expected
        super().__init__(f"{path} is solc {found}, but provledger pins solc {expected}; {hint}")


class CompilationError(ProvledgerError):
    """The Solidity compiler rejected the sources; ``messages`` holds its formatted errors."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        count = len(self.messages)
        noun = "error" if count == 1 else "errors"
        body = "\n".join(message.rstrip() for message in self.messages)
        super().__init__(f"Solidity compilation failed with {count} {noun}:\n{body}")


class UnknownArtifactError(ProvledgerError):
    """No compiled contract artifact has the requested name."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        close = difflib.get_close_matches(name, self.known, n=3)
        if close:
            hint = "Did you mean " + " or ".join(repr(match) for match in close) + "?"
        elif self.known:
            hint = "Known artifacts: " + ", ".join(self.known) + "."
        else:
            hint = "No artifacts are installed; run `provledger compile` (scripts/compile.py)."
        super().__init__(f"No compiled contract named {name!r}. {hint}")


# --- Merkle trees, content hashes and folder manifests (provledger.merkle, provledger.hashing) ---


class EmptyMerkleTreeError(InputError):
    """A Merkle tree was asked for over no leaves at all."""

    def __init__(self, what: str = "values") -> None:
        self.what = what
        super().__init__(f"A Merkle tree needs at least one leaf, but no {what} were given")


class InvalidLeafError(InputError):
    """A leaf value does not fit the tree's leaf encoding (its ABI types)."""

    def __init__(self, value: str, types: Sequence[str], reason: str) -> None:
        self.value = value
        self.types = tuple(types)
        self.reason = reason
        super().__init__(f"Leaf {value} cannot be encoded as ({','.join(self.types)}): {reason}")


class UnsupportedLeafTypeError(InputError):
    """A Merkle leaf encoding names an ABI type that is malformed or not supported."""

    def __init__(self, type_str: str, reason: str) -> None:
        self.type_str = type_str
        self.reason = reason
        super().__init__(f"Leaf type {type_str!r} cannot be used: {reason}")


class LeafIndexError(InputError):
    """A leaf was asked for by an index the tree does not have."""

    def __init__(self, index: object, leaf_count: int) -> None:
        self.index = index
        self.leaf_count = leaf_count
        super().__init__(
            f"Leaf index {index!r} is out of range: the tree has {leaf_count} leaves "
            f"(valid indices are 0..{leaf_count - 1})"
        )


class LeafNotInTreeError(InputError):
    """A leaf value was asked for that is not one of the tree's leaves."""

    def __init__(self, value: str, root: str) -> None:
        self.value = value
        self.root = root
        super().__init__(f"Leaf {value} is not in the Merkle tree with root {root}")


class MalformedProofError(InputError):
    """A Merkle proof, leaf or root is not made of 32-byte nodes."""

    def __init__(self, what: str, value: str) -> None:
        self.what = what
        self.value = value
        super().__init__(f"{what} must be exactly 32 bytes, got {value}")


class MalformedTreeDumpError(InputError):
    """A Merkle tree dump (the JS library's "standard-v1" JSON) is malformed or inconsistent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Malformed Merkle tree dump: {reason}")


class InvalidHashError(InputError):
    """Text given as a 32-byte hash is not 64 hex digits (with or without 0x)."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"{text!r} is not a 32-byte hash: {reason}")


class PathAccessError(InputError):
    """A file or folder to be hashed cannot be opened or read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Cannot read {path!r}: {reason}")


class UnsupportedPathError(InputError):
    """A path cannot be part of a content hash (special file, undecodable or colliding name)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"Cannot hash {path!r}: {reason}")


class SymlinkNotAllowedError(UnsupportedPathError):
    """A dataset folder contains a symbolic link; folder hashes refuse links."""

    def __init__(self, path: str, target: str) -> None:
        self.target = target
        super().__init__(
            path,
            f"it is a symbolic link (to {target!r}); a dataset folder's hash covers regular "
            "files only, so replace the link with a copy of the file or remove it",
        )


class EmptyFolderError(InputError):
    """A folder to be hashed holds no regular file at any depth."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"Folder {path!r} holds no files (empty sub-folders do not count); "
            "an empty folder has no content hash"
        )


class MalformedManifestError(InputError):
    """A folder manifest's JSON is malformed or does not follow the manifest format."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Malformed folder manifest: {reason}")


class ManifestRootMismatchError(MalformedManifestError):
    """A folder manifest's files do not hash to the root it claims."""

    def __init__(self, claimed: bytes, computed: bytes) -> None:
        self.claimed = claimed
        self.computed = computed
        super().__init__(
            f"its files hash to root 0x{computed.hex()}, not to the claimed root 0x{claimed.hex()}"
        )


class FileNotInManifestError(InputError):
    """A path was asked for that is not one of a folder manifest's files."""

    def __init__(self, path: str, root: bytes) -> None:
        self.path = path
        self.root = root
        super().__init__(f"File {path!r} is not in the folder manifest with root 0x{root.hex()}")


class ChangedWhileHashingError(InputError):
    """A file or folder changed while it was being hashed, so the hash read may match neither
    its old nor its new content."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"{path!r} changed while it was being hashed ({reason}); "
            "hash it again once nothing is writing to it"
        )


class LogDecodeError(ProvledgerError):
    """A log does not have the shape its event declares."""

    def __init__(self, event: str, reason: str) -> None:
        self.event = event
        self.reason = reason
        super().__init__(f"cannot decode {event} log: {reason}")
