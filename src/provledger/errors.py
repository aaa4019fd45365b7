"""The provledger exception family.

Every error the library raises on purpose derives from :class:`ProvledgerError`. Most errors
declare the values that caused them as fields and their message as a template over those
fields, so a caller can both print the error as one line and read the values back from
attributes::

    class PathAccessError(InputError):
        template = "Cannot read {path!r}: {reason}"
        path: str
        reason: str
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast, dataclass_transform

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass_transform(eq_default=False)
class ProvledgerError(Exception):
    """Root of every error provledger raises on purpose.

    A subclass without fields takes its message as text: ``InputError("…")``, or, given none,
    its :attr:`template` as it stands (an error that always says the same). A subclass that
    declares fields (annotated class attributes) is a dataclass: it takes the fields as
    arguments, in order or by name, keeps them as attributes, and its message is
    :attr:`template` filled with them (``str.format`` syntax, so ``{amount:,}`` and
    ``{path!r}`` work). A class whose message needs more than a template overrides
    :meth:`_message`; one whose arguments are not its fields writes its own ``__init__``.
    """

    template: ClassVar[str] = ""
    """The message, with ``{field}`` for each field's value."""

    def __init__(self, *args: object) -> None:
        """A fieldless error: the message given, else its template."""
        if not args and self.template:
            args = (self.template,)
        super().__init__(*args)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not (inspect.get_annotations(cls) or is_dataclass(cls)):
            return
        own_init = "__init__" in cls.__dict__
        record = cast("type[DataclassInstance]", dataclass(eq=False, repr=False)(cls))
        if not fields(record):  # only ClassVars: still a plain error, as type checkers see it
            if not own_init:
                delattr(cls, "__init__")
        elif not cls.template and cls._message is ProvledgerError._message:
            raise TypeError(f"{cls.__name__} declares fields but no template")

    def __post_init__(self) -> None:
        super().__init__(self._message())

    def _message(self) -> str:
        """This error's one-line message: :attr:`template` filled with the error's fields."""
        return self.template.format_map(vars(self))


class ConfigurationError(ProvledgerError):
    """A setting, file or environment needed to proceed is missing or wrong."""


class ServiceUnavailableError(ProvledgerError):
    """A node, a gateway or another service cannot be reached or fails on its side."""


class InputError(ProvledgerError):
    """Input given by a user (a file, a hash, a flag) cannot be used as given."""


class SolcVersionMismatchError(ConfigurationError):
    """A Solidity compiler was named or found, but it is not the version provledger pins."""

    template = "{path} is solc {found}, but provledger pins solc {expected}; {hint}"
    path: str
    found: str
    expected: str
    hint: str


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

    template = "A Merkle tree needs at least one leaf, but no {what} were given"
    what: str = "values"


class InvalidLeafError(InputError):
    """A leaf value does not fit the tree's leaf encoding (its ABI types)."""

    value: str
    types: tuple[str, ...]
    reason: str

    def _message(self) -> str:
        encoding = ",".join(self.types)
        return f"Leaf {self.value} cannot be encoded as ({encoding}): {self.reason}"


class UnsupportedLeafTypeError(InputError):
    """A Merkle leaf encoding names an ABI type that is malformed or not supported."""

    template = "Leaf type {type_str!r} cannot be used: {reason}"
    type_str: str
    reason: str


class LeafIndexError(InputError):
    """A leaf was asked for by an index the tree does not have."""

    index: object
    leaf_count: int

    def _message(self) -> str:
        return (
            f"Leaf index {self.index!r} is out of range: the tree has {self.leaf_count} leaves "
            f"(valid indices are 0..{self.leaf_count - 1})"
        )


class LeafNotInTreeError(InputError):
    """A leaf value was asked for that is not one of the tree's leaves."""

    template = "Leaf {value} is not in the Merkle tree with root {root}"
    value: str
    root: str


class MalformedProofError(InputError):
    """A Merkle proof, leaf or root is not made of 32-byte nodes."""

    template = "{what} must be exactly 32 bytes, got {value}"
    what: str
    value: str


class MalformedTreeDumpError(InputError):
    """A Merkle tree dump (the JS library's "standard-v1" JSON) is malformed or inconsistent."""

    template = "Malformed Merkle tree dump: {reason}"
    reason: str


class InvalidHashError(InputError):
    """Text given as a 32-byte hash is not 64 hex digits (with or without 0x)."""

    template = "{text!r} is not a 32-byte hash: {reason}"
    text: str
    reason: str


class HashedPathError(InputError):
    """A file or folder to be hashed, at ``path``, cannot be, for a ``reason``."""

    template = "Cannot hash {path!r}: {reason}"
    path: str
    reason: str


class PathAccessError(HashedPathError):
    """A file or folder to be hashed cannot be opened or read."""

    template = "Cannot read {path!r}: {reason}"


class UnsupportedPathError(HashedPathError):
    """A path cannot be part of a content hash (special file, undecodable or colliding name)."""


class SymlinkNotAllowedError(UnsupportedPathError):
    """A dataset folder contains a symbolic link; folder hashes refuse links."""

    target: str

    def __init__(self, path: str, target: str) -> None:
        self.target = target
        super().__init__(
            path,
            f"it is a symbolic link (to {target!r}); a dataset folder's hash covers regular "
            "files only, so replace the link with a copy of the file or remove it",
        )


class EmptyFolderError(InputError):
    """A folder to be hashed holds no regular file at any depth."""

    template = (
        "Folder {path!r} holds no files (empty sub-folders do not count); "
        "an empty folder has no content hash"
    )
    path: str


class MalformedManifestError(InputError):
    """A folder manifest's JSON is malformed or does not follow the manifest format."""

    template = "Malformed folder manifest: {reason}"
    reason: str


class ManifestRootMismatchError(MalformedManifestError):
    """A folder manifest's files do not hash to the root it claims."""

    claimed: bytes
    computed: bytes

    def __init__(self, claimed: bytes, computed: bytes) -> None:
        self.claimed = claimed
        self.computed = computed
        super().__init__(
            f"its files hash to root 0x{computed.hex()}, not to the claimed root 0x{claimed.hex()}"
        )


class FileNotInManifestError(InputError):
    """A path was asked for that is not one of a folder manifest's files."""

    path: str
    root: bytes

    def _message(self) -> str:
        return f"File {self.path!r} is not in the folder manifest with root 0x{self.root.hex()}"


class ChangedWhileHashingError(HashedPathError):
    """A file or folder changed while it was being hashed, so the hash read may match neither
    its old nor its new content."""

    template = (
        "{path!r} changed while it was being hashed ({reason}); "
        "hash it again once nothing is writing to it"
    )


class LogDecodeError(ProvledgerError):
    """A log does not have the shape its event declares."""

    template = "cannot decode {event} log: {reason}"
    event: str
    reason: str


class RecordShapeError(ProvledgerError):
    """A record read from the chain was given more or fewer values than it has fields."""

    template = "cannot build {record} from {given} values: it has {expected} fields"
    record: str
    expected: int
    given: int
