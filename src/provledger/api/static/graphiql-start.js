// GraphiQL's start on the gateway's IDE page (provledger.api.graphql.ide): renders the IDE into
// #graphiql over the GraphQL endpoint its data-endpoint attribute names. A file of its own
// because the gateway's pages allow no inline script. It runs after the copies of React,
// ReactDOM and GraphiQL 3 (UMD builds, deferred in that order), which define those globals.
/* global React, ReactDOM, GraphiQL */
(function () {
  "use strict";
  const root = document.getElementById("graphiql");
  if (!root) {
    return;
  }
  if (typeof GraphiQL === "undefined" || typeof ReactDOM === "undefined") {
    root.textContent =
      "GraphiQL's files did not load: run `make deps` in the provledger checkout, then reload.";
    return;
  }
  // Styles are set from here, as properties: the content security policy refuses style
  // attributes and style elements in the page, not a script's changes to an element's style.
  for (const element of [document.documentElement, document.body, root]) {
    element.style.height = "100%"; // the IDE fills the window
  }
  document.body.style.margin = "0";

  const fetcher = GraphiQL.createFetcher({ url: root.dataset.endpoint });
  // Rendered at once, so that the layout below finds GraphiQL's elements.
  ReactDOM.flushSync(function () {
    ReactDOM.createRoot(root).render(React.createElement(GraphiQL, { fetcher: fetcher }));
  });

  // GraphiQL 3 sets the query editor and the response side by side at any width, and its
  // editor covers the tab bar (and its "Add tab" button) while there is one tab: on a narrow
  // screen the response would be a column a few characters wide. There, the response goes
  // below the editor, and the editor below the tab bar. GraphiQL keeps these elements for the
  // page's life (tabs, dialogs and the documentation explorer do not replace them).
  const narrow = window.matchMedia("(max-width: 640px)");
  function layout() {
    const session = root.querySelector(".graphiql-session");
    const editors = root.querySelector(".graphiql-editors");
    if (!session || !editors) {
      return;
    }
    session.style.flexDirection = narrow.matches ? "column" : "";
    editors.style.marginTop = narrow.matches ? "0" : "";
  }
  layout();
  narrow.addEventListener("change", layout);
})();
