// Going live: open the microphone, stream MediaRecorder's WebM/Opus chunks over a WebSocket,
// show the level and which sites are on air; "Dừng" stops the sites first, then the stream.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) return;
  var form = document.getElementById("live-form");
  var startBtn = document.getElementById("live-start");
  var stopBtn = document.getElementById("live-stop");
  var state = document.getElementById("live-state");
  var level = document.getElementById("live-level");
  var sites = document.getElementById("live-sites");
  var errorBox = document.getElementById("live-error");
  var session = null;

  function say(text, onAir) {
    state.textContent = text;
    state.classList.toggle("on-air", !!onAir);
  }

  function fail(text) {
    errorBox.textContent = text;
    finish();
  }

  function showSites(data) {
    sites.textContent = "";
    var on = data.sites.filter(function (s) { return s.live; });
    if (!on.length) {
      var none = document.createElement("li");
      none.className = "meta";
      none.textContent = box.dataset.noneLive;
      sites.appendChild(none);
    }
    on.forEach(function (s) {
      var li = document.createElement("li");
      li.className = "on-air";
      li.dataset.site = s.site;
      li.textContent = s.name;
      sites.appendChild(li);
    });
    box.dataset.liveSites = on.map(function (s) { return s.site; }).join(",");
  }

  function poll() {
    if (!session) return;
    var url = session.status_url;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        showSites(data);
        if (data.ended) say(box.dataset.stateEnded + (data.end_reason ? ": " + data.end_reason : ""));
      })
      .catch(function () {})
      .finally(function () { if (session && !session.stopped) session.poller = setTimeout(poll, 1000); });
  }

  function meter(stream) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    var ctx = new Ctx();
    var analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaStreamSource(stream).connect(analyser);
    var buf = new Float32Array(analyser.fftSize);
    function tick() {
      if (ctx.state === "closed") return;
      analyser.getFloatTimeDomainData(buf);
      var sum = 0;
      for (var i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      // dBFS from -60 (empty) to 0 (full scale), as a 0..1 bar
      var db = 20 * Math.log10(Math.sqrt(sum / buf.length) || 1e-6);
      level.value = Math.max(0, Math.min(1, (db + 60) / 60));
      requestAnimationFrame(tick);
    }
    tick();
    return ctx;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body || new FormData(),
      credentials: "same-origin",
      headers: { "X-CSRFToken": box.dataset.csrf, Accept: "application/json" },
    });
  }

  function finish() {
    if (!session) return;
    var s = session;
    if (s.recorder && s.recorder.state !== "inactive") s.recorder.stop();
    if (s.stream) s.stream.getTracks().forEach(function (t) { t.stop(); });
    if (s.audio) s.audio.close();
    setTimeout(function () { if (s.socket) s.socket.close(); }, 300);
    stopBtn.disabled = true;
    startBtn.disabled = false;
    level.value = 0;
    poll();
    s.stopped = true;
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    errorBox.textContent = "";
    startBtn.disabled = true;
    say(box.dataset.stateConnecting);
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      return post(box.dataset.startUrl, new FormData(form)).then(function (r) {
        return r.json().then(function (data) {
          if (!r.ok) throw new Error((data.error && data.error.message) || box.dataset.errorStart);
          session = data;
          session.stream = stream;
          session.audio = meter(stream);
          // Flask builds a WebSocket rule's URL whole (ws:// or wss://, this host)
          var url = /^wss?:\/\//.test(data.audio_url) ? data.audio_url
            : (location.protocol === "https:" ? "wss://" : "ws://") + location.host + data.audio_url;
          var socket = new WebSocket(url);
          session.socket = socket;
          socket.addEventListener("open", function () {
            var type = "audio/webm;codecs=opus";
            var rec = new MediaRecorder(stream, MediaRecorder.isTypeSupported(type) ? { mimeType: type, audioBitsPerSecond: 48000 } : {});
            session.recorder = rec;
            rec.addEventListener("dataavailable", function (e) {
              if (e.data && e.data.size && socket.readyState === WebSocket.OPEN) socket.send(e.data);
            });
            rec.start(250);
            stopBtn.disabled = false;
            say(box.dataset.stateLive, true);
            poll();
          });
          socket.addEventListener("close", function () { if (session && !session.stopped) finish(); });
        });
      });
    }, function () {
      throw new Error(box.dataset.errorMic);
    }).catch(function (err) {
      fail(err.message || box.dataset.errorStart);
    });
  });

  stopBtn.addEventListener("click", function () {
    if (!session) return;
    stopBtn.disabled = true;
    post(session.stop_url).finally(finish);
  });
})();
