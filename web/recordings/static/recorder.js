// Record a voice in the browser (MediaRecorder) and post it to /api/recordings.
// The server validates and masters it; its error message (in the page's language) is shown.
(function () {
  "use strict";
  var box = document.querySelector(".recorder");
  if (!box || !window.MediaRecorder || !navigator.mediaDevices) { return; }
  box.hidden = false;
  var start = box.querySelector("[data-action=start]");
  var stop = box.querySelector("[data-action=stop]");
  var status = box.querySelector("[data-role=status]");
  var timer = box.querySelector("[data-role=timer]");
  var errorBox = document.querySelector("#recordings [data-role=error]");
  var recorder = null, chunks = [], began = 0, tick = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function pickType() {
    var types = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"];
    for (var i = 0; i < types.length; i++) {
      if (MediaRecorder.isTypeSupported(types[i])) { return types[i]; }
    }
    return "";
  }

  function send(blob, type) {
    var form = new FormData();
    form.append("announcement_id", box.dataset.announcement);
    form.append("language", box.querySelector("#rec-language").value);
    form.append("source", "browser");
    form.append("file", blob, type.indexOf("ogg") >= 0 ? "recording.ogg" : "recording.webm");
    status.textContent = status.dataset.saving;
    fetch(box.dataset.api, {
      method: "POST", body: form, credentials: "same-origin",
      headers: { "X-CSRFToken": box.dataset.csrf, "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (r) {
      if (r.ok) { window.location.hash = "recordings"; window.location.reload(); return; }
      status.textContent = "";
      showError(r.body.error ? r.body.error.message : status.dataset.failed);
      start.disabled = false;
    }).catch(function () {
      status.textContent = "";
      showError(status.dataset.failed);
      start.disabled = false;
    });
  }

  start.addEventListener("click", function () {
    errorBox.hidden = true;
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var type = pickType();
      recorder = type ? new MediaRecorder(stream, { mimeType: type }) : new MediaRecorder(stream);
      chunks = [];
      recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        clearInterval(tick);
        send(new Blob(chunks, { type: recorder.mimeType }), recorder.mimeType);
      };
      recorder.start(1000);
      began = Date.now();
      tick = setInterval(function () {
        var s = Math.floor((Date.now() - began) / 1000);
        timer.textContent = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      }, 500);
      status.textContent = status.dataset.recording;
      start.disabled = true;
      stop.disabled = false;
    }).catch(function () { showError(status.dataset.nomic); });
  });

  stop.addEventListener("click", function () {
    stop.disabled = true;
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
  });
})();
