"""The API's documentation pages: Swagger UI at ``/docs`` and ReDoc at ``/redoc``, served from
local assets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from provledger.api.security import REDOC_POLICY, docs_policy

#: Where the documentation pages' assets are served: Swagger UI and ReDoc as the pinned
#: ``fastapi-offline`` package ships them, so the pages work without any other site.
DOCS_ASSETS: Final = "/docs/static"


def add_docs_routes(app: FastAPI) -> None:
    """The API's documentation: Swagger UI at ``/docs`` and ReDoc at ``/redoc``, over
    ``/openapi.json``, each with the content security policy its UI needs."""
    app.mount(
        DOCS_ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-static"
    )
    openapi_url = app.openapi_url or "/openapi.json"

    def page(render: Callable[..., HTMLResponse], **assets: Any) -> bytes:
        """A documentation page over this app's OpenAPI, with its UI's ``assets``."""
        return bytes(render(openapi_url=openapi_url, title=f"{app.title} · API", **assets).body)

    swagger = page(
        get_swagger_ui_html,
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
    )
    swagger_policy = docs_policy(swagger).decode()
    redoc = page(
        get_redoc_html,
        redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        with_google_fonts=False,
    )

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers={"Content-Security-Policy": swagger_policy})

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc, headers={"Content-Security-Policy": REDOC_POLICY.decode()})
