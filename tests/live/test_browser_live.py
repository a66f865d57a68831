"""Going live from headless Chromium: a fake microphone fed a generated tone, the page's
"Bắt đầu phát trực tiếp", two real agents over a real Mosquitto whose file players' WAVs hold
the tone, the sites shown live, and "Dừng" ending both; the session is logged with its speaker
and its recording archived."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.broker import PrivateBroker
from broadcaster.config import Settings
from broadcaster.live.icecast import PrivateIcecast
from broadcaster.models import LiveSession, PlaybackEvent
from tests.support.agents import wait_for
from tests.support.browser import FAKE_MICROPHONE_ARGS, chromium_page, login
from tests.support.live_site import DEMO_SITES as SITES
from tests.support.live_site import LiveSite, heard_seconds, live_site
from tests.support.tone import make_tone_wav, tone_seconds

from .conftest import TONE_HZ

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def rig(
    settings: Settings,
    db: sessionmaker[Session],
    broker: PrivateBroker,
    icecast: PrivateIcecast,
    tmp_path: Path,
) -> Iterator[LiveSite]:
    with live_site(settings, db, broker, icecast, tmp_path, agents=2) as site:
        yield site


@pytest.fixture
def page(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    tone = make_tone_wav(tmp_path / "mic.wav", TONE_HZ, 30)
    args = [*FAKE_MICROPHONE_ARGS, f"--use-file-for-fake-audio-capture={tone}"]
    with chromium_page(request, viewport={"width": 390, "height": 844}, extra_args=args) as pg:
        yield pg


def _kinds(db: sessionmaker[Session], item_id: str) -> dict[str, list[str]]:
    with db() as s:
        rows = s.execute(
            select(PlaybackEvent.site_id, PlaybackEvent.kind)
            .where(PlaybackEvent.item_id == item_id)
            .order_by(PlaybackEvent.site_id, PlaybackEvent.seq)
        ).all()
    out: dict[str, list[str]] = {}
    for site, kind in rows:
        out.setdefault(site, []).append(kind)
    return out


def test_go_live_from_a_phone_to_two_agents_and_stop(rig: LiveSite, page) -> None:  # noqa: ANN001
    login(page, rig.base, "pheduyet", "pheduyet123")
    page.goto(f"{rig.base}/live/")
    page.locator('input[name="zones"][value="thon-1"]').check()
    page.get_by_role("button", name="Bắt đầu phát trực tiếp").click()
    sites = page.locator("#live-sites li.on-air")
    expect(sites).to_have_count(2, timeout=40_000)  # both sites report playing
    expect(page.locator("#live-state")).to_have_text("Đang phát")
    assert page.locator("#live-level").evaluate("m => m.value") > 0.3  # the tone moves it
    with rig.db() as s:
        live = s.scalars(select(LiveSession)).one()
        item_id = live.announcement.schedule[0].occurrence_id(
            live.announcement.schedule[0].start_at
        )
        assert live.speaker.username == "pheduyet"
    wait_for(lambda: all(heard_seconds(a) >= 3.0 for a in rig.agents), 30, "3 s heard at each site")
    page.get_by_role("button", name="Dừng").click()
    wait_for(
        lambda: (
            all(k[-1:] == ["interrupted"] for k in _kinds(rig.db, item_id).values())
            and len(_kinds(rig.db, item_id)) == 2
        ),
        30,
        "both sites stopped",
    )
    expect(sites).to_have_count(0, timeout=5000)
    for agent in rig.agents:
        wavs = agent.wavs()
        assert [w.name.split("_", 1)[1] for w in wavs] == [f"{item_id}.wav"]
        assert tone_seconds(wavs[0], TONE_HZ) >= 2.0
    kinds = _kinds(rig.db, item_id)
    assert kinds == dict.fromkeys(SITES, ["received", "started", "interrupted"])

    def archived() -> bool:
        with rig.db() as s:
            row = s.scalars(select(LiveSession)).one()
            return row.ended_at is not None and row.announcement.media_sha256 is not None

    wait_for(archived, 40, "the recording archived")
    with rig.db() as s:
        row = s.scalars(select(LiveSession)).one()
        assert row.end_reason == "stopped by Trần Văn Hùng (phê duyệt)"
        assert row.announcement.media is not None and row.announcement.media.duration_ms > 3000
        verified = s.scalars(
            select(PlaybackEvent.site_id).where(PlaybackEvent.item_id == item_id)
        ).all()
        assert set(verified) == set(SITES)
