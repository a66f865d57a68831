// Live updates without reloading the page (the playback log, site health, reports): every N
// seconds (the <main data-live-seconds="N"> attribute) the page is fetched again and its <main>
// swapped in. Not while the user types in a form on it, nor while the tab is hidden; a failed
// fetch (the network is gone) is simply tried again next time. A <details id=…> the user opened
// (the filters) stays open.
(function () {
  "use strict";
  var main = document.querySelector("main[data-live-seconds]");
  if (!main) {
    return;
  }
  var seconds = Number(main.getAttribute("data-live-seconds")) || 10;
  var touched = false;
  document.addEventListener("input", function () { touched = true; }, true);

  function typing() {
    var el = document.activeElement;
    return el && main.contains(el) && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
  }

  function tick() {
    if (touched || document.hidden || typing()) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html || touched || typing()) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
        if (fresh) {
          var open = Array.prototype.map.call(
            main.querySelectorAll("details[id][open]"), function (d) { return d.id; });
          main.innerHTML = fresh.innerHTML;
          open.forEach(function (id) {
            var d = document.getElementById(id);
            if (d) { d.open = true; }
          });
        }
      })
      .catch(function () { /* offline: next time */ });
  }
  window.setInterval(tick, seconds * 1000);
}());
