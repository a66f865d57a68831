// Quick buttons for the airing time: now (the server's clock, in the commune's time) + N minutes.
(function () {
  "use strict";
  var box = document.querySelector(".quick[data-server-now]");
  if (!box) { return; }
  var input = document.getElementById(box.getAttribute("data-target"));
  var p = box.getAttribute("data-server-now").split(/[-T:]/).map(Number);
  // Wall-clock arithmetic in UTC fields, so the browser's own timezone does not matter.
  var serverNow = Date.UTC(p[0], p[1] - 1, p[2], p[3], p[4], p[5] || 0);
  var loadedAt = Date.now();
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  box.addEventListener("click", function (ev) {
    var minutes = Number(ev.target.getAttribute("data-add-minutes"));
    if (!minutes) { return; }
    var t = serverNow + (Date.now() - loadedAt) + minutes * 60000;
    t = Math.ceil(t / 60000) * 60000;  // whole minutes, never earlier than asked
    var d = new Date(t);
    input.value = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      "T" + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    input.dispatchEvent(new Event("change"));
  });
}());
