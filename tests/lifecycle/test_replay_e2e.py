"""An emergency cuts an airing off and the airing plays again the same day (issue 13), end to
end: a real Mosquitto, a real agent subprocess (file player), real ingest, the scheduler's
runtime publishing signed plans, the emergency sent from the web. The agent reports the airing
``interrupted``, ingest records the cut, the scheduler plans the replay in the next free time
and publishes it, the agent plays it whole; the log and the proof count it as an airing of the
announcement, and the week calendar shows it as the replay of the cut one."""

from __future__ import annotations

import subprocess
import threading
import wave
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.store import MediaStore
from broadcaster.broker import PrivateBroker
from broadcaster.clock import SystemClock
from broadcaster.config import Settings
from broadcaster.db import transaction
from broadcaster.interrupted import replay_id
from broadcaster.keys import following_signer, load_or_create_signer
from broadcaster.models import (
    Announcement,
    InterruptedAiring,
    Media,
    Playback,
    ScheduleItem,
    Site,
    User,
    Zone,
)
from broadcaster.mqtt import Link, unique_client_id
from broadcaster.processes import IngestPart
from broadcaster.publish import PlanPublisher
from broadcaster.queries.proof import proof_of_broadcast
from broadcaster.wire.topics import Topics
from schedules.recurrence import to_local
from schedules.runtime import SchedulerRuntime
from tests.lifecycle.conftest import sqlite_copy
from tests.programme_web.test_emergency_e2e import HIDDEN, served_app
from tests.support.agents import AgentProcess, file_agent_config, wait_for
from tests.web.conftest import PASSWORDS, FakeRenderer

pytestmark = pytest.mark.slow  # about 40 s: an airing, an emergency and a replay in real time

SITE = "cum-loa-t1"  # in thôn 1
SECONDS = 8  # the announcement's length: long enough to be cut, short enough to replay


@pytest.fixture
def db(settings: Settings, migrated_sqlite_template: Path) -> Iterator[sessionmaker[Session]]:
    """SQLite only: the rule's tests run on both databases (tests/schedules/test_replays.py)."""
    with sqlite_copy(settings, migrated_sqlite_template) as factory:
        yield factory


def _tone_mp3(path: Path, seconds: int) -> bytes:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi"]
        + ["-i", f"sine=frequency=660:duration={seconds}", "-ac", "1", "-b:a", "32k", str(path)],
        check=True,
        capture_output=True,
    )
    return path.read_bytes()


