"""`broadcaster demo`: the whole flow on one machine, and `--check`, its self-test.

Starts a private Mosquitto (per-agent passwords and ACL), the server parts in this process
(web, scheduler, ingest) on a fresh database with the demo province, and one simulated Pi agent
per site as a separate process whose player writes what it plays to WAV files. The database is
SQLite in the demo's folder, or the configured PostgreSQL database in the demo's own schema
(``broadcaster.demo_settings`` says what the demo takes from the configuration).
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.agent.config import AgentConfig
from broadcaster.broker import BrokerWatch, PrivateBroker, free_port
from broadcaster.clock import Clock, SystemClock
from broadcaster.config import Settings
from broadcaster.db import make_engine, session_factory, transaction, upgrade
from broadcaster.demo_settings import (
    DEMO_SCHEMA,
    DemoDatabaseError,
    demo_settings,
    is_postgresql,
    reset_demo_schema,
)
from broadcaster.exit_status import ExitStatus
from broadcaster.keys import load_or_create_signer
from broadcaster.live.icecast import PrivateIcecast
from broadcaster.models import Media, Playback, Site, SitePlan, User
from broadcaster.processes import Part, build_parts, start_parts, stop_parts
from broadcaster.signals import StopSignals

logger = logging.getLogger(__name__)

CHECK_LEAD = timedelta(seconds=20)
CHECK_TEXT = (
    "Thông báo của Ủy ban nhân dân xã Đắk Hà. Trạm Y tế xã tổ chức tiêm chủng mở rộng "
    "cho trẻ em từ hai tháng đến năm tuổi vào sáng thứ bảy. Đề nghị phụ huynh mang theo sổ tiêm chủng."
)
CHECK_ZONE = "thon-1"


class DemoCheckFailed(RuntimeError):
    """The self-test saw something other than what it expected."""


@dataclass
class AgentProcess:
    site: str
    config_path: Path
    output_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [sys.executable, "-m", "broadcaster.agent", "--config", str(self.config_path)],
            stdout=log,
            stderr=log,
        )
        log.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Demo:
    workdir: Path
    port: int = 8080
    broker: PrivateBroker | None = None
    agents: list[AgentProcess] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    watch: BrokerWatch | None = None  # restarts the broker if it dies
    icecast: PrivateIcecast | None = None  # for going live (issue 14), when icecast2 is here
    # The configuration (--config, BROADCASTER_*); None: the defaults, ignoring the environment.
    config: Settings | None = None
    schema: str = DEMO_SCHEMA  # the demo's own schema when the database is PostgreSQL
    clock: Clock = field(default_factory=SystemClock)  # the demo is a process edge

    def setup(self) -> Settings:
        if self.workdir.exists():
            shutil.rmtree(self.workdir)
        self.workdir.mkdir(parents=True)
        web_port = self.port if self.port and _port_free(self.port) else free_port()
        configured = self.config or Settings.load(env={})
        settings = demo_settings(configured, self.workdir, web_port, self.schema)
        if is_postgresql(settings.database_url):
            reset_demo_schema(settings.database_url, self.schema)
        upgrade(settings.database_url)
        from schedules.programme_import import import_demo

        engine = make_engine(settings.database_url)
        with transaction(session_factory(engine)) as session:
            import_demo(session)
            sites = [(s.id, [z.id for z in s.zones]) for s in session.scalars(select(Site))]
        engine.dispose()
        signer = load_or_create_signer(settings.signing_key_file)

        self.broker = self.broker or PrivateBroker(self.workdir / "broker")
        for site_id, zones in sites:
            self.broker.add_agent(site_id, zones)
        self.broker.write_config()
        settings = settings.replace(**self.broker.server_mqtt())
        settings = self._live(settings)
        for account in self.broker.agents:
            base = self.workdir / "agents" / account.site
            base.mkdir(parents=True)
            config = AgentConfig(
                site=account.site,
                zones=account.zones,
                state_dir=str(base / "state"),
                trusted_keys=(signer.public_b64,),
                mqtt_port=self.broker.port,
                mqtt_username=account.username,
                mqtt_password=account.password,
                topic_root=settings.topic_root,
                player="file",
                output_dir=str(base / "played"),
            )
            config.dump(base / "agent.toml")
            self.agents.append(
                AgentProcess(account.site, base / "agent.toml", base / "played", base / "agent.log")
            )
        return settings

    def _live(self, settings: Settings) -> Settings:
        """Going live needs a streaming server: a private Icecast on a free loopback port, as the
        tests run it. Without icecast2 installed the demo runs and says going live is off."""
        if PrivateIcecast.binary() is None:
            logger.warning("icecast2 is not installed: going live is off in the demo")
            return settings
        self.icecast = PrivateIcecast()
        self.icecast.start()
        assert self.icecast.listeners is not None
        return settings.replace(
            live_icecast_source_url=self.icecast.source_url(""),
            live_icecast_public_url=self.icecast.url,
            live_listeners_file=str(self.icecast.listeners.path),
            live_dir=str(self.workdir / "live"),
        )

    def start(self, settings: Settings) -> None:
        assert self.broker is not None
        if self.broker.process is None:
            self.broker.start()
        self.watch = BrokerWatch(self.broker)
        self.watch.start()
        self.parts = start_parts(
            build_parts(settings, ["scheduler", "alerts", "ingest", "web"], self.clock)
        )
        for a in self.agents:
            a.start()

    def stop(self) -> None:
        if self.watch:  # first: a broker that dies while everything stops stays stopped
            self.watch.stop()
        for a in self.agents:
            a.stop()
        stop_parts(self.parts)
        if self.broker:
            self.broker.stop()
        if self.icecast:
            self.icecast.stop()


def run_demo(
    workdir: Path, check: bool = False, port: int = 8080, config: Settings | None = None
) -> int:
    demo = Demo(workdir=workdir, port=port, config=config)
    signals = StopSignals().__enter__()  # Ctrl-C or SIGTERM: stop everything (finally)
    _quiet_console()
    try:
        settings = demo.setup()
        _log_to_file(workdir / "server.log")
        demo.start(settings)
        if check:
            summary = check_demo(demo, settings)
            print(f"demo check OK: {summary}")  # noqa: T201 - the CLI's one-line result
            return ExitStatus.OK
        _print_banner(demo, settings)
        signals.wait()
        return ExitStatus.OK
    except DemoCheckFailed as exc:
        print(f"demo check FAILED: {exc} (logs in {workdir})", file=sys.stderr)  # noqa: T201
        return ExitStatus.FAILURE
    except DemoDatabaseError as exc:
        print(f"demo: {exc}", file=sys.stderr)  # noqa: T201
        return ExitStatus.FAILURE
    finally:
        demo.stop()
        signals.__exit__()


def check_demo(
    demo: Demo, settings: Settings, timeout: float = 90.0, *, bulletins: bool = True
) -> str:
    """Air one announcement ~20 s ahead through the workflow and verify every speaker; then
    (``bulletins``) one bulletin of each class from the province to both communes."""
    from audio.renderer import make_renderer
    from schedules import workflow

    t0 = time.monotonic()
    engine = make_engine(settings.database_url)
    factory = session_factory(engine)
    try:
        _wait(lambda: _online_sites(factory) >= len(demo.agents), 30, "agents did not come online")
        with transaction(factory) as session:
            editor = session.scalar(select(User).where(User.role == "editor"))
            approver = session.scalar(select(User).where(User.role == "approver"))
            assert editor and approver, "demo commune has no editor or approver"
            ann = workflow.create_announcement(
                session,
                editor,
                title="Kiểm tra hệ thống",
                body=CHECK_TEXT,
                zone_ids=[CHECK_ZONE],
                start_at=demo.clock.now() + CHECK_LEAD,
                now=demo.clock.now(),
            )
            workflow.submit(session, ann, editor, make_renderer(settings), now=demo.clock.now())
            # Timed from the approval: rendering takes seconds on a loaded machine.
            now = demo.clock.now()
            workflow.approve(session, ann, approver, start_at=now + CHECK_LEAD, now=now)
            ann_id, engine_name = ann.id, ann.tts_engine
            targets = sorted({s.id for z in ann.zones for s in z.sites})
            media = session.get(Media, ann.media_sha256)
            assert media is not None
            duration_ms = media.duration_ms
        _wait(
            lambda: _all_done(factory, ann_id, len(targets)),
            timeout,
            f"not every site of {CHECK_ZONE} reported 'finished' in {timeout:.0f}s",
        )
        with factory() as session:
            rows = session.scalars(select(Playback).where(Playback.announcement_id == ann_id)).all()
            played = sorted(r.site_id for r in rows if r.status == "finished")
            bad = [f"{r.site_id}: {r.status}" for r in rows if r.status != "finished"]
            if played != targets or bad:
                raise DemoCheckFailed(f"log rows {played} {bad}, expected finished at {targets}")
            if any(r.started_at is None or r.finished_at is None for r in rows):
                raise DemoCheckFailed("a log row lacks its start or finish time")
        # Plan versions are milliseconds: stored as published, reported back by every agent.
        _wait(
            lambda: _plans_live(factory),
            30,
            "not every agent reports the plan version last published to it",
        )
        for agent in demo.agents:
            wavs = list(agent.output_dir.glob("*.wav")) if agent.output_dir.exists() else []
            if agent.site in targets:
                _check_wav(agent.site, wavs, duration_ms)
            elif wavs:
                raise DemoCheckFailed(f"{agent.site} is not in {CHECK_ZONE} but played {wavs}")
        sent = _check_bulletins(demo, settings, factory) if bulletins else ""
    finally:
        engine.dispose()
    return (
        f"announcement {ann_id} spoken by {engine_name} ({duration_ms / 1000:.1f} s) "
        f"played at {', '.join(targets)}; log rows finished; {sent + '; ' if sent else ''}"
        f"{time.monotonic() - t0:.0f} s"
    )


def _check_bulletins(demo: Demo, settings: Settings, factory: sessionmaker[Session]) -> str:
    """One bulletin of each class (schedules/demo_bulletins.py), its emergency command sent
    over a connection of the check's own."""
    from audio.renderer import make_renderer
    from broadcaster.commands import CommandPublisher
    from broadcaster.keys import following_signer
    from broadcaster.mqtt import Link, unique_client_id
    from broadcaster.wire.topics import Topics
    from schedules.demo_bulletins import CheckFailed, check_bulletins, send_bulletins

    link = Link(settings.mqtt_options(), unique_client_id("demo-check"))
    link.start(wait=5.0)
    try:
        commands = CommandPublisher(
            following_signer(settings.signing_key_file), link, Topics(settings.topic_root)
        )
        render = make_renderer(settings)
        sent, window = send_bulletins(factory, render, demo.clock, commands, settings.public_url)
        return check_bulletins(factory, sent, window, demo.clock)
    except CheckFailed as exc:
        raise DemoCheckFailed(str(exc)) from exc
    finally:
        link.stop()


