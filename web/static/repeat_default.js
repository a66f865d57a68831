// The "times said" select follows the priority (normal 2, priority and emergency 3) until the
// author picks a number; the defaults come from the server in data-defaults="normal:2,…".
(function () {
  "use strict";
  var repeat = document.querySelector("select[data-defaults]");
  var priority = repeat && repeat.form && repeat.form.elements.namedItem("priority");
  if (!priority) { return; }
  var defaults = {};
  repeat.getAttribute("data-defaults").split(",").forEach(function (pair) {
    var kv = pair.split(":");
    defaults[kv[0]] = kv[1];
  });
  var chosen = false;
  repeat.addEventListener("change", function () { chosen = true; });
  priority.addEventListener("change", function () {
    if (!chosen && defaults[priority.value]) { repeat.value = defaults[priority.value]; }
  });
}());