def _announcement(db: sessionmaker[Session], settings: Settings, clock: SystemClock, tmp: Path):  # noqa: ANN202
    """An approved announcement of SECONDS on thôn 1, airing a few seconds from now."""
    data = _tone_mp3(tmp / "tone.mp3", SECONDS)
    sha = MediaStore(settings.media_dir).put(data, "mp3")
    with transaction(db) as s:
        users = {u.username: u for u in s.scalars(select(User))}
        ann = Announcement(
            title="Lịch tiêm chủng mở rộng",
            body="Nội dung",
            status="approved",
            author_id=users["bientap"].id,
            approver_id=users["pheduyet"].id,
            decided_at=clock.now(),
            media=Media(sha256=sha, ext="mp3", size=len(data), duration_ms=SECONDS * 1000),
            zones=list(s.scalars(select(Zone).where(Zone.id == "thon-1"))),
        )
        start = (clock.now() + timedelta(seconds=6)).replace(microsecond=0)
        item = ScheduleItem(start_at=start)
        ann.schedule.append(item)
        s.add(ann)
        s.flush()
        return ann.id, item.occurrence_id(start)


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_an_airing_cut_by_an_emergency_plays_again_the_same_day(
    settings: Settings,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    broker: PrivateBroker,
    tmp_path: Path,
) -> None:
    clock = SystemClock()  # a real agent process plays on the wall clock
    with served_app(settings, db, renderer, broker, {SITE: ("thon-1",)}) as (app, served):
        served = served.replace(plan_horizon_hours=2)
        ann_id, airing = _announcement(db, served, clock, tmp_path)
        link = Link(served.mqtt_options(), unique_client_id("scheduler"))
        plans = PlanPublisher(
            following_signer(served.signing_key_file),
            link,
            Topics(served.topic_root),
            timedelta(hours=served.plan_horizon_hours),
        )
        runtime = SchedulerRuntime(
            served, db, plans, clock, render=renderer, replay_lead=timedelta(seconds=2)
        )
        assert link.start(wait=10)
        ingest = IngestPart(served, clock)
        ingest.start()
        account = next(a for a in broker.agents if a.site == SITE)
        signer = load_or_create_signer(served.signing_key_file)
        agent = AgentProcess(file_agent_config(account, broker.port, signer, tmp_path), tmp_path)
        stop = threading.Event()

        def scheduler() -> None:  # the scheduler's publish job, every half second
            while not stop.wait(0.5):
                runtime._publish_job()

        ticker = threading.Thread(target=scheduler, daemon=True)
        agent.start()
        ticker.start()
        try:
            wait_for(lambda: _status(db, SITE, airing) == "started", 30, "the airing started")
            _send_emergency(app)
            wait_for(lambda: _status(db, SITE, airing) == "interrupted", 20, "the airing cut")
            with db() as s:
                [cut] = s.scalars(select(InterruptedAiring)).all()
            assert (cut.site_id, cut.item_id, cut.announcement_id) == (SITE, airing, ann_id)
            replay = replay_id(airing)
            wait_for(lambda: _status(db, SITE, replay) == "finished", 40, "the replay played")
        finally:
            stop.set()
            ticker.join(10)
            code = agent.stop()
            ingest.stop()
            link.stop()
        assert code == 0, agent.log()

        with db() as s:
            cut = s.scalars(select(InterruptedAiring)).one()
            assert cut.state == "planned" and cut.replay_at is not None
            assert cut.replay_at >= cut.interrupted_at  # later, the same local day
            assert to_local(cut.replay_at).date() == to_local(cut.interrupted_at).date()
            logged = {
                p.item_id: (p.status, p.announcement_id, p.verified)
                for p in s.scalars(select(Playback).where(Playback.site_id == SITE))
            }
            assert logged[airing] == ("interrupted", ann_id, True)
            assert logged[replay] == ("finished", ann_id, True)
            proof = proof_of_broadcast(s, ann_id, clock.now())
            assert {p.site_id: p.outcome for p in proof.sites}[SITE] == "full"
            assert s.get(Site, SITE) is not None
        played = {p.name.split("_", 1)[1]: p for p in agent.wavs()}
        assert _wav_seconds(played[f"{replay}.wav"]) > SECONDS - 0.5  # whole
        assert f"{airing}.wav" in played

        client = app.test_client()
        client.post("/login", data={"username": "pheduyet", "password": PASSWORDS["pheduyet"]})
        week = client.get(f"/calendar/site/{SITE}?lang=en").get_data(as_text=True)
        assert f'data-key="{replay}"' in week and "Replay of the airing an emergency" in week
        assert f'data-key="{airing}"' in week and "Cut off by an emergency" in week
        assert "Moved from" not in week
        proof = client.get(f"/logs/proof/{ann_id}?lang=en").get_data(as_text=True)
        assert proof.count('class="badge replay"') == 1  # the replay, counted for the site
        log = client.get(f"/logs/?announcement={ann_id}&lang=vi").get_data(as_text=True)
        assert log.count('class="badge replay"') == 1 and "Phát lại" in log


def _status(db: sessionmaker[Session], site: str, item_id: str) -> str | None:
    with db() as s:
        return s.scalar(
            select(Playback.status).where(Playback.site_id == site, Playback.item_id == item_id)
        )


def _send_emergency(app: Flask) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "pheduyet", "password": PASSWORDS["pheduyet"]})
    confirm = client.post(
        "/emergency/",
        data={
            "zones": ["thon-1"],
            "source": "",
            "title": "Cảnh báo lũ quét",
            "text": "Nước sông đang lên nhanh.",
            "reason": "Tin khẩn của Ban chỉ huy phòng chống thiên tai huyện",
        },
    )
    assert confirm.status_code == 200, confirm.text
    sent = client.post("/emergency/send", data=dict(HIDDEN.findall(confirm.text)))
    assert sent.status_code == 302
