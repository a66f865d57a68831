"""No materialized per-site plan ever overlaps: properties over random programmes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from broadcaster.models import (
    Announcement,
    Base,
    Media,
    Relay,
    ScheduleItem,
    Site,
    Slot,
    User,
    Zone,
)
from schedules.conflicts import Busy, Candidate, overlaps, pack
from schedules.planner import materialize

T0 = datetime(2026, 12, 1, tzinfo=UTC)
PRIORITY = st.sampled_from(["normal", "priority", "emergency"])


@st.composite
def candidates(draw: st.DrawFn) -> list[Candidate]:
    out = []
    for i in range(draw(st.integers(0, 25))):
        nominal = T0 + timedelta(seconds=draw(st.integers(0, 4 * 3600)))
        window = draw(st.one_of(st.none(), st.integers(60, 3600)))
        out.append(
            Candidate(
                key=f"k{i}",
                nominal=nominal,
                duration=timedelta(seconds=draw(st.integers(1, 900))),
                priority=draw(PRIORITY),
                campaign_id=draw(st.one_of(st.none(), st.integers(1, 3))),
                approved_at=T0 - timedelta(seconds=draw(st.integers(0, 1000))),
                window_end=nominal + timedelta(seconds=window) if window else None,
            )
        )
    return out


@given(
    candidates(), st.lists(st.tuples(st.integers(0, 4 * 3600), st.integers(60, 3600)), max_size=3)
)
@settings(max_examples=300, deadline=None)
def test_packing_never_overlaps_and_respects_windows(cands, relays) -> None:
    busy = [
        Busy(f"r{i}", T0 + timedelta(seconds=s), T0 + timedelta(seconds=s + d))
        for i, (s, d) in enumerate(relays)
    ]
    placed, clashes = pack(cands, busy)
    assert overlaps([(p.start, p.end) for p in placed]) == []
    assert len(placed) + sum(c.kind in ("overflow", "overlap") for c in clashes) == len(cands)
    for p in placed:
        assert p.start >= p.candidate.nominal
        if p.candidate.window_end is not None:
            assert p.end <= p.candidate.window_end
        if p.candidate.priority != "emergency":  # only emergencies may cut into a relay
            assert all(
                p.end + timedelta(seconds=2) <= b.start or p.start >= b.end + timedelta(seconds=2)
                for b in busy
            )
    emergencies = [p for p in placed if p.candidate.priority == "emergency"]
    assert len(emergencies) == sum(c.priority == "emergency" for c in cands) or clashes


ZONES = ["z1", "z2", "z3"]
SITES = {"s-all": ZONES, "s1": ["z1"], "s2": ["z2"], "s12": ["z1", "z2"]}


@st.composite
def programmes(draw: st.DrawFn) -> dict:
    slots = [
        (h, draw(st.integers(10, 60)), draw(st.sampled_from(["", "MO,WE,FR", "SA,SU"])))
        for h in draw(st.lists(st.integers(5, 20), max_size=3, unique=True))
    ]
    items = []
    for _ in range(draw(st.integers(1, 15))):
        items.append(
            {
                "offset_min": draw(st.integers(-60, 36 * 60)),
                "seconds": draw(st.integers(5, 1200)),
                "zones": draw(
                    st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True)
                ),
                "rrule": draw(
                    st.sampled_from(
                        [
                            "",
                            "FREQ=DAILY",
                            "FREQ=HOURLY;INTERVAL=5",
                            "FREQ=DAILY;BYDAY=MO,TH;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0",
                        ]
                    )
                ),
                "slot": draw(st.one_of(st.none(), st.integers(0, 2))),
                "priority": draw(PRIORITY),
                "campaign": draw(st.one_of(st.none(), st.just(True))),
            }
        )
    relays = draw(
        st.lists(
            st.tuples(
                st.integers(0, 23),
                st.integers(60, 3600),
                st.sampled_from(ZONES),
                st.booleans(),  # has its fallback (else it stays out of the plans)
            ),
            max_size=2,
        )
    )
    return {"slots": slots, "items": items, "relays": relays}


@given(programmes(), st.integers(0, 7 * 24))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_materialized_site_plans_never_overlap(programme, now_hours) -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    now = T0 + timedelta(hours=now_hours)
    with Session(engine) as s:
        zones = {z: Zone(id=z, name=z) for z in ZONES}
        for sid, zs in SITES.items():
            s.add(Site(id=sid, name=sid, zones=[zones[z] for z in zs]))
        user = User(username="u", display_name="u", password_hash="x", role="editor")
        s.add(user)
        slots = [
            Slot(
                name=f"slot{i}",
                start=time(h, 0),
                end=time(h, m) if m < 60 else time(h + 1, 0),
                days=days or "MO,TU,WE,TH,FR,SA,SU",
            )
            for i, (h, m, days) in enumerate(programme["slots"])
        ]
        s.add_all(slots)
        fallback = Media(sha256="f" * 64, ext="mp3", size=1, duration_ms=7000)
        for i, (h, dur, z, has_fallback) in enumerate(programme["relays"]):
            s.add(
                Relay(
                    name=f"r{i}",
                    stream_url="http://r",
                    start=time(h, 0),
                    duration_s=dur,
                    zones=[zones[z]],
                    fallback=fallback if has_fallback else None,
                )
            )
        s.flush()
        for i, it in enumerate(programme["items"]):
            media = Media(sha256=f"{i:064x}", ext="mp3", size=1, duration_ms=it["seconds"] * 1000)
            ann = Announcement(
                title=f"a{i}",
                body="b",
                priority=it["priority"],
                status="approved",
                author_id=user.id,
                decided_at=T0,
                media=media,
                zones=[zones[z] for z in it["zones"]],
            )
            slot = slots[it["slot"]] if it["slot"] is not None and it["slot"] < len(slots) else None
            ann.schedule.append(
                ScheduleItem(
                    start_at=now + timedelta(minutes=it["offset_min"]), rrule=it["rrule"], slot=slot
                )
            )
            s.add(ann)
        s.flush()
        plans = materialize(s, now, timedelta(hours=48), "http://srv")
        assert set(plans) == set(SITES)
        durations = {a.id: a.media.duration_ms for a in s.scalars(select(Announcement))}
        for site, items in plans.items():
            spans = [
                (
                    i.start,
                    i.start
                    + timedelta(
                        milliseconds=i.stream.duration_ms
                        if i.stream
                        else durations[i.announcement_id]
                    ),
                )
                for i in items
            ]
            assert overlaps(spans) == [], site
            assert len({i.id for i in items}) == len(items)
            assert all(now - timedelta(minutes=10) <= i.start for i in items)
    engine.dispose()
    event(f"plans hold items: {any(plans.values())}")
    event(f"plans hold relays: {any(i.stream for items in plans.values() for i in items)}")
