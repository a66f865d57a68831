// "Nghe thử": post the form as it is now to the listen URL, then play the audio and show the
// text as it will be read out. The button is busy (disabled, aria-busy, a status line) until
// the server answers; the rest of the page stays usable. Messages come from data-* attributes
// (translated by the server); an error answer carries its own, in the user's language.
(function () {
  "use strict";
  var boxes = document.querySelectorAll("[data-listen-url]");
  Array.prototype.forEach.call(boxes, function (box) {
    var button = box.querySelector(".listen-button");
    var status = box.querySelector(".listen-status");
    var result = box.querySelector(".listen-result");
    var audio = box.querySelector(".listen-audio");
    var spoken = box.querySelector(".listen-spoken");
    var form = button.form;
    if (!form) {
      return;
    }

    function busy(on) {
      button.disabled = on;
      box.setAttribute("aria-busy", on ? "true" : "false");
      box.classList.toggle("busy", on);
    }

    function failed(message) {
      status.textContent = message || box.dataset.failed;
      status.classList.add("error");
    }

    function show(data) {
      spoken.textContent = "";
      (data.spoken || []).forEach(function (sentence) {
        var p = document.createElement("p");
        p.textContent = sentence;
        spoken.appendChild(p);
      });
      audio.src = data.audio;
      result.hidden = false;
      status.textContent = box.dataset.ready.replace("{s}", String(data.seconds));
      audio.play().catch(function () { /* autoplay refused: the controls are there */ });
    }

    button.addEventListener("click", function () {
      busy(true);
      status.classList.remove("error");
      status.textContent = box.dataset.busy;
      fetch(box.dataset.listenUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (r) {
          return r.json().then(
            function (data) { return data; },
            function () { return { error: null }; }
          );
        })
        .then(function (data) {
          if (data && data.audio) {
            show(data);
          } else {
            failed(data && data.error);
          }
        })
        .catch(function () { failed(null); })
        .then(function () { busy(false); });
    });
  });
}());
