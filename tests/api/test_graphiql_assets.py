"""GraphiQL's page and files (``provledger.api.graphql.ide``), served by a minimal app with the
gateway's security headers: everything the page loads is served, typed and revalidated like the
other static files; nothing names another site; no inline script; a missing copy (dependencies
not installed) says to run ``make deps`` and is never a server error. And the copying script
(``scripts/vendor_assets.py``) against a stand-in node_modules.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

with warnings.catch_warnings():  # starlette would rather have httpx2; FastAPI pins httpx
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

from helpers.required import unavailable
from provledger.api.graphql.ide import (
    IDE_ASSETS,
    MISSING_ADVICE,
    SCRIPTS,
    START,
    STYLESHEET,
    VENDOR,
    add_ide_assets,
    ide_html,
    ide_installed,
)
from provledger.api.security import PAGE_POLICY, install_security

ROOT: Final = Path(__file__).resolve().parents[2]
VENDOR_SCRIPT: Final = ROOT / "scripts" / "vendor_assets.py"
#: The content type each kind of file must be served with.
TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}
ABSOLUTE_URL: Final = re.compile(r"https?://", re.IGNORECASE)
CSS_URL: Final = re.compile(r"url\(\s*[\"']?([^\"')]+)")
#: The stand-in stylesheet's font, and its base64 as the stylesheet carries it.
FONT: Final = b"wOF2\x00\x01"
FONT_BASE64: Final = "d09GMgAB"


class Page(HTMLParser):
    """What an HTML page loads: its scripts (and whether any has inline code), its
    stylesheets, and whether any element carries a style attribute or a style element."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.inline: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "style" in found or tag == "style":
            self.inline.append(f"<{tag}> style")
        if tag == "script":
            self._in_script = True
            self.scripts.append(found.get("src") or "")
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script: {data.strip()[:40]}")


def ide_app(files: Path = VENDOR) -> FastAPI:
    """GraphiQL's files from ``files`` and its page at ``/graphiql``, over ``/graphql``, with
    the gateway's security headers."""
    app = FastAPI()
    add_ide_assets(app, files=files)

    @app.get("/graphiql", response_class=HTMLResponse)
    def graphiql() -> str:
        return ide_html("/graphql", files=files)

    install_security(app, [])
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    if not ide_installed():
        unavailable("GraphiQL's files are not installed: run make deps")
    with TestClient(ide_app()) as test_client:
        yield test_client


def test_the_page_loads_the_copies_in_order_and_no_inline_code(client: TestClient) -> None:
    response = client.get("/graphiql")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    # The gateway's own page policy is enough: the page states none of its own.
    assert response.headers["content-security-policy"] == PAGE_POLICY.decode()
    page = Page(response.text)
    assert page.scripts == [f"{IDE_ASSETS}/{name}" for name in (*SCRIPTS, START.name)]
    assert page.stylesheets == [f"{IDE_ASSETS}/{STYLESHEET}"]
    assert page.inline == []
    assert 'data-endpoint="/graphql"' in response.text


def test_everything_the_page_loads_is_served_typed(client: TestClient) -> None:
    page = Page(client.get("/graphiql").text)
    stylesheet = client.get(page.stylesheets[0]).text
    # The stylesheet's fonts are files of their own (the policy refuses data: fonts), beside
    # it; its other URLs are data: images, which the policy allows.
    fonts = [url for url in CSS_URL.findall(stylesheet) if not url.startswith("data:image/")]
    assert "data:font" not in stylesheet
    assert len(fonts) >= 2
    assert all(re.fullmatch(r"fonts/[0-9a-f]{32}\.woff2?", url) for url in fonts), fonts
    loaded = [*page.scripts, *page.stylesheets, *(f"{IDE_ASSETS}/{url}" for url in fonts)]
    for url in loaded:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == TYPES[Path(url).suffix], url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert int(response.headers["content-length"]) == len(response.content) > 0


def test_the_files_revalidate_like_the_other_static_files(client: TestClient) -> None:
    for name in (SCRIPTS[-1], START.name):
        first = client.get(f"{IDE_ASSETS}/{name}")
        assert first.headers["last-modified"]
        again = client.get(f"{IDE_ASSETS}/{name}", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", f"{IDE_ASSETS}/{SCRIPTS[-1]}", 405),
        ("PUT", f"{IDE_ASSETS}/{START.name}", 405),
        ("GET", f"{IDE_ASSETS}/LICENSE.graphiql", 404),  # not a kind of file the page loads
        ("GET", f"{IDE_ASSETS}/../graphql/ide.py", 404),
        ("GET", f"{IDE_ASSETS}/%2e%2e/ide.py", 404),
        ("GET", f"{IDE_ASSETS}/nothing.js", 404),
    ],
)
def test_the_files_are_read_only_and_only_the_copies(
    client: TestClient, method: str, path: str, status: int
) -> None:
    assert client.request(method, path).status_code == status