def _check_wav(site: str, wavs: list[Path], expected_ms: int) -> None:
    from pydub import AudioSegment

    if len(wavs) != 1:
        raise DemoCheckFailed(f"{site}: expected one WAV, found {len(wavs)}")
    with wavs[0].open("rb") as f:
        audio = AudioSegment.from_file(f, format="wav")
    if audio.dBFS < -45:
        raise DemoCheckFailed(f"{site}: {wavs[0].name} is silent ({audio.dBFS:.1f} dBFS)")
    if abs(len(audio) - expected_ms) > max(500, expected_ms * 0.05):
        raise DemoCheckFailed(
            f"{site}: {wavs[0].name} lasts {len(audio)} ms, the rendered audio {expected_ms} ms"
        )


def _online_sites(factory: object) -> int:
    with factory() as session:  # type: ignore[operator]
        return len(session.scalars(select(Site.id).where(Site.state == "online")).all())


def _plans_live(factory: object) -> bool:
    with factory() as session:  # type: ignore[operator]
        rows = session.execute(
            select(Site.reported_plan_version, SitePlan.version).join(
                SitePlan, SitePlan.site_id == Site.id, isouter=True
            )
        ).all()
    return all(version and reported == version for reported, version in rows)


def _all_done(factory: object, ann_id: int, expected: int) -> bool:
    """True when every target finished; fails at once when one reports another end."""
    with factory() as session:  # type: ignore[operator]
        rows = session.scalars(select(Playback).where(Playback.announcement_id == ann_id)).all()
    failed = [f"{r.site_id}: {r.status} {r.detail}" for r in rows if r.status in _FAILED]
    if failed:
        raise DemoCheckFailed("; ".join(failed))
    return sum(r.status == "finished" for r in rows) >= expected


