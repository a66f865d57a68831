"""The production web server for real: gunicorn with three workers (deploy/gunicorn.conf.py,
web/wsgi.py) behind nginx (deploy/nginx/broadcaster.conf with test ports and a test
certificate). Logins and CSRF-protected forms hold across workers; each worker that sends an
emergency has its own MQTT client id with a clean session; /metrics sums the workers."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import SERVER_USER, PrivateBroker, free_port
from broadcaster.db import make_engine, session_factory, transaction
from broadcaster.models import Announcement, EmergencyDelivery
from schedules.programme_import import import_demo
from tests.ops.conftest import (
    CSRF,
    ROOT,
    clean_env,
    cli,
    nginx_binary,
    samples,
    total,
    write_config,
)
from tests.support.process import LoggedProcess
from tests.support.tls import make_tls
from tests.support.webapp import PASSWORDS

WORKERS = 3
TOKEN = "metrics-token-for-tests-0123456789"
START_AT = re.compile(r'name="start_at"[^>]*value="([^"]+)"')
HIDDEN = re.compile(r'<input id="(\w+)" name="\w+" type="hidden" value="([^"]*)"')
ACCESS = re.compile(r'"(?:GET|POST) (\S+) HTTP/[\d.]+" (\d+) .* pid=<?(\d+)')
CONNECTED = re.compile(
    r"New client connected from \S+ as (broadcaster-web-\S+-(\d+)-\w+) \((p\d), (c\d)"
)


class ConnectionLoggingBroker(PrivateBroker):
    """The private Mosquitto, also logging each client's id and clean-session flag."""

    def write_config(self) -> Path:
        conf = super().write_config()
        conf.write_text(conf.read_text() + "log_type notice\n")
        return conf


@dataclass
class Site:
    url: str  # https://127.0.0.1:port, through nginx
    ca: Path
    gunicorn: LoggedProcess
    sessions: sessionmaker[Session]
    broker_dir: Path
    plain_url: str  # http://, which nginx redirects to https

    answered: list[int] = field(default_factory=list)  # one per response the tests got

    def client(self) -> requests.Session:
        s = requests.Session()
        s.hooks["response"].append(lambda r, *args, **kwargs: self.answered.append(r.status_code))
        s.trust_env = False  # no proxy, and no CA bundle from the environment over ours
        s.verify = str(self.ca)
        # As a browser does: Flask-WTF checks that an HTTPS form comes from this host.
        s.headers["Referer"] = f"{self.url}/"
        return s

    def logged(self, path: str, n: int) -> list[int]:
        """The worker pids of ``path``'s ``n`` requests (gunicorn logs a request just after
        its response)."""
        deadline = time.monotonic() + 5
        while True:
            pids = [pid for p, _s, pid in self.access() if p == path]
            if len(pids) >= n or time.monotonic() > deadline:
                return pids
            time.sleep(0.05)

    def access(self) -> list[tuple[str, int, int]]:
        """(path, status, worker pid) of every request gunicorn logged."""
        return [(p, int(s), int(pid)) for p, s, pid in ACCESS.findall(self.gunicorn.log())]


def nginx_config(tmp: Path, http_port: int, https_port: int, upstream: int, tls: Path) -> Path:
    """deploy/nginx/broadcaster.conf on test ports and certificate, in a main config of its own."""
    site = (ROOT / "deploy/nginx/broadcaster.conf").read_text()
    for old, new in (
        ("server 127.0.0.1:8080;", f"server 127.0.0.1:{upstream};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/letsencrypt/live/loa.example.gov.vn/fullchain.pem", str(tls / "server.crt")),
        ("/etc/letsencrypt/live/loa.example.gov.vn/privkey.pem", str(tls / "server.key")),
    ):
        assert old in site, old
        site = site.replace(old, new)
    site = "\n".join(line for line in site.splitlines() if "[::]" not in line)
    (tmp / "site.conf").write_text(site)
    user = (
        "user root root;\n"
        if hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0
        else ""
    )
    main = tmp / "nginx.conf"
    main.write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {tmp}/access.log;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
    )
    return main