def test_nothing_names_another_site(client: TestClient) -> None:
    page = client.get("/graphiql").text
    start = client.get(f"{IDE_ASSETS}/{START.name}").text
    assert ABSOLUTE_URL.findall(page) == []
    assert ABSOLUTE_URL.findall(start) == []
    assert "dataset.endpoint" in start  # the endpoint comes from the page


def test_the_endpoint_is_escaped_into_the_page(tmp_path: Path) -> None:
    for name in (STYLESHEET, *SCRIPTS):
        (tmp_path / name).write_text("/* copied */\n")
    html = ide_html('/graphql?a="b"&c=<d>', files=tmp_path)
    assert 'data-endpoint="/graphql?a=&quot;b&quot;&amp;c=&lt;d&gt;"' in html


@pytest.mark.parametrize("copied", [(), (STYLESHEET, *SCRIPTS[:-1])], ids=["none", "some"])
def test_missing_copies_say_to_run_make_deps(tmp_path: Path, copied: tuple[str, ...]) -> None:
    files = tmp_path / "graphiql"
    if copied:
        files.mkdir()
        for name in copied:
            (files / name).write_text("/* copied */\n")
    with TestClient(ide_app(files), raise_server_exceptions=True) as client:
        page = client.get("/graphiql")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>GraphiQL is not installed</h1>" in page.text
        assert "Run <code>make deps</code>" in page.text
        assert Page(page.text).scripts == []
        assert Page(page.text).stylesheets == []
        assert ABSOLUTE_URL.findall(page.text) == []
        missing = client.get(f"{IDE_ASSETS}/{SCRIPTS[-1]}")
        assert missing.status_code == 404
        if not copied:
            assert missing.text == MISSING_ADVICE
        assert "make deps" in MISSING_ADVICE
        # The start script is the gateway's own: served whatever npm left.
        assert client.get(f"{IDE_ASSETS}/{START.name}").status_code == 200


def _stand_in_node_modules(folder: Path, versions: dict[str, str]) -> Path:
    """A node_modules holding the files the script copies, at ``versions``; the stylesheet with
    one ``data:`` font and one ``data:`` image."""
    modules = folder / "node_modules"
    for name, version in versions.items():
        (modules / name / "umd").mkdir(parents=True)
        (modules / name / "package.json").write_text(json.dumps({"version": version}))
        (modules / name / "LICENSE").write_text(f"{name} licence\n")
    (modules / "react/umd/react.production.min.js").write_text("var React;\n")
    (modules / "react-dom/umd/react-dom.production.min.js").write_text("var ReactDOM;\n")
    (modules / "graphiql/graphiql.min.js").write_text("var GraphiQL;\n")
    (modules / "graphiql/graphiql.min.css").write_text(
        f"@font-face{{src:url(data:font/woff2;base64,{FONT_BASE64}) format('woff2')}}"
        ".x{background:url(data:image/png;base64,iVBORw0K)}"
    )
    return modules


def _vendor(modules: Path, into: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(VENDOR_SCRIPT), "--node-modules", str(modules)]
    return subprocess.run(
        [*command, "--into", str(into)], capture_output=True, text=True, timeout=60
    )


def test_the_script_copies_the_pinned_packages(tmp_path: Path) -> None:
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    versions = {name: pins[name] for name in ("graphiql", "react", "react-dom")}
    modules = _stand_in_node_modules(tmp_path, versions)
    into = tmp_path / "vendor" / "graphiql"
    into.mkdir(parents=True)
    (into / "stale.js").write_text("left from an older copy\n")

    done = _vendor(modules, into)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vendored graphiql ")
    font = f"fonts/{hashlib.sha256(FONT).hexdigest()[:32]}.woff2"
    assert sorted(str(path.relative_to(into)) for path in into.rglob("*") if path.is_file()) == [
        "LICENSE.graphiql",
        "LICENSE.react",
        "LICENSE.react-dom",
        font,
        "graphiql.min.css",
        "graphiql.min.js",
        "react-dom.production.min.js",
        "react.production.min.js",
    ]
    assert (into / font).read_bytes() == FONT
    assert (into / "graphiql.min.css").read_text() == (
        f"@font-face{{src:url({font}) format('woff2')}}"
        ".x{background:url(data:image/png;base64,iVBORw0K)}"
    )
    assert (into / "graphiql.min.js").read_text() == "var GraphiQL;\n"
    assert ide_installed(into)


def test_the_script_refuses_another_version(tmp_path: Path) -> None:
    pins = json.loads((ROOT / "package.json").read_text())["dependencies"]
    versions = {name: pins[name] for name in ("graphiql", "react", "react-dom")}
    modules = _stand_in_node_modules(tmp_path, {**versions, "react": "0.0.1"})
    into = tmp_path / "graphiql"

    done = _vendor(modules, into)
    assert done.returncode == 1
    assert done.stderr == (
        f"vendor_assets: react 0.0.1 is installed, package.json pins {versions['react']}: "
        "run npm ci\n"
    )
    assert not into.exists()
