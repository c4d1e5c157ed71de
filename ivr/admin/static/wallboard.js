// The wall board: fetch the board's texts every few seconds and copy them into the page.
// No framework and no inline script (the admin's Content-Security-Policy: script-src 'self').
(function () {
  "use strict";
  var board = document.getElementById("wallboard");
  if (!board) { return; }
  var source = board.getAttribute("data-source");
  var seconds = parseInt(board.getAttribute("data-refresh"), 10) || 4;
  var lastSuccess = Date.now();
  // The page's words, translated by the server: the script writes none of its own.
  var staleText = board.getAttribute("data-stale") || "{seconds} s";

  function row(cells, className) {
    var tr = document.createElement("tr");
    if (className) { tr.className = className; }
    cells.forEach(function (text) {
      var td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    });
    return tr;
  }

  function fill(id, rows) {
    var body = document.getElementById(id);
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (tr) { body.appendChild(tr); });
  }

  function show(view) {
    Object.keys(view.fields).forEach(function (id) {
      var element = document.getElementById(id);
      if (element) { element.textContent = view.fields[id]; }
    });
    board.classList.toggle("alert", Boolean(view.alert));
    board.classList.toggle("closed", Boolean(view.closed));
    fill("wb-teams", view.teams.map(function (t) { return row([t.name, t.waiting, t.longest]); }));
    fill("wb-members", view.members.map(function (m) { return row([m.number, m.label], "wb-" + m.state); }));
  }

  function refresh() {
    fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (view) {
        show(view);
        lastSuccess = Date.now();
        board.classList.remove("stale");
      })
      .catch(function () {
        // Logged out, or the service unreachable: keep the figures, say they are old.
        if (Date.now() - lastSuccess > 3 * seconds * 1000) {
          board.classList.add("stale");
          document.getElementById("wb-updated").textContent = staleText.replace(
            "{seconds}", String(Math.round((Date.now() - lastSuccess) / 1000)));
        }
      })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }

  window.setTimeout(refresh, seconds * 1000);
}());
