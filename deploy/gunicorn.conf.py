"""gunicorn for the web: ``gunicorn -c deploy/gunicorn.conf.py web.wsgi:app`` behind nginx
(deploy/nginx/broadcaster.conf; the unit: deploy/systemd/broadcaster-web.service).

It listens where the server config says (``web_host``/``web_port``, from ``$BROADCASTER_CONFIG``);
``WEB_CONCURRENCY`` or ``-w`` sets the number of workers.
"""

import glob
import os

from broadcaster.config import Settings

_settings = Settings.load(os.environ.get("BROADCASTER_CONFIG"))
bind = f"{_settings.web_host}:{_settings.web_port}"
workers = int(os.environ.get("WEB_CONCURRENCY") or max(3, min(2 * (os.cpu_count() or 1) + 1, 9)))
# Sync workers: one request at a time each, and a busy worker takes no new connection, so the
# load spreads over the workers (a gthread worker accepts connections while its threads are busy
# and keeps them queued). nginx buffers slow clients. A text-to-speech render holds its worker
# for seconds: give more workers (WEB_CONCURRENCY) rather than threads.
worker_class = "sync"
timeout = 90  # a render may wait tts_timeout_s per sentence
graceful_timeout = 30
max_requests = 5000  # a fresh worker now and then bounds any slow leak
max_requests_jitter = 500
# No preload: each worker builds its app after the fork, so database connections and the MQTT
# link are never shared by two processes.
preload_app = False
# nginx on the same host sets X-Forwarded-*; the app trusts one proxy (web/wsgi.py).
forwarded_allow_ips = "127.0.0.1"
# gunicorn 24+'s control socket (~/.gunicorn/gunicorn.ctl) is not used; systemd sends signals.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# The worker's pid on every request: which worker served what.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s "%(a)s"'

# Prometheus multiprocess mode: each worker writes its counters to files in this directory and
# the worker answering /metrics sums them. Set before any worker imports prometheus_client.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/run/broadcaster-web/metrics")


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Start the counters from zero: remove the files a previous run left."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(path, "*.db")):
        os.remove(stale)


def child_exit(server, worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """A worker gone: its live gauges no longer count (its counters still do)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