@pytest.fixture(scope="module")
def province_db() -> Iterator[str]:
    """PostgreSQL, the database of a deployment with several web workers (deploy/PROVINCE.md)."""
    from tests.conftest import migrated_postgres_schema

    with migrated_postgres_schema() as url:
        yield url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, province_db: str) -> Iterator[Site]:
    """One gunicorn and nginx for the module's tests (starting them takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("site")
    broker = ConnectionLoggingBroker(tmp_path / "broker")
    broker.start()
    gport, http_port, https_port = free_port(), free_port(), free_port()
    config = write_config(
        tmp_path / "server.toml",
        {
            "database_url": province_db,
            "media_dir": str(tmp_path / "media"),
            "signing_key_file": str(tmp_path / "signing-key.pem"),
            "render_cache_dir": str(tmp_path / "render-cache"),
            "mqtt_port": broker.server_port,
            "mqtt_username": SERVER_USER,
            "mqtt_password": broker.server_password,
            "secret_key": "gunicorn-test-secret-0123456789-abcdefgh",
            "public_url": f"https://127.0.0.1:{https_port}",
            "web_port": gport,
            "tts_engine": "espeak",
            "metrics_token": TOKEN,
        },
    )
    cli(config, "db", "upgrade")
    engine = make_engine(province_db)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        import_demo(session)
    env = clean_env(
        BROADCASTER_CONFIG=str(config), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics")
    )
    gunicorn = LoggedProcess(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "-w",
            str(WORKERS),
            "web.wsgi:app",
        ],
        tmp_path / "gunicorn.log",
        env,
    ).start()
    nginx: LoggedProcess | None = None
    try:
        gunicorn.wait_port(gport)
        tls = make_tls(tmp_path / "tls")
        ngx = tmp_path / "nginx"
        ngx.mkdir()
        conf = nginx_config(ngx, http_port, https_port, gport, tls.dir)
        nginx = LoggedProcess([nginx_binary(), "-c", str(conf)], ngx / "stdout.log", env).start()
        nginx.wait_port(https_port)
        yield Site(
            f"https://127.0.0.1:{https_port}",
            tls.ca,
            gunicorn,
            sessions,
            tmp_path / "broker",
            f"http://127.0.0.1:{http_port}",
        )
    finally:
        if nginx is not None:
            nginx.stop()
        assert gunicorn.stop() == 0, gunicorn.log()
        engine.dispose()
        broker.stop()


def login(site: Site, username: str) -> requests.Session:
    s = site.client()
    page = s.get(f"{site.url}/login", timeout=10)
    token = CSRF.search(page.text)
    assert token, page.text
    r = s.post(
        f"{site.url}/login",
        data={"csrf_token": token[1], "username": username, "password": PASSWORDS[username]},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302, r.text
    return s


def create_draft(site: Site, s: requests.Session, tag: str, failures: list[str]) -> None:
    """A draft: a GET of the form, then its POST with the CSRF token from the GET."""
    url = f"{site.url}/announcements/new?draft={tag}"
    page = s.get(url, timeout=30)
    token, start = CSRF.search(page.text), START_AT.search(page.text)
    if page.status_code != 200 or not token or not start:
        failures.append(f"{tag}: form {page.status_code}")
        return
    r = s.post(
        url,
        data={
            "csrf_token": token[1],
            "title": f"Thông báo {tag}",
            "body": "Sáng mai, các hộ chăn nuôi mang gia súc ra nhà văn hóa thôn.",
            "zones": ["thon-1"],
            "priority": "normal",
            "start_at": start[1],
        },
        allow_redirects=False,
        timeout=30,
    )
    if r.status_code != 302 or "/announcements/" not in r.headers.get("Location", ""):
        failures.append(f"{tag}: post {r.status_code}")


def compose_emergency(site: Site, s: requests.Session, n: int) -> dict[str, str]:
    """Step 1 (the message rendered for listening): the confirm form's fields."""
    page = s.get(f"{site.url}/emergency/", timeout=30)
    token = CSRF.search(page.text)
    assert token, page.text
    confirm = s.post(
        f"{site.url}/emergency/",
        data={
            "csrf_token": token[1],
            "zones": ["thon-1"],
            "source": "",
            "title": f"Cảnh báo lũ {n}",
            "text": "Nước sông đang lên nhanh. Bà con di chuyển lên chỗ cao.",
            "reason": "Tin khẩn của Ban chỉ huy phòng chống thiên tai",
        },
        timeout=60,
    )
    fields = dict(HIDDEN.findall(confirm.text))
    assert confirm.status_code == 200 and "csrf_token" in fields, confirm.text
    return fields


def send_emergency(
    site: Site, s: requests.Session, fields: dict[str, str], failures: list[str]
) -> None:
    """Step 2: the play-now command, sent by whichever worker gets the request."""
    sent = s.post(f"{site.url}/emergency/send", data=fields, allow_redirects=False, timeout=60)
    if sent.status_code != 302 or "/emergency/" not in sent.headers.get("Location", ""):
        failures.append(f"send {sent.status_code}")


