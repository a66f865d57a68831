// Live per-site progress of an emergency: poll the JSON endpoint every 2 s until all are done.
(function () {
  "use strict";
  var table = document.getElementById("progress");
  if (!table || table.dataset.done === "true") return;
  var note = document.getElementById("live-note");
  function update(data) {
    data.sites.forEach(function (s) {
      var row = table.querySelector('tr[data-site="' + s.site + '"]');
      if (!row) return;
      var badge = row.querySelector(".badge");
      row.classList.toggle("row-silent", s.silent);
      badge.className = "badge stage-" + s.stage;
      badge.textContent = s.label;
      row.querySelector(".detail").textContent = s.detail || "";
      row.querySelector(".at").textContent = s.at_local || "";
    });
    if (data.done) {
      table.dataset.done = "true";
      if (note) note.textContent = note.dataset.doneText;
    }
  }
  function poll() {
    fetch(table.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) update(data); })
      .catch(function () {})
      .finally(function () { if (table.dataset.done !== "true") setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
