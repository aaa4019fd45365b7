"""GraphiQL, the GraphQL endpoint's in-browser IDE, served from the gateway's own files.

GraphiQL 3's UMD build and the React 18 it runs on are the npm packages pinned in
package-lock.json; ``make deps`` copies them out of node_modules into ``static/vendor/graphiql/``
(``scripts/vendor_assets.py``), which git ignores. The page loads nothing from another site and
has no inline script or style, so it works under the gateway's page policy
(:data:`provledger.api.security.PAGE_POLICY`): its start-up is ``static/graphiql-start.js``,
which reads the endpoint from the page's ``data-endpoint`` attribute.

Without the copied files (dependencies not installed) the page says to run ``make deps`` and
the assets answer 404 with the same advice; neither is ever a server error, and both recover
once the files appear, without a restart.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Final

from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

#: Where the IDE's scripts, stylesheet and fonts are served.
IDE_ASSETS: Final[str] = "/graphql/ide"
STATIC: Final = Path(__file__).resolve().parents[1] / "static"
#: The copies of the npm files, filled by ``make deps``.
VENDOR: Final = STATIC / "vendor" / "graphiql"
#: The page's own start-up script (kept in git), served beside the copies.
START: Final = STATIC / "graphiql-start.js"
#: The copies the page loads, in order (React before ReactDOM before GraphiQL).
STYLESHEET: Final = "graphiql.min.css"
SCRIPTS: Final = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
#: The content type of each kind of file served; other files are not served.
MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
#: What to do when the copies are missing.
MISSING_ADVICE: Final = (
    "GraphiQL's files are not installed on this server. They come from npm and are copied "
    "into src/provledger/api/static/vendor/graphiql/ when the dependencies are installed: "
    "run `make deps` in the provledger checkout, then reload."
)

_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · provledger</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{assets}/{stylesheet}">
{scripts}
</head>
<body>
<div id="graphiql" data-endpoint="{endpoint}"><p>Loading GraphiQL…</p></div>
<noscript>
<p>GraphiQL needs JavaScript. The GraphQL endpoint is <code>{endpoint}</code>.</p>
</noscript>
</body>
</html>
"""

_MISSING_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL is not installed · provledger</title>
</head>
<body>
<main>
<h1>GraphiQL is not installed</h1>
<p>This gateway's copy of GraphiQL, the in-browser IDE of the GraphQL endpoint, is missing: its
files come from npm and are copied into <code>src/provledger/api/static/vendor/graphiql/</code>
when the dependencies are installed.</p>
<p>Run <code>make deps</code> in the provledger checkout, then reload this page.</p>
<p>The GraphQL endpoint <code>{endpoint}</code> answers queries without it.</p>
</main>
</body>
</html>
"""


def ide_installed(files: Path = VENDOR) -> bool:
    """Whether every copy the page loads is in ``files``."""
    return all((files / name).is_file() for name in (STYLESHEET, *SCRIPTS))


def ide_html(endpoint: str, *, files: Path = VENDOR) -> str:
    """The GraphiQL page over the GraphQL endpoint at path ``endpoint``, or, while the copies
    in ``files`` are missing, a page saying to run ``make deps``.

    Read at each call, so a gateway started before ``make deps`` serves the IDE after it."""
    if not ide_installed(files):
        return _MISSING_PAGE.format(endpoint=escape(endpoint))
    scripts = "\n".join(
        f'<script src="{IDE_ASSETS}/{name}" defer></script>' for name in (*SCRIPTS, START.name)
    )
    return _PAGE.format(
        assets=IDE_ASSETS, stylesheet=STYLESHEET, scripts=scripts, endpoint=escape(endpoint)
    )


class IdeFiles(StaticFiles):
    """The copies in a folder, plus :data:`START`, read-only (``GET`` and ``HEAD``), with the
    revalidation headers of the gateway's other static files (``ETag``, ``Last-Modified``,
    ``304 Not Modified``) and the content types of :data:`MEDIA_TYPES`. A missing folder is a
    404 that says to run ``make deps``, not a server error."""

    def __init__(self, files: Path) -> None:
        super().__init__(directory=files, check_dir=False)
        self.files = files

    async def check_config(self) -> None:
        """Nothing to check: the folder may be missing, or appear later (``make deps``)."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """The start script by its name; any other file in the folder."""
        if path == START.name:
            return str(START), os.stat(START)
        return super().lookup_path(path)

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file at ``path``, or the advice to run ``make deps`` if the folder is missing."""
        if path != START.name and not self.files.is_dir():
            return PlainTextResponse(MISSING_ADVICE, status_code=404)
        return await super().get_response(path, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file, typed by :data:`MEDIA_TYPES` (a 404 for any other kind of file)."""
        media_type = MEDIA_TYPES.get(Path(full_path).suffix)
        if media_type is None:
            raise HTTPException(status_code=404)
        response = super().file_response(full_path, stat_result, scope, status_code)
        if response.status_code != 304:  # a 304 has no body to type
            response.headers["content-type"] = media_type
        return response


def add_ide_assets(app: FastAPI, *, files: Path = VENDOR) -> None:
    """Serve GraphiQL's copies in ``files`` and its start script under :data:`IDE_ASSETS`."""
    app.mount(IDE_ASSETS, IdeFiles(files), name="graphql-ide")
