"""The message handlers on their own: built from a store, runner, trust and reporter, on a
FakeClock, with no Agent, thread or broker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcaster.agent.fetch import MediaCache, Prefetcher
from broadcaster.agent.keys import KeysHandler
from broadcaster.agent.plans import PlanHandler
from broadcaster.agent.reporter import Reporter
from broadcaster.agent.runner import Runner, RunnerOptions
from broadcaster.agent.store import Store
from broadcaster.agent.trust import Trust
from broadcaster.clock import FakeClock
from broadcaster.wire.commands import KeysUpdate
from broadcaster.wire.messages import Event
from broadcaster.wire.plan import Plan
from broadcaster.wire.signing import Signer
from broadcaster.wire.topics import Topics

from .conftest import SITE, FakePlayer

T0 = datetime(2025, 3, 1, 7, 0, tzinfo=UTC)
TOPICS = Topics()


@dataclass
class FakeLink:
    events: list[Event] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)

    def publish_event(self, event: Event) -> None:
        self.events.append(event)

    def publish_status(self, state: str) -> None:
        self.statuses.append(state)


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        self.signer = Signer.generate()
        self.clock = FakeClock(T0)
        self.store = Store(tmp_path / "agent.sqlite3", SITE)
        self.link = FakeLink()
        self.reporter = Reporter(self.store, self.clock)
        self.reporter.connect(self.link)
        self.trust = Trust([self.signer.public_b64], self.reporter)
        cache = MediaCache(tmp_path / "media", 1.0, self.store, clock=self.clock)
        self.runner = Runner(self.store, cache, FakePlayer(), RunnerOptions(clock=self.clock))
        prefetcher = Prefetcher(cache, self.runner.upcoming, threading.Event(), clock=self.clock)
        self.plans = PlanHandler(
            SITE,
            store=self.store,
            runner=self.runner,
            prefetcher=prefetcher,
            trust=self.trust,
            reporter=self.reporter,
            clock=self.clock,
        )

    def plan(self, version: int, signer: Signer | None = None) -> bytes:
        plan = Plan(SITE, version, T0, T0 + timedelta(hours=1), ())
        return (signer or self.signer).sign(plan.to_dict())


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.store.close()


def test_a_plan_is_judged_on_the_injected_clock(rig: Rig) -> None:
    rig.plans.handle(TOPICS.plan(SITE), rig.plan(1))
    assert rig.store.plan_version() == 1 and rig.runner.plan is not None
    assert rig.link.statuses == ["online"]  # the server learns the live version at once
    rig.plans.handle(TOPICS.plan(SITE), rig.plan(1))  # the retained copy again: silent
    assert rig.link.events == []
    rig.clock.advance(timedelta(hours=2))
    rig.plans.handle(TOPICS.plan(SITE), rig.plan(2))  # valid for an hour from T0: expired now
    (event,) = rig.link.events
    assert event.kind == "rejected" and event.detail.startswith("expired: plan: plan v2")
    assert event.at == T0 + timedelta(hours=2)
    assert rig.reporter.last_error == "2025-03-01T09:00:00Z plan rejected (expired)"
    assert rig.store.plan_version() == 1


def test_a_plan_held_for_an_unknown_key_is_retried_after_the_keys_update(rig: Rig) -> None:
    new = Signer.generate()
    retried: list[tuple[str, bytes]] = []
    keys = KeysHandler(
        store=rig.store,
        trust=rig.trust,
        reporter=rig.reporter,
        clock=rig.clock,
        retry=lambda topic, data: retried.append((topic, data)),
    )
    plan = rig.plan(7, signer=new)
    rig.plans.handle(TOPICS.plan(SITE), plan)
    assert rig.store.plan_version() == 0
    assert [e.detail.split(":")[0] for e in rig.link.events] == ["unknown-key"]
    update = KeysUpdate(1, T0, T0 + timedelta(days=30), (rig.signer.public_b64, new.public_b64))
    keys.handle(TOPICS.keys(), rig.signer.sign(update.to_dict()))
    assert rig.trust.version == 1 and rig.store.trusted_keys() == (1, list(update.keys))
    assert retried == [(TOPICS.plan(SITE), plan)]
    rig.plans.handle(*retried[0])
    assert rig.store.plan_version() == 7
    # the list learnt from the server replaces the config's after a restart
    again = Trust([rig.signer.public_b64], rig.reporter)
    KeysHandler(
        store=rig.store,
        trust=again,
        reporter=rig.reporter,
        clock=rig.clock,
        retry=lambda t, d: None,
    ).load_saved()
    assert again.version == 1 and again.verifier.open(new.sign({"x": 1})) == {"x": 1}


def test_poisoned_plans_are_refused_with_their_reason_and_a_good_one_still_wins(rig: Rig) -> None:
    """Issue 10: signed but hostile plans (a year-1 item, a 5,000-digit volume) and an unsigned
    deep nesting each become a refusal, never an exception."""
    good = Plan(SITE, 3, T0, T0 + timedelta(hours=1), ()).to_dict()
    item = {"id": "occ-1", "start": "0001-01-01T00:00:00+05:00", "title": "t",
            "announcement_id": 1, "priority": "normal",
            "media": {"sha256": "ab" * 32, "url": "http://m/a.mp3", "size": 1,
                      "duration_ms": 1}}  # fmt: skip
    year1 = {**good, "version": 1, "items": [item]}
    huge = {**good, "version": 2, "items": [{**item, "start": "2025-03-01T07:10:00Z"}]}
    topic = TOPICS.plan(SITE)
    rig.plans.handle(topic, rig.signer.sign(year1))
    raw = rig.signer.sign(huge).replace(b'"title":"t"', b'"title":"t","volume":' + b"9" * 5000)
    rig.plans.handle(topic, raw)  # the signature no longer matters: it does not even parse
    rig.plans.handle(topic, b"[" * 100_000 + b"]" * 100_000)
    assert [e.detail.split(":")[0] for e in rig.link.events] == ["malformed"]
    assert "item.start" in rig.link.events[0].detail
    assert rig.reporter.last_error.endswith("plan rejected (malformed): nested deeper than 10")
    rig.plans.handle(topic, rig.signer.sign(good))
    assert rig.store.plan_version() == 3


HOSTILE = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "x" * 9000, ""]),
    st.floats(allow_nan=False, allow_infinity=False),  # a signer cannot encode NaN or inf
    st.text(max_size=30),
    st.none(),
    st.lists(st.integers(), max_size=3),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one rig for every example
)
@given(which=st.sampled_from(["plan", "keys"]), field=st.data(), value=HOSTILE)
def test_a_signed_hostile_field_is_refused_or_accepted_never_raised(
    rig: Rig, which: str, field: st.DataObject, value: object
) -> None:
    """Issue 10's property on the agent's side: a plan or keys update (signed, so it reaches the
    handler's decisions) with any one field hostile is refused with a reason or accepted."""
    item = {"id": "occ-1", "start": "2025-03-01T07:10:00.000Z", "title": "t",
            "announcement_id": 1, "priority": "normal",
            "media": {"sha256": "ab" * 32, "url": "http://m/a.mp3", "size": 1,
                      "duration_ms": 1}}  # fmt: skip
    if which == "plan":
        message = {**Plan(SITE, 5, T0, T0 + timedelta(hours=1), ()).to_dict(), "items": [item]}
    else:
        message = KeysUpdate(9, T0, T0 + timedelta(days=1), (rig.signer.public_b64,)).to_dict()
    key = field.draw(st.sampled_from(sorted(message)))
    message[key] = value
    keys = KeysHandler(store=rig.store, trust=rig.trust, reporter=rig.reporter, clock=rig.clock,
                       retry=lambda t, d: None)  # fmt: skip
    handle = rig.plans.handle if which == "plan" else keys.handle
    topic = TOPICS.plan(SITE) if which == "plan" else TOPICS.keys()
    noted: list[str] = []  # every refusal notes an error (a rejected event comes with most)
    note_error = rig.reporter.note_error
    rig.reporter.note_error = lambda message: (noted.append(message), note_error(message))[-1]  # type: ignore[method-assign]
    try:
        handle(topic, rig.signer.sign(message))
    finally:
        rig.reporter.note_error = note_error  # type: ignore[method-assign]
    # (an identical refusal in an earlier example leaves last_error as it was: count the calls)
    refused = bool(noted)
    # The rig lives across examples: once a newer version is held (a hostile but valid version
    # can be accepted), an update that is not newer is ignored, which is neither.
    current = rig.store.plan_version() if which == "plan" else rig.trust.version
    version = message["version"]
    accepted = type(version) is int and (current or 0) >= version
    assert refused or accepted
