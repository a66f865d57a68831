"""Relays in the agents' plans: a stored fallback per relay, stream items with stable ids."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.render import Rendered
from audio.renderer import Renderer, TextRenderer
from audio.store import MediaStore
from broadcaster.clock import FakeClock
from broadcaster.models import Media, Relay, Zone
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.plan import Plan, PlanItem
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics
from schedules import planner
from schedules.conflicts import overlaps
from schedules.planner import PAST_GRACE, materialize
from schedules.programme_file import load
from schedules.programme_import import apply
from schedules.relays import FALLBACK_TEXT, ensure_relay_fallbacks, render_fallback
from schedules.runtime import SchedulerRuntime
from tests.schedules.conftest import DEMO_SITES

from .test_planner_programme import H48, NOW, local

EXAMPLE = Path(__file__).parents[2] / "schedules" / "example_programme.yaml"


class CountingRenderer(Renderer):
    """A renderer that stores nothing and counts its calls (the metadata is all the planner uses)."""

    def __init__(self, seconds: float = 6.0) -> None:
        self.texts: list[str] = []
        self.seconds = seconds

    def __call__(
        self,
        text: str,
        *,
        repeat: int,
        lexicon: Mapping[str, str] | None = None,
        commune: str | None = None,
    ) -> Rendered:
        self.texts.append(text)
        sha = hashlib.sha256(text.encode()).hexdigest()
        return Rendered(sha, "mp3", 4321, int(self.seconds * 1000), "fake")


class BrokenRenderer(Renderer):
    def __call__(
        self,
        text: str,
        *,
        repeat: int,
        lexicon: Mapping[str, str] | None = None,
        commune: str | None = None,
    ) -> Rendered:
        raise RuntimeError("no voice")


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(planner, "_warned_no_fallback", set())


def add_relay(
    session: Session,
    name: str = "VOV1",
    at: time = time(9, 0),
    seconds: int = 1800,
    zones: tuple[str, ...] = ("thon-1",),
    url: str = "http://radio.example/vov1.mp3",
) -> Relay:
    relay = Relay(name=name, stream_url=url, start=at, duration_s=seconds)
    relay.zones = list(session.scalars(select(Zone).where(Zone.id.in_(zones))))
    session.add(relay)
    session.flush()
    return relay


def spans(items: list[PlanItem]) -> list[tuple[datetime, datetime]]:
    return [
        (
            i.start,
            i.start
            + timedelta(milliseconds=i.stream.duration_ms if i.stream else i.media.duration_ms),
        )
        for i in items
    ]


def test_the_fallback_is_rendered_once_and_shared_by_every_relay(session) -> None:
    a, b = add_relay(session, "VOV1"), add_relay(session, "Đài tỉnh", time(17, 0))
    render = CountingRenderer()
    assert ensure_relay_fallbacks(session, render) == 2
    assert render.texts == [FALLBACK_TEXT]
    assert a.fallback_sha256 == b.fallback_sha256 == a.fallback.sha256
    assert session.get(Media, a.fallback_sha256).duration_ms == 6000
    assert ensure_relay_fallbacks(session, render) == 0  # nothing missing: nothing rendered
    assert len(render.texts) == 1


def test_the_fallback_is_mastered_speech_in_the_store(session, settings) -> None:
    render = TextRenderer.from_settings(settings)  # espeak-ng, the configured loudness target
    media = render_fallback(session, render)
    assert media.duration_ms > 2000 and media.size > 1000
    assert MediaStore(settings.media_dir).path(media.sha256, media.ext).is_file()
    assert render_fallback(session, render).sha256 == media.sha256  # the same message again


def test_a_relay_is_a_stream_item_in_its_sites_plans(session, add_approved) -> None:
    relay = add_relay(session)
    ensure_relay_fallbacks(session, CountingRenderer())
    ann = add_approved(local(30, 9, 10), seconds=60)  # wants 09:10, inside the relay
    plans = materialize(session, NOW, H48, "http://srv")
    start = local(30, 9)
    item = next(i for i in plans["cum-loa-t1"] if i.stream is not None)
    assert item.id == f"r{relay.id}-{int(start.timestamp())}"
    assert (item.start, item.title, item.priority) == (start, "VOV1", "normal")
    assert item.announcement_id == planner.RELAY_ANNOUNCEMENT_ID
    assert item.stream.url == "http://radio.example/vov1.mp3"
    assert item.stream.duration_ms == 1800 * 1000
    sha = relay.fallback_sha256
    assert item.media.sha256 == sha and item.media.url == f"http://srv/media/{sha}.mp3"
    assert item.media.duration_ms == 6000
    # Every day of the horizon, on every site of the relay's zones, never on the others.
    for site in ("cum-loa-t1", "dai-xa"):
        relays = [i for i in plans[site] if i.stream is not None]
        assert [i.start for i in relays] == [local(30, 9), local(31, 9)], site
    assert all(i.stream is None for i in plans["cum-loa-t2"])
    # The announcement waits for the relay; nothing overlaps; the wire round-trips it.
    items = plans["cum-loa-t1"]
    moved = next(i for i in items if i.announcement_id == ann.id)
    assert moved.start >= local(30, 9, 30)
    assert overlaps(spans(items)) == []
    plan = Plan("cum-loa-t1", 1, NOW, NOW + H48, tuple(items))
    assert Plan.from_dict(plan.to_dict()) == plan
    # Ids are stable from one materialization to the next.
    later = materialize(session, NOW + timedelta(hours=1), H48, "http://srv")["cum-loa-t1"]
    assert item.id in {i.id for i in later}


def test_a_relay_without_a_fallback_is_left_out_with_a_warning(session, caplog) -> None:
    relay = add_relay(session)
    with caplog.at_level(logging.WARNING, logger="schedules.planner"):
        plans = materialize(session, NOW, H48, "http://srv")
        materialize(session, NOW, H48, "http://srv")
    assert all(i.stream is None for items in plans.values() for i in items)
    warnings = [r for r in caplog.records if "no fallback" in r.getMessage()]
    assert len(warnings) == 1 and "VOV1" in warnings[0].getMessage()  # once, not every tick
    ensure_relay_fallbacks(session, CountingRenderer())
    assert any(
        i.id.startswith(f"r{relay.id}-") for i in materialize(session, NOW, H48, "x://s")["dai-xa"]
    )


def test_an_emergency_cuts_the_relay_which_resumes_after_it(session, add_approved) -> None:
    relay = add_relay(session)
    ensure_relay_fallbacks(session, CountingRenderer())
    alarm = add_approved(local(30, 9, 5), seconds=60, priority="emergency")
    items = [i for i in materialize(session, NOW, H48, "http://srv")["cum-loa-t1"]]
    today = [i for i in items if i.start < local(30, 12)]
    assert [i.announcement_id for i in today] == [0, alarm.id, 0]
    before, emergency, after = today
    assert before.id == f"r{relay.id}-{int(local(30, 9).timestamp())}"
    assert before.start + timedelta(milliseconds=before.stream.duration_ms) == local(
        30, 9, 5
    ) - timedelta(seconds=2)
    resumed = local(30, 9, 6) + timedelta(seconds=2)
    assert after.start == resumed and after.id == f"r{relay.id}-{int(resumed.timestamp())}"
    assert after.start + timedelta(milliseconds=after.stream.duration_ms) == local(30, 9, 30)
    assert overlaps(spans(items)) == []


def test_overlapping_relays_take_turns(session) -> None:
    add_relay(session, "VOV1", time(9, 0), 1800)
    add_relay(session, "Đài tỉnh", time(9, 15), 1800)  # overlaps VOV1: joins when it ends
    add_relay(session, "Tin vắn", time(9, 45), 5)  # back to back: whole, however short
    ensure_relay_fallbacks(session, CountingRenderer())
    items = [i for i in materialize(session, NOW, H48, "http://srv")["dai-xa"]]
    today = [(i.title, i.start, i.stream.duration_ms) for i in items if i.start < local(30, 12)]
    assert today == [
        ("VOV1", local(30, 9), 1800_000),
        ("Đài tỉnh", local(30, 9, 30), 900_000),
        ("Tin vắn", local(30, 9, 45), 5000),
    ]
    assert overlaps(spans(items)) == []


def test_a_relay_long_started_is_not_sent(session) -> None:
    add_relay(session)
    ensure_relay_fallbacks(session, CountingRenderer())
    now = local(30, 9) + PAST_GRACE - timedelta(minutes=1)
    assert [i.start for i in materialize(session, now, H48, "s://x")["dai-xa"]][0] == local(30, 9)
    now = local(30, 9) + PAST_GRACE + timedelta(minutes=1)
    assert [i.start for i in materialize(session, now, H48, "s://x")["dai-xa"]][0] == local(31, 9)


def test_programme_import_gives_new_relays_a_fallback(session, users) -> None:
    prog = load(EXAMPLE)
    render = CountingRenderer()
    apply(session, prog, users["admin"], dry_run=True, render=render)
    assert render.texts == []  # a dry run renders nothing
    apply(session, prog, users["admin"], render=render)
    relays = list(session.scalars(select(Relay)))
    assert len(relays) == 2 and all(r.fallback_sha256 for r in relays)
    assert render.texts == [FALLBACK_TEXT]
    apply(session, prog, users["admin"], render=render)  # re-import: nothing to render
    assert render.texts == [FALLBACK_TEXT]


def _runtime(settings, db, render) -> tuple[SchedulerRuntime, MemoryPublisher]:
    pub = MemoryPublisher()
    plans = PlanPublisher(Signer.generate(), pub, Topics("loa/v1"), H48)
    return SchedulerRuntime(settings, db, plans, FakeClock(NOW), render=render), pub


def test_the_scheduler_gives_existing_relays_a_fallback_at_start(settings, db, session) -> None:
    add_relay(session)
    session.commit()
    runtime, pub = _runtime(settings, db, CountingRenderer())
    runtime.start()
    try:
        runtime.job().func()  # what the scheduler runs (it also ran once at start)
    finally:
        runtime.stop()
    with db() as s:
        assert s.scalar(select(Relay)).fallback_sha256 is not None
    assert any(b"stream" in payload for _, payload, *_ in pub.sent)


def test_a_renderer_failure_does_not_stop_the_plans(settings, db, session, caplog) -> None:
    add_relay(session)
    session.commit()
    runtime, _ = _runtime(settings, db, BrokenRenderer())
    assert runtime.ensure_fallbacks() == 0
    assert "could not render the relay fallback" in caplog.text
    assert set(runtime.publish_plans()) == DEMO_SITES
