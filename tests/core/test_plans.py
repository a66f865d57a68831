"""Plans: only approved airings, per site, signed, versioned forward, republished on change."""

from __future__ import annotations

import json
from datetime import timedelta

from broadcaster.models import Playback, SitePlan
from broadcaster.publish import PlanPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.plan import Plan
from broadcaster.wire.signing import Signer, Verifier
from broadcaster.wire.topics import Topics
from schedules import workflow
from schedules.planner import materialize

HORIZON = timedelta(hours=48)


def approved(session, users, renderer, clock, zone="thon-1", minutes=5):
    ann = workflow.create_announcement(
        session,
        users["editor"],
        title="Họp thôn",
        body="Mời các hộ dự họp.",
        zone_ids=[zone],
        start_at=clock.now() + timedelta(minutes=minutes),
        now=clock.now(),
    )
    workflow.submit(session, ann, users["editor"], renderer, now=clock.now())
    return ann


def test_unapproved_announcements_never_reach_a_plan(session, users, renderer, clock) -> None:
    ann = approved(session, users, renderer, clock)
    plans = materialize(session, clock.now(), HORIZON, "http://srv")
    assert all(items == [] for items in plans.values())
    workflow.approve(session, ann, users["approver"], now=clock.now())
    plans = materialize(session, clock.now(), HORIZON, "http://srv")
    # thon-1 is served by the commune station and by its own cluster, not by thôn 2's
    assert {s for s, items in plans.items() if items} == {"dai-xa", "cum-loa-t1"}
    item = plans["cum-loa-t1"][0]
    assert item.media.url == f"http://srv/media/{ann.media_sha256}.mp3"
    assert item.media.duration_ms == ann.media.duration_ms


def test_rejected_and_out_of_horizon_items_are_left_out(session, users, renderer, clock) -> None:
    ann = approved(session, users, renderer, clock)
    workflow.reject(session, ann, users["approver"], "Không phù hợp", now=clock.now())
    far = approved(session, users, renderer, clock, minutes=60 * 72)
    workflow.approve(session, far, users["approver"], now=clock.now())
    plans = materialize(session, clock.now(), HORIZON, "http://srv")
    assert all(items == [] for items in plans.values())


def test_publisher_signs_versions_forward_and_skips_unchanged(
    session, users, renderer, clock
) -> None:
    signer, pub = Signer.generate(), MemoryPublisher()
    plans = PlanPublisher(signer, pub, Topics("loa/v1"), HORIZON)
    ann = approved(session, users, renderer, clock)
    workflow.approve(session, ann, users["approver"], now=clock.now())
    now = clock.now()
    items = materialize(session, now, HORIZON, "http://srv")["cum-loa-t1"]

    v1 = plans.publish_site(session, "cum-loa-t1", items, now)
    assert v1 is not None
    topic, payload, qos, retain = pub.sent[-1]
    assert (topic, qos, retain) == ("loa/v1/sites/cum-loa-t1/plan", 1, True)
    plan = Plan.from_dict(Verifier([signer.public_b64]).open(payload))
    assert plan.version == v1 and plan.site == "cum-loa-t1" and len(plan.items) == 1
    assert plan.expires_at - plan.issued_at == HORIZON

    assert plans.publish_site(session, "cum-loa-t1", items, now + timedelta(seconds=3)) is None
    v2 = plans.publish_site(session, "cum-loa-t1", [], now + timedelta(seconds=6))
    assert v2 is not None and v2 > v1
    assert session.get(SitePlan, "cum-loa-t1").version == v2
    # the log expects the airing at that site
    row = session.query(Playback).filter_by(site_id="cum-loa-t1").one()
    assert row.status == "scheduled" and row.announcement_id == ann.id


def test_version_never_goes_back_even_with_an_old_clock(session, clock) -> None:
    pub = MemoryPublisher()
    plans = PlanPublisher(Signer.generate(), pub, Topics(), HORIZON)
    now = clock.now()
    v1 = plans.publish_site(session, "dai-xa", [], now)
    v2 = plans.publish_site(session, "dai-xa", [], now - timedelta(days=1, hours=2))
    assert v2 is not None and v1 is not None and v2 > v1
    assert json.loads(pub.sent[-1][1])["payload"]["version"] == v2
