// Jeugdpad — progressive enhancement only. Every page works without this file; with it:
//  1. BSN fields are checked (nine digits, elfproef) before the form is sent, and emptied after;
//  2. the trajectory page and step forms hear of new steps live (graphql-transport-ws over the
//     server's own /graphql/ws, signed in by the session cookie) and refresh or warn;
//  3. fields that only apply to foster care are shown only when foster care is chosen;
//  4. an error summary takes the focus, so a screen reader reads it first.
// No data is kept in the browser: no localStorage, no sessionStorage, no cookies of our own.
(function () {
  "use strict";

  // ---- 1. BSN: the elfproef, the same rule the server applies -------------------------------
  function bsnProblem(value) {
    var digits = value.replace(/[\s.\-]/g, "");
    if (digits === "") return "Vul een BSN in.";
    if (!/^[0-9]+$/.test(digits)) return "Een BSN bestaat alleen uit cijfers.";
    if (digits.length === 8 && /^[0-9]{8}$/.test(value.trim())) digits = "0" + digits;
    if (digits.length !== 9) return "Een BSN heeft negen cijfers.";
    if (/^0+$/.test(digits)) return "Dit BSN bestaat alleen uit nullen.";
    var sum = 0;
    for (var i = 0; i < 8; i++) sum += (9 - i) * Number(digits[i]);
    sum -= Number(digits[8]);
    if (sum % 11 !== 0) return "Dit BSN voldoet niet aan de elfproef. Controleer of er een cijfer verkeerd is getypt.";
    return null;
  }

  function showFieldError(input, message) {
    var field = input.closest(".jp-field");
    var id = input.id + "-fout-js";
    var existing = document.getElementById(id);
    if (!message) {
      if (existing) existing.remove();
      if (field && !field.querySelector(".jp-error")) field.classList.remove("jp-field--error");
      input.removeAttribute("aria-invalid");
      return;
    }
    if (!existing) {
      existing = document.createElement("span");
      existing.id = id;
      existing.className = "jp-error";
      input.parentNode.insertBefore(existing, input);
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(id) < 0) described.push(id);
      input.setAttribute("aria-describedby", described.join(" "));
    }
    existing.textContent = message;
    input.setAttribute("aria-invalid", "true");
    if (field) field.classList.add("jp-field--error");
  }

  document.querySelectorAll("input[data-bsn]").forEach(function (input) {
    var form = input.form;
    var optional = input.hasAttribute("data-bsn-optional");
    // An error appears when the field is left, and goes as soon as the number is right — not
    // on leaving the field, which would move the button away under a pointer's click.
    input.addEventListener("blur", function () {
      if (input.value.trim() === "") return;
      var problem = bsnProblem(input.value);
      if (problem) showFieldError(input, problem);
    });
    input.addEventListener("input", function () {
      if (input.value.trim() === "" || !bsnProblem(input.value)) showFieldError(input, null);
    });
    if (form) {
      form.addEventListener("submit", function (event) {
        if (optional && input.value.trim() === "") return;
        var problem = bsnProblem(input.value);
        if (problem) {
          event.preventDefault();
          showFieldError(input, problem);
          input.focus();
          return;
        }
        // Sent in the POST body; the field is emptied so the number does not stay on screen.
        window.setTimeout(function () { input.value = ""; }, 0);
      });
    }
  });

  // ---- 1b. Dates: typed as dd-mm-jjjj, or chosen in the browser's own date picker -----------
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function toIso(text) {
    var m = /^\s*(\d{1,2})[-\/.](\d{1,2})[-\/.](\d{4})\s*$/.exec(text);
    if (m) return m[3] + "-" + pad(Number(m[2])) + "-" + pad(Number(m[1]));
    return /^\d{4}-\d{2}-\d{2}$/.test(text.trim()) ? text.trim() : "";
  }
  function toDutch(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    return m ? m[3] + "-" + m[2] + "-" + m[1] : "";
  }
  document.querySelectorAll("input[data-date]").forEach(function (input, i) {
    var native = document.createElement("input");
    native.type = "date";
    if (typeof native.showPicker !== "function") return;
    native.className = "jp-date-native";
    native.tabIndex = -1;
    native.setAttribute("aria-hidden", "true");
    if (input.getAttribute("data-max")) native.max = input.getAttribute("data-max");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "jp-button jp-button--secondary jp-date-button";
    var label = document.querySelector("label[for='" + input.id + "']");
    button.textContent = "Kalender";
    button.setAttribute("aria-label", "Kies een datum in de kalender" + (label ? ": " + label.textContent.trim() : ""));
    var wrap = document.createElement("span");
    wrap.className = "jp-date";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    wrap.appendChild(button);
    wrap.appendChild(native);
    button.addEventListener("click", function () {
      native.value = toIso(input.value);
      native.showPicker();
    });
    native.addEventListener("change", function () {
      if (native.value) input.value = toDutch(native.value);
      input.focus();
    });
  });

  // ---- 3. Foster care details only for foster care --------------------------------------
  document.querySelectorAll("select[data-toggles]").forEach(function (select) {
    var target = document.getElementById(select.getAttribute("data-toggles"));
    var when = select.getAttribute("data-when");
    if (!target) return;
    function update() {
      var show = select.value === when;
      target.hidden = !show;
      target.querySelectorAll("select, input").forEach(function (el) { el.disabled = !show; });
    }
    select.addEventListener("change", update);
    update();
  });

  // ---- 4. Errors first ---------------------------------------------------------------------
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  // ---- 2. Live: new steps of the trajectory on screen ----------------------------------------
  var live = document.querySelector("[data-live-trajectory]");
  if (!live || !("WebSocket" in window)) return;
  var trajectory = live.getAttribute("data-live-trajectory");
  var team = live.getAttribute("data-live-team");
  var version = Number(live.getAttribute("data-version"));
  var refreshUrl = live.getAttribute("data-refresh");
  var notice = document.getElementById("live-melding");

  function announce(text) {
    if (!notice) return;
    notice.hidden = false;
    notice.querySelector("p").textContent = text;
  }

  function refresh() {
    if (!refreshUrl) return;
    fetch(refreshUrl, { credentials: "same-origin", headers: { "Accept": "text/html", "X-Jeugdpad-Fragment": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var target = document.getElementById("traject-inhoud");
        if (!target) return;
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        var replacement = fresh.querySelector("#traject-inhoud");
        if (replacement) target.replaceWith(replacement);
      });
  }

  var socket = new WebSocket(
    (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql/ws",
    "graphql-transport-ws"
  );
  socket.addEventListener("open", function () {
    socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
  });
  socket.addEventListener("message", function (message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    if (data.type === "connection_ack") {
      socket.send(JSON.stringify({
        id: "team", type: "subscribe",
        payload: {
          query: "subscription($team: String!) { teamEvents(team: $team) { trajectoryId version type occurredOn } }",
          variables: { team: team }
        }
      }));
      live.setAttribute("data-live-status", "verbonden");
    } else if (data.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    } else if (data.type === "next" && data.payload && data.payload.data) {
      var event = data.payload.data.teamEvents;
      if (!event || event.trajectoryId !== trajectory || event.version <= version) return;
      version = event.version;
      live.setAttribute("data-version", String(version));
      if (live.hasAttribute("data-live-form")) {
        announce("Er is intussen een stap vastgelegd in dit traject (versie " + version +
          "). Vernieuw de pagina voordat u dit formulier verstuurt.");
      } else {
        announce("Er is een nieuwe stap vastgelegd (versie " + version + "); de tijdlijn is bijgewerkt.");
        refresh();
      }
    }
  });
})();