_FAILED = ("failed", "skipped", "interrupted", "rejected", "expired")


def _wait(predicate: object, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise DemoCheckFailed(message)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _quiet_console() -> None:
    """The console keeps warnings and the banner; the rest goes to server.log."""
    for h in logging.getLogger().handlers:
        h.setLevel(logging.WARNING)


def _log_to_file(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def _print_banner(demo: Demo, settings: Settings) -> None:
    from schedules.programme_file import DEMO_PROGRAMME, load

    lines = [
        "",
        "broadcaster demo is running — Ctrl-C to stop.",
        f"  Open:        http://127.0.0.1:{settings.web_port}/",
        "  Logins:",
        *(
            f"    {u['username']:<12} / {u['password']:<12} {u['role']:<9} {u.get('display_name', '')}"
            for u in load(DEMO_PROGRAMME).users
        ),
        f"  Database:    {make_url(settings.database_url).render_as_string(hide_password=True)}",
        f"  Broker:      mosquitto on 127.0.0.1:{demo.broker.port if demo.broker else '-'} "
        f"(agents: per-agent passwords, ACL, client id = user), :{settings.mqtt_port} (server); "
        "restarted if it dies",
        f"  Going live:  icecast2 on {demo.icecast.url}"
        if demo.icecast
        else "  Going live:  off (icecast2 is not installed)",
        "  Agents (what each speaker plays is written as WAV files):",
        *(f"    {a.site:<12} {a.output_dir.resolve()}" for a in demo.agents),
        f"  Logs:        {demo.workdir.resolve()}/server.log and agents/*/agent.log",
        "",
    ]
    print("\n".join(lines), flush=True)  # noqa: T201 - the demo's banner
