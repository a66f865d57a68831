"""Key rotation from the web, as the province's administrator does it, in headless Chromium on
a desktop (1366×768) and a phone (390×844) (issue 13): rotate after the confirm step, and a
real agent takes the new list and still plays a plan signed by the new key; retire the old key,
and the agent refuses what it signs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from broadcaster.broker import PrivateBroker
from broadcaster.keys import FollowingSigner, KeyRing
from tests.agent.conftest import AgentRig, make_plan, wait_for
from tests.support.browser import VIEWPORTS, chromium_page, fits_the_screen, login, nav_click
from tests.support.webapp import PASSWORDS, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def started_broker(rig: AgentRig) -> PrivateBroker:
    return rig.broker  # started by the rig, with the agent's account


@pytest.fixture
def key_file(tmp_path: Path, rig: AgentRig) -> Path:
    """The server's key file holds the key the agent was provisioned with."""
    path = tmp_path / "keys" / "signing-key.pem"
    rig.signer.save(path)
    return path


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest) -> Iterator[Any]:
    with chromium_page(request, viewport=VIEWPORTS[request.param], timeout_ms=15_000) as pg:
        yield pg


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


def test_rotate_and_retire_from_the_web_with_a_real_agent(
    live: str, page: Any, rig: AgentRig, key_file: Path, tone_mp3: Path
) -> None:
    k1 = rig.signer
    signing = FollowingSigner(key_file)  # as the scheduler signs plans, across the rotation
    media = rig.media.add(tone_mp3)

    login(page, live, "quantri", PASSWORDS["quantri"])
    nav_click(page, "Khóa ký")
    expect(page.locator("h1")).to_have_text("Khóa ký")
    expect(page.locator("tr.key-active")).to_contain_text(k1.kid)
    assert fits_the_screen(page)
    page.get_by_role("link", name="Thay khóa…").click()
    expect(page.locator("h1")).to_have_text("Thay khóa ký")
    expect(page.locator("main")).to_contain_text(k1.kid)
    assert fits_the_screen(page)
    page.get_by_role("button", name="Thay khóa ngay").click()
    page.wait_for_load_state()
    k2 = KeyRing(key_file).active()
    assert k2.kid != k1.kid
    expect(page.locator(".flash.success")).to_contain_text(f"máy chủ nay ký bằng {k2.kid}")
    expect(page.locator("tr.key-active")).to_contain_text(k2.kid)
    expect(page.locator("tr.key-trusted")).to_contain_text(k1.kid)
    expect(page.locator("#journal")).to_contain_text("quantri")
    assert fits_the_screen(page)

    # The agent learns old + new from the retained list and plays a plan the new key signs.
    rig.agent.wait_log("trusted keys updated")
    assert signing.kid == k2.kid
    rig.server.publish_plan(make_plan(1, [("occ-1", 0.5, media)]), signer=signing)
    assert rig.server.next_event(10, "finished")["item_id"] == "occ-1"

    # Retire the old key, after its confirm step.
    page.locator("tr.key-trusted").get_by_role("link", name="Ngừng dùng…").click()
    expect(page.locator("h1")).to_contain_text(k1.kid)
    assert fits_the_screen(page)
    page.get_by_role("button", name="Ngừng tin cậy khóa này").click()
    page.wait_for_load_state()
    expect(page.locator(".flash.success")).to_contain_text(f"Đã ngừng dùng khóa {k1.kid}")
    expect(page.locator("tr.key-retired")).to_contain_text(k1.kid)
    wait_for(lambda: rig.agent.log().count("trusted keys updated") == 2, 10, "second update")

    # A plan the old key signs is refused; the new key's plans still play.
    rig.server.publish_plan(make_plan(2, [("occ-2", 0.5, media)]), signer=k1)
    assert rig.server.next_event(10, "rejected")["detail"].startswith("unknown-key")
    rig.server.publish_plan(make_plan(3, [("occ-3", 0.5, media)]), signer=signing)
    assert rig.server.next_event(10, "finished")["item_id"] == "occ-3"
    ring = KeyRing(key_file)
    assert [e["by"] for e in ring.journal()] == ["quantri", "quantri"]
    wait_for(
        lambda: any(s.get("keys_version") == ring.trusted()[0] for s in rig.server.statuses),
        15,
        "the agent to report the newest keys version",
    )
