"""Encryption at rest: the streaming AEAD (segments, ranges, integrity), the wrapped data keys."""

from __future__ import annotations

import base64
import hashlib
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provledger.services.delivery.envelope import (
    HEADER_SIZE,
    SEGMENT_SIZE,
    SEGMENTS_PER_READ,
    TAG,
    IntegrityError,
    MasterKey,
    MasterKeyError,
    MasterKeyRing,
    SegmentEncryptor,
    WrappedKey,
    ciphertext_size,
    decrypt_range,
    encrypt_chunks,
    generate_master_key,
    new_data_key,
    plaintext_size,
    rewrap,
    unwrap_data_key,
    wrap_data_key,
)

KEY = bytes(range(32))
NAME = "assets/0x01/data"
MARKER = b"PROVLEDGER-PLAINTEXT-MARKER"
STORED_SEGMENT = SEGMENT_SIZE + TAG
SIZES = [0, 1, SEGMENT_SIZE - 1, SEGMENT_SIZE, SEGMENT_SIZE + 1, 3 * SEGMENT_SIZE + 5]


def plaintext(size: int) -> bytes:
    """``size`` bytes of noise with the marker every few kilobytes."""
    noise = bytearray(random.Random(size).randbytes(size))
    for at in range(0, size - len(MARKER) + 1, 4096):
        noise[at : at + len(MARKER)] = MARKER
    return bytes(noise)


def encrypt(data: bytes, chunk: int = 10_000, name: str = NAME) -> bytes:
    pieces = (data[at : at + chunk] for at in range(0, len(data), chunk))
    return b"".join(encrypt_chunks(KEY, name, pieces))


class Reader:
    """A stored object read by range, each read recorded as (offset, length)."""

    def __init__(self, stored: bytes) -> None:
        self.stored = stored
        self.reads: list[tuple[int, int]] = []

    def __call__(self, offset: int, length: int) -> bytes:
        self.reads.append((offset, length))
        return self.stored[offset : offset + length]


def decrypt(stored: bytes, start: int, end: int, name: str = NAME, key: bytes = KEY) -> bytes:
    return b"".join(decrypt_range(key, name, Reader(stored), len(stored), start, end))


def decrypt_all(stored: bytes, name: str = NAME, key: bytes = KEY) -> bytes:
    return decrypt(stored, 0, plaintext_size(len(stored)), name, key)


def drain(pieces: Iterator[bytes], into: list[bytes]) -> None:
    """Collect ``pieces`` into ``into`` one by one, so what came before a failure is kept."""
    for piece in pieces:
        into.append(piece)


def fails_at(stored: bytes, segment: int | None, name: str = NAME) -> bytes:
    """What decrypting all of ``stored`` yields before it fails at ``segment``."""
    yielded: list[bytes] = []
    size = plaintext_size(len(stored))
    with pytest.raises(IntegrityError) as failure:
        drain(decrypt_range(KEY, name, Reader(stored), len(stored), 0, size), yielded)
    assert (failure.value.object_name, failure.value.segment) == (name, segment)
    return b"".join(yielded)


BIG = plaintext(3 * SEGMENT_SIZE + 5)
BIG_STORED = encrypt(BIG)


