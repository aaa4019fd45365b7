"""Response headers that make the gateway safer to expose, and its CORS policy.

Every response carries ``nosniff``, no framing, no referrer, a same-origin opener policy and
no camera, microphone or location; HTML pages also carry a content security policy that allows
only the gateway's own scripts, styles and forms. The API's documentation pages (``/docs``,
``/redoc``), whose assets the gateway serves itself, carry policies of their own that allow
only what their UIs need besides. Cross-origin reads are off unless ``cors_origins`` names
origins.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
PAGE_POLICY: Final = (
    b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    b"frame-ancestors 'none'; form-action 'self'"
)
#: The verify page's policy: the page policy, and its proof-bundle verifier may ask any node
#: the user names (a verifier who does not trust the operator gives its own node's URL); its
#: scripts are still the gateway's own only.
VERIFY_PAGE_POLICY: Final = PAGE_POLICY + b"; connect-src 'self' http: https:"
_INLINE_SCRIPT: Final = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(html: bytes) -> bytes:
    """The policy of the Swagger UI page ``html``: the page policy, and its one inline script
    (the UI's start, which FastAPI writes into the page) allowed by its SHA-256; its styles
    and scripts are the gateway's own files, its icons ``data:`` images."""
    hashes = b"".join(
        b" 'sha256-" + base64.b64encode(hashlib.sha256(script).digest()) + b"'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return PAGE_POLICY + b"; script-src 'self'" + hashes


#: The policy of the ReDoc page: ReDoc writes its styles into the page as it renders
#: (styled-components), so styles may be inline, and its search runs in a worker made from a
#: ``blob:``; scripts are still the gateway's own only.
REDOC_POLICY: Final = PAGE_POLICY + b"; style-src 'self' 'unsafe-inline'; worker-src blob:"


class SecurityHeaders:
    """Plain ASGI middleware adding :data:`HEADERS` (and the page policy to HTML pages that
    do not state a policy of their own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _relative(value) if name == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
                headers.extend(HEADERS)
                html = any(
                    name == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                # A page that states its own policy (the API's documentation) keeps it.
                own = any(name == b"content-security-policy" for name, _ in headers)
                if html and not own:
                    headers.append((b"content-security-policy", PAGE_POLICY))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)


def _relative(location: bytes) -> bytes:
    """A redirect's target without scheme and host: an absolute one was built from the
    request's ``Host`` header, which the client chooses (the gateway never redirects to
    another site)."""
    parts = urlsplit(location)
    if not (parts.scheme or parts.netloc):
        return location
    path = b"/" + parts.path.lstrip(b"/")  # "//host" would name another site again
    return urlunsplit((b"", b"", path, parts.query, parts.fragment))


def install_security(app: FastAPI, cors_origins: list[str]) -> None:
    """Add the security headers, and CORS for ``cors_origins`` (none: same origin only)."""
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