def run_all(target, args_list) -> list[str]:  # noqa: ANN001 - a small thread helper
    failures: list[str] = []
    threads = [threading.Thread(target=target, args=(*a, failures)) for a in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return failures


def by_session(site: Site) -> dict[str, dict[str, list[int]]]:
    """{session: {draft tag: [worker pids of its GET and POST]}} from gunicorn's access log."""
    out: dict[str, dict[str, list[int]]] = {}
    for path, status, pid in site.access():
        if "draft=" in path:
            assert status in (200, 302), (path, status)
            tag = path.split("draft=")[1]
            out.setdefault(tag.split("-")[0], {}).setdefault(tag, []).append(pid)
    return out


def test_logins_and_forms_hold_across_workers(site: Site) -> None:
    editors = {who: login(site, "bientap") for who in ("a", "b", "c")}
    drafts = 0

    def spread() -> bool:
        seen = by_session(site)
        pids = {pid for tags in seen.values() for pids in tags.values() for pid in pids}
        return (
            len(pids) == WORKERS  # every worker answered
            # each login session was answered by several workers...
            and all(len({p for ps in seen.get(w, {}).values() for p in ps}) >= 2 for w in editors)
            # ...and some form's POST by another worker than its GET
            and any(len(set(ps)) == 2 for tags in seen.values() for ps in tags.values())
        )

    # Rounds of one draft per session at once, until the requests spread over the workers
    # (which worker accepts is the kernel's choice); a busy sync worker takes no connection.
    for n in range(15):
        failures = run_all(create_draft, [(site, s, f"{w}-{n}") for w, s in editors.items()])
        assert failures == []
        drafts += len(editors)
        if n >= 2 and spread():
            break
    assert spread(), by_session(site)
    with site.sessions() as session:
        assert session.query(Announcement).count() == drafts

    # A form without its token is refused, whichever worker gets it.
    r = editors["a"].post(f"{site.url}/announcements/new", data={"title": "x"}, timeout=10)
    assert r.status_code == 400


def test_each_worker_has_its_own_clean_mqtt_session(site: Site) -> None:
    approver = login(site, "pheduyet")
    fields = compose_emergency(site, approver, 1)  # rendered once, then sent several times

    sends = 0
    for _ in range(5):  # three at once, until two workers or more have sent one
        clients = []
        for _ in range(3):
            c = site.client()
            c.cookies.update(approver.cookies)
            clients.append(c)
        assert run_all(send_emergency, [(site, c, fields) for c in clients]) == [], (
            site.gunicorn.log()
        )
        sends += len(clients)
        if len(set(site.logged("/emergency/send", sends))) >= 2:
            break
    sent_by = set(site.logged("/emergency/send", sends))
    log = (site.broker_dir / "mosquitto.log").read_text()
    connected = CONNECTED.findall(log)
    assert connected, log
    ids = {cid for cid, _pid, _p, _c in connected}
    pids = {int(pid) for _cid, pid, _p, _c in connected}
    assert len(sent_by) >= 2, sent_by  # several workers sent one
    assert pids == sent_by  # each from its own process...
    assert len(ids) == len(pids)  # ...under its own client id
    assert {c for *_, c in connected} == {"c1"}  # clean session: nothing persists on the broker

    # /metrics: the workers' counters summed, whichever worker answers; database gauges.
    scraper = site.client()
    assert scraper.get(f"{site.url}/metrics", timeout=10).status_code == 401
    answered = len(site.answered)  # every response so far, the 401 just above included
    r = scraper.get(f"{site.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert r.status_code == 200, r.text
    page = samples(r.text)
    assert total(page, "broadcaster_web_requests_total") == answered
    assert len({ls for (n, ls) in page if n == "broadcaster_web_requests_total"}) >= 2
    with site.sessions() as session:
        deliveries = session.query(EmergencyDelivery).count()
    assert deliveries > 0
    assert total(page, "broadcaster_emergency_deliveries") == deliveries
    assert total(page, "broadcaster_sites") > 0


def test_plain_http_is_redirected_to_https(site: Site) -> None:
    plain = requests.Session()
    plain.trust_env = False
    r = plain.get(f"{site.plain_url}/login", allow_redirects=False, timeout=5)
    assert r.status_code == 301
    assert r.headers["Location"] == "https://127.0.0.1/login"


def test_the_wsgi_entry_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "server.toml", {"database_url": f"sqlite:///{tmp_path}/db.sqlite3"}
    )
    done = subprocess.run(
        [sys.executable, "-c", "import web.wsgi"],
        env=clean_env(BROADCASTER_CONFIG=str(config)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "secret_key is not set" in done.stderr
