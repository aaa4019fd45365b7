"""Encryption at rest for the data room: a data key per asset, wrapped by a master key.

An asset's bytes are stored as a streaming AEAD object, Tink's AES-GCM-HKDF construction written
with ``cryptography``'s primitives::

    object  = header || segment 0 || segment 1 || ...
    header  = version (1 byte) || salt (32 random bytes) || nonce prefix (7 random bytes)
    segment = AES-GCM(segment key, nonce, plaintext segment), its 16-byte tag appended
    segment key = HKDF-SHA256(data key, salt, info = "provledger data room v1 " || object name)
    nonce   = nonce prefix || segment index (uint32, big endian) || 1 for the last segment else 0

Every segment but the last holds exactly :data:`SEGMENT_SIZE` plaintext bytes and the last holds
1 to :data:`SEGMENT_SIZE` (an empty plaintext is one empty last segment). So any byte range can
be read by decrypting only the segments that cover it, each verified before any of its bytes is
handed out; the object name in the key derivation makes an object (or a segment) copied under
another name fail, the index in the nonce makes reordered segments fail, and the last flag makes
a truncated object fail.

The data key is kept wrapped (AES-GCM) by a master key that lives outside the database and the
storage root: a :class:`MasterKeyRing` read from a key file or an environment variable, whose
older keys still unwrap during a rotation. Destroying an asset's wrapped data key makes its
stored data unrecoverable.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from provledger.chain.ids import asset_id_hex
from provledger.errors import ConfigurationError, ProvledgerError

#: Plaintext bytes per segment (the last segment may hold fewer).
SEGMENT_SIZE: Final = 64 * 1024
#: Bytes of the AES-GCM tag closing every segment.
TAG: Final = 16
#: The header's first byte: the version of this layout.
VERSION: Final = 1
_SALT_SIZE: Final = 32
_PREFIX_SIZE: Final = 7
#: Bytes of an object's header: version, salt and nonce prefix.
HEADER_SIZE: Final = 1 + _SALT_SIZE + _PREFIX_SIZE
#: Bytes of a whole segment as stored.
_STORED_SEGMENT: Final = SEGMENT_SIZE + TAG
#: Segments read from the storage per call when a range covers several (1 MiB: one request
#: of an object store costs far more than decrypting a segment).
SEGMENTS_PER_READ: Final = 16
#: The last segment index a nonce can hold (a uint32).
_MAX_SEGMENT: Final = 2**32 - 1
_SEGMENT_INFO: Final = b"provledger data room v1 "
_KEY_SIZE: Final = 32
_WRAP_NONCE_SIZE: Final = 12
_WRAP_INFO: Final = b"provledger data key v1"
#: Bytes of a wrapped data key's blob: nonce, encrypted key, tag.
_WRAPPED_SIZE: Final = _WRAP_NONCE_SIZE + _KEY_SIZE + TAG
#: A base64url key as written in a key file: 43 digits, with or without its one ``=``.
_KEY_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{43}=?")


class IntegrityError(ProvledgerError):
    """An encrypted object's stored bytes fail their check: altered, truncated, reordered, or
    stored under another name. ``segment`` is None when the header (or the object's size) is at
    fault rather than one segment."""

    object_name: str
    segment: int | None = None

    def _message(self) -> str:
        where = "in its header" if self.segment is None else f"at segment {self.segment}"
        return f"the stored data of {self.object_name} failed its integrity check {where}"


class MasterKeyError(ConfigurationError):
    """The master key text cannot be used, or a data key does not unwrap under the key ring.

    The message names positions and key ids, never key material."""


# --- the streaming AEAD ---


def _segment_cipher(data_key: bytes, object_name: str, salt: bytes) -> AESGCM:
    """The AES-GCM of one object's segments: its key derived from the data key, the object's
    salt and its name."""
    if len(data_key) != _KEY_SIZE:
        raise ValueError(f"a data key is {_KEY_SIZE} bytes, got {len(data_key)}")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=_KEY_SIZE,
        salt=salt,
        info=_SEGMENT_INFO + object_name.encode(),
    )
    return AESGCM(hkdf.derive(data_key))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class SegmentEncryptor:
    """Encrypts one object as it streams: :meth:`feed` the plaintext in chunks of any size, then
    :meth:`finish`. It holds at most one segment of plaintext beyond the chunk it is fed."""

    def __init__(self, data_key: bytes, object_name: str) -> None:
        salt = os.urandom(_SALT_SIZE)
        self._prefix = os.urandom(_PREFIX_SIZE)
        self._cipher = _segment_cipher(data_key, object_name, salt)
        #: The object's first :data:`HEADER_SIZE` bytes.
        self.header: Final = bytes([VERSION]) + salt + self._prefix
        self._pending = bytearray()
        self._index = 0
        self._started = False
        self._finished = False

    def _seal(self, plaintext: bytes | bytearray, last: bool) -> bytes:
        if self._index > _MAX_SEGMENT:
            raise ValueError(f"an object holds at most {_MAX_SEGMENT + 1} segments")
        sealed = self._cipher.encrypt(_nonce(self._prefix, self._index, last), plaintext, None)
        self._index += 1
        return sealed

    def _opening(self) -> bytes:
        """The header on the first output, nothing after it."""
        if self._finished:
            raise ValueError("this object's encryption is finished")
        if self._started:
            return b""
        self._started = True
        return self.header

    def feed(self, data: bytes) -> bytes:
        """Take the next plaintext bytes; return the ciphertext now complete (the header first on
        the first call, then whole segments). A full segment is held back until more data comes,
        since only :meth:`finish` knows which segment is the last."""
        out = [self._opening()]
        self._pending += data
        while len(self._pending) > SEGMENT_SIZE:
            out.append(self._seal(self._pending[:SEGMENT_SIZE], last=False))
            del self._pending[:SEGMENT_SIZE]
        return b"".join(out)

    def finish(self) -> bytes:
        """The last segment (preceded by the header if nothing was fed); the object is complete."""
        out = self._opening() + self._seal(self._pending, last=True)
        self._pending.clear()
        self._finished = True
        return out


def encrypt_chunks(data_key: bytes, object_name: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The encrypted object of the plaintext ``chunks``, as it streams (empty pieces left out)."""
    encryptor = SegmentEncryptor(data_key, object_name)
    for chunk in chunks:
        if sealed := encryptor.feed(chunk):
            yield sealed
    yield encryptor.finish()


def _segment_count(plaintext_size: int) -> int:
    return max(1, -(-plaintext_size // SEGMENT_SIZE))


def ciphertext_size(plaintext_size: int) -> int:
    """The stored size of an object of ``plaintext_size`` bytes."""
    if plaintext_size < 0:
        raise ValueError(f"a size cannot be negative, got {plaintext_size}")
    return HEADER_SIZE + plaintext_size + TAG * _segment_count(plaintext_size)


def plaintext_size(ciphertext_size: int) -> int:
    """The plaintext size of an object stored in ``ciphertext_size`` bytes; ValueError if no
    object is stored in that many bytes."""
    body = ciphertext_size - HEADER_SIZE
    segments = max(1, -(-body // _STORED_SEGMENT))
    last = body - (segments - 1) * _STORED_SEGMENT
    if last < TAG or (last == TAG and segments > 1):
        raise ValueError(f"no encrypted object is {ciphertext_size} bytes long")
    return body - TAG * segments


def decrypt_range(
    data_key: bytes,
    object_name: str,
    read: Callable[[int, int], bytes],
    stored_size: int,
    start: int,
    end: int,
) -> Iterator[bytes]:
    """The plaintext bytes ``[start, end)`` of the object ``object_name`` stored in
    ``stored_size`` bytes, read through ``read(offset, length)``.

    Only the header and the segments covering the range are read, a few segments per call, and
    each segment is verified before any of its bytes is yielded; a failed check raises
    :class:`IntegrityError`. The size and the range are checked at once (a stored size no object
    has raises :class:`IntegrityError`, a range outside the plaintext ValueError); the reading
    happens as the result is iterated.
    """
    try:
        size = plaintext_size(stored_size)
    except ValueError:
        body = stored_size - HEADER_SIZE
        segment = (body - 1) // _STORED_SEGMENT if body > 0 else None
        raise IntegrityError(object_name, segment) from None
    if not 0 <= start <= end <= size:
        raise ValueError(f"bytes [{start}, {end}) are outside the {size} bytes of {object_name}")
    if start == end:
        return iter(())

    # Nested, so that the checks above run at the call and the reading as it is iterated.
    def segments() -> Iterator[bytes]:
        header = read(0, HEADER_SIZE)
        if len(header) != HEADER_SIZE or header[0] != VERSION:
            raise IntegrityError(object_name)
        prefix = header[1 + _SALT_SIZE :]
        cipher = _segment_cipher(data_key, object_name, header[1 : 1 + _SALT_SIZE])
        last_index = _segment_count(size) - 1
        first, final = start // SEGMENT_SIZE, (end - 1) // SEGMENT_SIZE
        for batch in range(first, final + 1, SEGMENTS_PER_READ):
            batch_end = min(batch + SEGMENTS_PER_READ, final + 1)
            offset = HEADER_SIZE + batch * _STORED_SEGMENT
            stored = read(offset, ciphertext_size(min(size, batch_end * SEGMENT_SIZE)) - offset)
            for index in range(batch, batch_end):
                at = (index - batch) * _STORED_SEGMENT
                sealed = stored[at : at + _STORED_SEGMENT]
                try:
                    plain = cipher.decrypt(_nonce(prefix, index, index == last_index), sealed, None)
                except InvalidTag:
                    raise IntegrityError(object_name, index) from None
                base = index * SEGMENT_SIZE
                yield plain[max(start - base, 0) : end - base]

    return segments()


# --- the master keys and the data keys they wrap ---


def _key_id(key: bytes) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key)
    return digest.finalize().hex()[:16]


@dataclass(frozen=True)
class MasterKey:
    """A master key and its id (the first 16 hex digits of its SHA-256), which a wrapped data key
    records so the right key unwraps it; the key itself never shows in a repr."""

    key_id: str
    key: bytes = field(repr=False)

    @classmethod
    def of(cls, key: bytes) -> MasterKey:
        """The master key ``key`` (32 bytes), with its id."""
        if len(key) != _KEY_SIZE:
            raise ValueError(f"a master key is {_KEY_SIZE} bytes, got {len(key)}")
        return cls(_key_id(key), key)


@dataclass(frozen=True)
class MasterKeyRing:
    """The master key that wraps new data keys, and older ones kept to unwrap until every data
    key they wrapped is rewrapped (a rotation)."""

    current: MasterKey
    older: tuple[MasterKey, ...] = ()

    @classmethod
    def load(cls, text: str) -> MasterKeyRing:
        """The key ring written in ``text`` (a key file's or an environment variable's): one or
        more base64url 32-byte keys separated by newlines or commas, the current one first;
        blank lines and ``#`` comments are ignored. Raises :class:`MasterKeyError`."""
        entries = [
            entry.strip()
            for line in text.splitlines()
            for entry in line.partition("#")[0].split(",")
            if entry.strip()
        ]
        if not entries:
            raise MasterKeyError("the master key text holds no key")
        keys: list[MasterKey] = []
        for position, entry in enumerate(entries, start=1):
            key = MasterKey.of(_decode_key(entry, position))
            if any(key.key_id == seen.key_id for seen in keys):
                raise MasterKeyError(f"master key {position} repeats an earlier key ({key.key_id})")
            keys.append(key)
        return cls(keys[0], tuple(keys[1:]))

    @classmethod
    def from_file(cls, path: Path | str) -> MasterKeyRing:
        """The key ring written in the file at ``path`` (see :meth:`load`)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
            raise MasterKeyError(
                f"cannot read the master key file {str(path)!r}: {reason}"
            ) from None
        return cls.load(text)

    def find(self, key_id: str) -> MasterKey | None:
        """The key of ``key_id`` in this ring, current or older, or None."""
        return next((key for key in (self.current, *self.older) if key.key_id == key_id), None)


def _decode_key(entry: str, position: int) -> bytes:
    """The 32 bytes of one key's text; the error names the key's position, never its text."""
    if not _KEY_TEXT.fullmatch(entry):
        raise MasterKeyError(
            f"master key {position} is not a base64url-encoded 32-byte key (43 characters of "
            f"A-Z a-z 0-9 - _, then an optional =; got {len(entry)} characters)"
        )
    return base64.urlsafe_b64decode(entry.rstrip("=") + "=")


def generate_master_key() -> str:
    """A new random master key, base64url-encoded as a key file holds it."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")


def new_data_key() -> bytes:
    """A new random 32-byte data key for one asset."""
    return AESGCM.generate_key(bit_length=256)


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the master key ``key_id``: ``blob`` is the 12-byte nonce, then
    the AES-GCM ciphertext and tag."""

    key_id: str
    blob: bytes


def _wrap_context(asset_id: int) -> bytes:
    """The associated data binding a wrapped data key to its asset."""
    return _WRAP_INFO + asset_id.to_bytes(32, "big")


def wrap_data_key(ring: MasterKeyRing, data_key: bytes, asset_id: int) -> WrappedKey:
    """``data_key`` of ``asset_id`` wrapped by the ring's current master key."""
    nonce = os.urandom(_WRAP_NONCE_SIZE)
    sealed = AESGCM(ring.current.key).encrypt(nonce, data_key, _wrap_context(asset_id))
    return WrappedKey(ring.current.key_id, nonce + sealed)


def unwrap_data_key(ring: MasterKeyRing, wrapped: WrappedKey, asset_id: int) -> bytes:
    """The data key of ``asset_id`` from ``wrapped``, by whichever master key of the ring wrapped
    it. Raises :class:`MasterKeyError` if the ring lacks that key or the blob fails its check
    (altered, or the data key of another asset)."""
    master = ring.find(wrapped.key_id)
    if master is None:
        raise MasterKeyError(
            f"the data key of asset {asset_id_hex(asset_id)} is wrapped by master key "
            f"{wrapped.key_id}, which the key ring does not hold"
        )
    failed = MasterKeyError(
        f"the data key of asset {asset_id_hex(asset_id)} does not unwrap under master key "
        f"{wrapped.key_id}: its wrapped blob is altered or belongs to another asset"
    )
    if len(wrapped.blob) != _WRAPPED_SIZE:
        raise failed
    nonce, sealed = wrapped.blob[:_WRAP_NONCE_SIZE], wrapped.blob[_WRAP_NONCE_SIZE:]
    try:
        return AESGCM(master.key).decrypt(nonce, sealed, _wrap_context(asset_id))
    except InvalidTag:
        raise failed from None


def rewrap(ring: MasterKeyRing, wrapped: WrappedKey, asset_id: int) -> WrappedKey:
    """``wrapped`` unwrapped by whichever master key wrapped it and wrapped again by the current
    one (a step of a rotation)."""
    return wrap_data_key(ring, unwrap_data_key(ring, wrapped, asset_id), asset_id)
