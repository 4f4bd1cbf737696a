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
      defaultQuery: "# Jeugdpad — GraphQL\n# Probeer: { today codeLists { urgencies { code label } } }\n{ today }\n"
    });
    if (!root) root = ReactDOM.createRoot(container);
    root.render(element);
  }

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
