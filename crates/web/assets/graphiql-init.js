// GraphiQL for Jeugdpad: every script is served by Jeugdpad itself (no CDN), so it works on a
// network without internet access.
//
// The API signs every request in with `Authorization: Bearer <token>`. GraphiQL is a developer
// tool, so the token is typed in here and kept in sessionStorage only: it is gone when the
// browser tab closes, never in localStorage, never in a cookie. The schema is fetched once a
// token is set (the API answers nobody without one).
(function () {
  "use strict";
  var KEY = "jeugdpad-graphiql-token";
  var form = document.getElementById("graphiql-token");
  var input = document.getElementById("graphiql-token-veld");
  var status = document.getElementById("graphiql-status");
  var forget = document.getElementById("graphiql-vergeet");
  var container = document.getElementById("graphiql");
  var root = null;

  function token() { return window.sessionStorage.getItem(KEY); }

  function render() {
    var current = token();
    if (!current) {
      status.textContent = "Nog geen token: vul uw token in om het schema op te halen.";
      forget.hidden = true;
      container.hidden = true;
      return;
    }
    status.textContent = "Token ingesteld voor dit tabblad.";
    forget.hidden = false;
    container.hidden = false;
    var fetcher = GraphiQL.createFetcher({
      url: location.origin + "/graphql",
      subscriptionUrl: (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/ws",
      headers: { Authorization: "Bearer " + current },
      wsConnectionParams: { Authorization: "Bearer " + current }
    });
    var element = React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: false,
      shouldPersistHeaders: false,
      // GraphiQL keeps tabs and history in localStorage by default; here they last as long as
      // the tab does, like the token.
      storage: window.sessionStorage,
      defaultQuery: "# Jeugdpad — GraphQL\n# Probeer: { today codeLists { urgencies { code label } } }\n{ today }\n"
    });
    if (!root) root = ReactDOM.createRoot(container);
    root.render(element);
  }

  // GraphiQL's editors (CodeMirror 5) take keys through hidden text areas without a label, and
  // scroll in regions a keyboard cannot reach: name them and make them focusable, as they
  // appear (WCAG 2.1: 1.3.1, 2.1.1, 4.1.2).
  var names = [
    [".graphiql-query-editor", "Query"],
    [".graphiql-editor-tool .graphiql-editor:nth-child(1)", "Variabelen"],
    [".graphiql-editor-tool .graphiql-editor:nth-child(2)", "Headers"],
    [".result-window", "Resultaat"]
  ];
  function label() {
    names.forEach(function (pair) {
      container.querySelectorAll(pair[0]).forEach(function (editor) {
        editor.querySelectorAll("textarea").forEach(function (area) {
          if (!area.hasAttribute("aria-label")) area.setAttribute("aria-label", pair[1]);
        });
        editor.querySelectorAll(".CodeMirror-scroll").forEach(function (scroll) {
          // CodeMirror marks them tabindex="-1"; a keyboard needs 0 to scroll them.
          if (scroll.getAttribute("tabindex") !== "0") {
            scroll.setAttribute("tabindex", "0");
            scroll.setAttribute("role", "region");
            scroll.setAttribute("aria-label", pair[1]);
          }
        });
      });
    });
  }
  new MutationObserver(label).observe(container, { childList: true, subtree: true });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = input.value.trim();
    if (!value) { input.focus(); return; }
    window.sessionStorage.setItem(KEY, value);
    input.value = "";
    if (root) { root.unmount(); root = null; }
    render();
  });
  forget.addEventListener("click", function () {
    window.sessionStorage.removeItem(KEY);
    if (root) { root.unmount(); root = null; }
    render();
  });
  render();
})();
