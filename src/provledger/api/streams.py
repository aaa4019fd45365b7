"""Uploads hashed as they stream in: a raw body or multipart form data, never held whole."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Final

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from provledger.params import InvalidParameterError
from provledger.services.verification import UploadTooLargeError

#: The metadata part is a small JSON document, kept in memory to hash and compare.
METADATA_MAX_BYTES: Final = 1 << 20
#: The longest multipart boundary (RFC 2046).
MAX_BOUNDARY: Final = 70
#: What a multipart body may hold beyond the file: the metadata part, boundaries, headers.
MULTIPART_OVERHEAD: Final = METADATA_MAX_BYTES + (64 << 10)


@dataclass(frozen=True)
class Upload:
    """What an upload came to: the file's SHA-256 and size, and the metadata part if sent."""

    sha256: str
    size: int
    metadata: bytes | None


@dataclass
class _Parts:
    """Callback state of the multipart parser."""

    cap: int
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    size: int = 0
    files: int = 0
    metadata: bytearray | None = None
    current: str | None = None
    header_field: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_value: bytes = b""

    def on_part_begin(self) -> None:
        self.headers, self.current = {}, None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("latin-1")
        if name == "file":
            self.files += 1
            if self.files > 1:
                raise InvalidParameterError("file", "send one file per request")
        elif name == "metadata":
            self.metadata = bytearray()
        else:
            raise InvalidParameterError(name or "part", "unknown part; expected file or metadata")
        self.current = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.current == "file":
            self.size += len(chunk)
            if self.size > self.cap:
                raise UploadTooLargeError("file", self.cap)
            self.digest.update(chunk)
        elif self.current == "metadata" and self.metadata is not None:
            self.metadata += chunk
            if len(self.metadata) > METADATA_MAX_BYTES:
                raise UploadTooLargeError("metadata", METADATA_MAX_BYTES)


async def capped_chunks(request: Request, cap: int, field: str) -> AsyncIterator[bytes]:
    """The body of ``request`` as it arrives; :class:`UploadTooLargeError` past ``cap`` bytes."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise UploadTooLargeError(field, cap)
        yield chunk


async def read_capped(request: Request, cap: int, field: str) -> bytes:
    """The whole body of ``request``, refused past ``cap`` bytes (small documents only)."""
    return b"".join([chunk async for chunk in capped_chunks(request, cap, field)])


async def stream_upload(request: Request, *, cap: int) -> Upload:
    """Hash the file of ``request`` as it arrives; refuse it past ``cap`` bytes."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type == b"multipart/form-data":
        return await _multipart(request, options.get(b"boundary"), cap)
    if content_type in (b"application/octet-stream", b""):
        digest, size = hashlib.sha256(), 0
        async for chunk in capped_chunks(request, cap, "file"):
            size += len(chunk)
            digest.update(chunk)
        return Upload("0x" + digest.hexdigest(), size, None)
    raise InvalidParameterError(
        "content-type", "send application/octet-stream or multipart/form-data"
    )


async def _multipart(request: Request, boundary: bytes | None, cap: int) -> Upload:
    if not boundary:
        raise InvalidParameterError("content-type", "multipart/form-data without a boundary")
    if len(boundary) > MAX_BOUNDARY:
        raise InvalidParameterError(
            "content-type", f"a multipart boundary has at most {MAX_BOUNDARY} characters"
        )
    parts = _Parts(cap)
    callbacks = {
        "on_part_begin": parts.on_part_begin,
        "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value,
        "on_header_end": parts.on_header_end,
        "on_headers_finished": parts.on_headers_finished,
        "on_part_data": parts.on_part_data,
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        # The whole body counts, not only the file: the metadata part, part headers and
        # anything after the closing boundary are read too.
        async for chunk in capped_chunks(request, cap + MULTIPART_OVERHEAD, "body"):
            parser.write(chunk)
        parser.finalize()
    except FormParserError as error:  # MultipartParseError and the parser's other refusals
        raise InvalidParameterError("body", f"malformed multipart body: {error}") from None
    if parts.files != 1 or parser.state != MultipartState.END:
        raise InvalidParameterError("file", "the multipart body is truncated or has no file part")
    metadata = None if parts.metadata is None else bytes(parts.metadata)
    return Upload("0x" + parts.digest.hexdigest(), parts.size, metadata)