# --- the streaming AEAD ---


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("chunk", [1000, SEGMENT_SIZE, 3 * SEGMENT_SIZE + 7])
def test_a_plaintext_round_trips_at_every_segment_boundary(size: int, chunk: int) -> None:
    data = plaintext(size)
    stored = encrypt(data, chunk)
    assert (
        len(stored)
        == ciphertext_size(size)
        == HEADER_SIZE + size + TAG * max(1, -(-size // SEGMENT_SIZE))
    )
    assert plaintext_size(len(stored)) == size
    assert stored[0] == 1
    assert decrypt_all(stored) == data


def test_the_encryptor_emits_the_header_then_whole_segments() -> None:
    encryptor = SegmentEncryptor(KEY, NAME)
    assert len(encryptor.header) == HEADER_SIZE
    assert encryptor.feed(b"a" * SEGMENT_SIZE) == encryptor.header  # held until more comes
    assert len(encryptor.feed(b"b")) == STORED_SEGMENT
    assert len(encryptor.feed(b"c" * (2 * SEGMENT_SIZE))) == 2 * STORED_SEGMENT
    assert len(encryptor.finish()) == 1 + TAG
    with pytest.raises(ValueError, match="finished"):
        encryptor.feed(b"more")
    empty = SegmentEncryptor(KEY, NAME)
    assert empty.finish()[:HEADER_SIZE] == empty.header


def test_encryption_holds_about_one_segment_whatever_the_size() -> None:
    chunks = (bytes([n % 251]) * 10_000 for n in range(1_700))  # 17 MB, never all at once
    tracemalloc.start()
    try:
        stored = sum(len(piece) for piece in encrypt_chunks(KEY, NAME, chunks))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert stored == ciphertext_size(17_000_000)
    assert peak < 8 * SEGMENT_SIZE  # a few segments in flight, not the 17 MB


def test_each_object_has_its_own_salt_and_nonce_prefix() -> None:
    assert encrypt(BIG)[1:HEADER_SIZE] != BIG_STORED[1:HEADER_SIZE]
    assert encrypt(BIG)[HEADER_SIZE:] != BIG_STORED[HEADER_SIZE:]


def test_the_plaintext_does_not_show_in_the_ciphertext() -> None:
    assert BIG.count(MARKER) > 40
    assert MARKER not in BIG_STORED
    assert MARKER[:8] not in BIG_STORED


def test_sizes_map_both_ways_and_impossible_sizes_are_refused() -> None:
    sizes = {ciphertext_size(size): size for size in range(3 * SEGMENT_SIZE + 20)}
    for stored in range(max(sizes) + 1):
        if stored in sizes:
            assert plaintext_size(stored) == sizes[stored]
        else:
            with pytest.raises(ValueError, match=f"no encrypted object is {stored} bytes long"):
                plaintext_size(stored)
    with pytest.raises(ValueError, match="negative"):
        ciphertext_size(-1)


@pytest.mark.parametrize("size", [0, 1, 5, 33])
def test_every_range_of_a_small_object_is_its_plaintext_slice(size: int) -> None:
    data = plaintext(size)
    stored = encrypt(data)
    for start in range(size + 1):
        for end in range(start, size + 1):
            assert decrypt(stored, start, end) == data[start:end]


@given(bounds=st.tuples(st.integers(0, len(BIG)), st.integers(0, len(BIG))).map(sorted))
def test_a_range_reads_only_the_segments_covering_it(bounds: list[int]) -> None:
    start, end = bounds
    reader = Reader(BIG_STORED)
    assert b"".join(decrypt_range(KEY, NAME, reader, len(BIG_STORED), start, end)) == BIG[start:end]
    if start == end:
        assert reader.reads == []
        return
    first, last = start // SEGMENT_SIZE, (end - 1) // SEGMENT_SIZE
    assert reader.reads[0] == (0, HEADER_SIZE)
    at = HEADER_SIZE + first * STORED_SEGMENT  # then the covering segments, in order, a few a time
    for offset, length in reader.reads[1:]:
        assert offset == at
        assert length <= SEGMENTS_PER_READ * STORED_SEGMENT
        at += length
    assert at == min(len(BIG_STORED), HEADER_SIZE + (last + 1) * STORED_SEGMENT)


def test_a_range_outside_the_plaintext_is_refused_before_reading() -> None:
    reader = Reader(BIG_STORED)
    for start, end in [(-1, 5), (5, 4), (0, len(BIG) + 1)]:
        with pytest.raises(ValueError, match="outside"):
            decrypt_range(KEY, NAME, reader, len(BIG_STORED), start, end)
    assert reader.reads == []


@pytest.mark.parametrize("segment", [0, 1, 2, 3])
@pytest.mark.parametrize("inside", [0, 777, -1])  # -1: the last byte, in the tag
def test_a_flipped_bit_fails_its_segment_and_yields_none_of_it(segment: int, inside: int) -> None:
    length = min(STORED_SEGMENT, len(BIG_STORED) - HEADER_SIZE - segment * STORED_SEGMENT)
    altered = bytearray(BIG_STORED)
    altered[HEADER_SIZE + segment * STORED_SEGMENT + inside % length] ^= 0x10
    assert fails_at(bytes(altered), segment) == BIG[: segment * SEGMENT_SIZE]


@pytest.mark.parametrize("offset", [1, 20, HEADER_SIZE - 1])
def test_an_altered_salt_or_nonce_prefix_fails_the_first_segment(offset: int) -> None:
    altered = bytearray(BIG_STORED)
    altered[offset] ^= 0x01
    assert fails_at(bytes(altered), 0) == b""


def test_an_unknown_version_fails_in_the_header() -> None:
    with pytest.raises(IntegrityError) as failure:
        decrypt_all(b"\x02" + BIG_STORED[1:])
    assert str(failure.value) == (
        f"the stored data of {NAME} failed its integrity check in its header"
    )


@pytest.mark.parametrize(("cut", "segment"), [(1, 3), (5 + TAG, 2)])
def test_a_truncated_object_fails_at_its_new_last_segment(cut: int, segment: int) -> None:
    truncated = BIG_STORED[:-cut]  # a size some object has (dropping the whole last segment)
    assert fails_at(truncated, segment) == BIG[: segment * SEGMENT_SIZE]
    with pytest.raises(IntegrityError) as failure:
        decrypt(truncated, 0, plaintext_size(len(truncated)))
    assert str(failure.value) == (
        f"the stored data of {NAME} failed its integrity check at segment {segment}"
    )


@pytest.mark.parametrize(
    ("cut", "segment"),
    [
        (5, 3),  # the last segment is a bare tag
        (10, 3),
        (5 + TAG + STORED_SEGMENT - 10, 2),
        (len(BIG_STORED) - HEADER_SIZE - 3, 0),
        (len(BIG_STORED) - 10, None),
    ],
)
def test_a_stored_size_no_object_has_fails_at_once(cut: int, segment: int | None) -> None:
    truncated = BIG_STORED[:-cut]
    with pytest.raises(IntegrityError) as failure:
        decrypt_range(KEY, NAME, Reader(truncated), len(truncated), 0, 1)
    assert failure.value.segment == segment


def test_a_short_read_fails_the_segment_it_cuts() -> None:
    reader = Reader(BIG_STORED[:-3])  # the storage returns less than the size it announced
    with pytest.raises(IntegrityError) as failure:
        b"".join(decrypt_range(KEY, NAME, reader, len(BIG_STORED), 0, len(BIG)))
    assert failure.value.segment == 3


def test_swapped_segments_fail() -> None:
    body = BIG_STORED[HEADER_SIZE:]
    first, second = body[:STORED_SEGMENT], body[STORED_SEGMENT : 2 * STORED_SEGMENT]
    swapped = BIG_STORED[:HEADER_SIZE] + second + first + body[2 * STORED_SEGMENT :]
    assert fails_at(swapped, 0) == b""


def test_an_object_fails_under_another_name_or_data_key() -> None:
    assert fails_at(BIG_STORED, 0, name="assets/0x02/data") == b""
    with pytest.raises(IntegrityError):
        decrypt_all(BIG_STORED, key=new_data_key())
    with pytest.raises(ValueError, match="a data key is 32 bytes, got 16"):
        SegmentEncryptor(KEY[:16], NAME)


# --- master keys and wrapped data keys ---


def key_text(key: bytes, padded: bool = True) -> str:
    text = base64.urlsafe_b64encode(key).decode()
    return text if padded else text.rstrip("=")


OLD_KEY, NEW_KEY, THIRD_KEY = b"\x11" * 32, b"\x22" * 32, b"\x33" * 32
ASSET = 2**255 + 7


def test_a_key_ring_reads_keys_comments_and_separators() -> None:
    text = (
        "# the data room's master keys\n\n"
        f"  {key_text(NEW_KEY, padded=False)}   # current since the rotation\n"
        f"{key_text(OLD_KEY)},{key_text(THIRD_KEY)}\n"
    )
    ring = MasterKeyRing.load(text)
    assert ring.current == MasterKey(hashlib.sha256(NEW_KEY).hexdigest()[:16], NEW_KEY)
    assert [key.key for key in ring.older] == [OLD_KEY, THIRD_KEY]
    assert ring.find(ring.older[0].key_id) == ring.older[0]
    assert ring.find("0" * 16) is None
    assert MasterKeyRing.load(f"{key_text(NEW_KEY)},{key_text(OLD_KEY)}") == MasterKeyRing(
        ring.current, (MasterKey.of(OLD_KEY),)
    )
    assert key_text(NEW_KEY) not in repr(ring)
    assert repr(NEW_KEY) not in repr(ring)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the master key text holds no key"),
        ("# only a comment\n\n , \n", "the master key text holds no key"),
        (
            key_text(NEW_KEY).replace("I", "+"),
            "master key 1 is not a base64url-encoded 32-byte key",
        ),
        (f"{key_text(NEW_KEY)}\n{key_text(NEW_KEY[:16])}", "master key 2 is not a base64url"),
        (f"{key_text(NEW_KEY)}\n{key_text(NEW_KEY)[:-3]}==", "master key 2 is not a base64url"),
        (f"{key_text(NEW_KEY)}\n{key_text(NEW_KEY, padded=False)}", "master key 2 repeats"),
    ],
)
def test_bad_key_text_is_refused_without_showing_key_material(text: str, message: str) -> None:
    with pytest.raises(MasterKeyError) as failure:
        MasterKeyRing.load(text)
    shown = str(failure.value)
    assert shown.startswith(message)
    assert "\n" not in shown
    for entry in text.replace(",", "\n").splitlines():
        if len(entry.strip()) > 8 and not entry.startswith("#"):
            assert entry.strip()[:8] not in shown


