"""GraphiQL in a real browser (Debian's Chromium via Playwright), offline: every request to
anywhere but the local server is aborted, and the page is served under the gateway's content
security policy. The IDE draws, reads the endpoint's schema by introspection and runs a query,
at 1280 and 390 px wide; screenshots go to /tmp/graphiql-<width>.png.

The GraphQL endpoint is a one-field strawberry schema built here (the gateway's own schema is
not this module's subject); the page is served at ``/graphiql`` next to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import pytest
import strawberry
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter

from helpers.required import unavailable
from provledger.api.graphql.ide import add_ide_assets, ide_html, ide_installed
from provledger.api.security import install_security
from web.conftest import serving

VIEWPORTS: Final = ({"width": 1280, "height": 900}, {"width": 390, "height": 844})
#: From this width on, the query and its answer are side by side (graphiql-start.js).
WIDE: Final = 641
#: The content security policy's refusals, as the page sees them.
WATCH_POLICY: Final = """
window.refusals = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.refusals.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def greeting(name: str = "world") -> str:
    return f"Hello, {name}"


@strawberry.type
class Query:
    hello: str = strawberry.field(resolver=greeting, description="A greeting for ``name``.")


def graphiql_app() -> FastAPI:
    """The GraphQL endpoint at ``/graphql``, its IDE's page at ``/graphiql``, the gateway's
    security headers on everything."""
    app = FastAPI()
    app.include_router(
        GraphQLRouter(strawberry.Schema(query=Query), graphql_ide=None), prefix="/graphql"
    )
    add_ide_assets(app)

    @app.get("/graphiql", response_class=HTMLResponse)
    def graphiql() -> str:
        return ide_html("/graphql")

    install_security(app, [])
    return app


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    if not ide_installed():
        unavailable("GraphiQL's files are not installed: run make deps")
    with serving(graphiql_app()) as served:
        yield served


def offline(context: Any, url: str) -> list[str]:
    """Abort every request of ``context`` to anywhere but ``url``, as if offline; the list of
    such requests, as they come."""
    refused: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(url + "/"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_server)
    return refused


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda viewport: f"{viewport['width']}px")
def test_graphiql_works_offline(browser: Any, url: str, viewport: dict[str, int]) -> None:
    context = browser.new_context(viewport=viewport)
    refused = offline(context, url)
    context.add_init_script(WATCH_POLICY)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    loaded: list[str] = []
    tab.on("response", lambda response: loaded.append(f"{response.status} {response.url}"))
    try:
        tab.goto(f"{url}/graphiql")
        container = tab.locator(".graphiql-container")
        container.wait_for()
        assert container.bounding_box() == {
            "x": 0,
            "y": 0,
            "width": viewport["width"],
            "height": viewport["height"],
        }
        # The schema came by introspection: the documentation explorer lists the query type's
        # field and its description.
        tab.get_by_role("button", name="Show Documentation Explorer").click()
        explorer = tab.locator(".graphiql-doc-explorer")
        explorer.get_by_role("link", name="Query").click()
        assert explorer.locator(".graphiql-doc-explorer-field-name").all_inner_texts() == ["hello"]
        assert "A greeting for" in explorer.inner_text()
        tab.get_by_role("button", name="Hide Documentation Explorer").click()
        # A query runs against the endpoint, and its answer shows.
        tab.evaluate(
            """document.querySelector(".graphiql-query-editor .CodeMirror")
                .CodeMirror.setValue('{ hello(name: "offline") }')"""
        )
        tab.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        answer = tab.locator(".graphiql-response .CodeMirror-code")
        answer.get_by_text("Hello, offline").wait_for()
        assert '"hello": "Hello, offline"' in answer.inner_text().replace("\u00a0", " ")

        # Side by side on a wide screen; on a narrow one, the answer below the query, as wide.
        editor = tab.locator(".graphiql-editors").bounding_box()
        response = tab.locator(".graphiql-response").bounding_box()
        assert editor is not None
        assert response is not None
        if viewport["width"] >= WIDE:
            assert response["x"] >= editor["x"] + editor["width"]
        else:
            assert response["y"] >= editor["y"] + editor["height"]
            assert response["width"] >= editor["width"] - 1
        # Its fonts came from the server too (the copy's stylesheet points at files of its own).
        fonts = tab.evaluate(
            "[...document.fonts].filter((font) => font.status === 'loaded').map((f) => f.family)"
        )
        assert {"Roboto", "Fira Code"} <= {family.strip('"') for family in fonts}
        wide = tab.evaluate("document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"the page is {wide}px wide at {viewport['width']}px"
        tab.screenshot(path=f"/tmp/graphiql-{viewport['width']}.png")
        # The tab bar is not under the editor: a second tab can be opened.
        tab.get_by_role("button", name="Add tab").click()
        assert tab.locator(".graphiql-tabs [role=tab]").count() == 2
        assert tab.evaluate("window.refusals") == []
        assert refused == []
        assert errors == []
        assert all(line.startswith(("200 ", "304 ")) for line in loaded), loaded
    finally:
        context.close()