def test_a_key_file_is_read_and_its_failures_name_only_the_path(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    path.write_text(f"# master key\n{key_text(NEW_KEY)}\n")
    assert MasterKeyRing.from_file(path).current.key == NEW_KEY
    with pytest.raises(MasterKeyError, match=r"cannot read the master key file '.*missing.keys'"):
        MasterKeyRing.from_file(tmp_path / "missing.keys")
    path.write_bytes(b"\xff\xfe" + NEW_KEY)
    with pytest.raises(MasterKeyError) as failure:
        MasterKeyRing.from_file(path)
    assert (
        str(failure.value) == f"cannot read the master key file {str(path)!r}: it is not UTF-8 text"
    )


def test_generated_keys_are_fresh_and_loadable() -> None:
    text = generate_master_key()
    assert len(text) == 43
    assert len(MasterKeyRing.load(text).current.key) == 32
    assert generate_master_key() != text
    assert len(new_data_key()) == 32
    assert new_data_key() != new_data_key()


def test_a_data_key_wraps_unwraps_and_survives_a_rotation() -> None:
    data_key = new_data_key()
    before = MasterKeyRing(MasterKey.of(OLD_KEY))
    wrapped = wrap_data_key(before, data_key, ASSET)
    assert wrapped.key_id == before.current.key_id
    assert len(wrapped.blob) == 12 + 32 + TAG
    assert data_key not in wrapped.blob
    assert unwrap_data_key(before, wrapped, ASSET) == data_key

    during = MasterKeyRing(MasterKey.of(NEW_KEY), (MasterKey.of(OLD_KEY),))
    assert unwrap_data_key(during, wrapped, ASSET) == data_key
    rewrapped = rewrap(during, wrapped, ASSET)
    assert rewrapped.key_id == during.current.key_id != wrapped.key_id

    after = MasterKeyRing(MasterKey.of(NEW_KEY))
    assert unwrap_data_key(after, rewrapped, ASSET) == data_key
    with pytest.raises(MasterKeyError) as failure:
        unwrap_data_key(after, wrapped, ASSET)
    assert str(failure.value) == (
        f"the data key of asset 0x{ASSET:064x} is wrapped by master key {wrapped.key_id}, "
        "which the key ring does not hold"
    )


def test_a_wrapped_key_fails_for_another_asset_or_when_altered() -> None:
    ring = MasterKeyRing(MasterKey.of(NEW_KEY))
    wrapped = wrap_data_key(ring, new_data_key(), ASSET)
    altered = WrappedKey(wrapped.key_id, wrapped.blob[:-1] + bytes([wrapped.blob[-1] ^ 1]))
    for asset, blob in [
        (ASSET + 1, wrapped),
        (ASSET, altered),
        (ASSET, WrappedKey(wrapped.key_id, b"")),
    ]:
        with pytest.raises(MasterKeyError) as failure:
            unwrap_data_key(ring, blob, asset)
        assert str(failure.value) == (
            f"the data key of asset 0x{asset:064x} does not unwrap under master key "
            f"{ring.current.key_id}: its wrapped blob is altered or belongs to another asset"
        )
