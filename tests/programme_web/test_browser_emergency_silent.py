"""The emergency page in headless Chromium: a site that has not confirmed is red, and turns
back to normal without a reload once it answers (issue 10)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.clock import FakeClock
from broadcaster.commands import CommandPublisher
from broadcaster.publisher import MemoryPublisher
from broadcaster.wire.signing import Signer
from schedules.emergency_delivery import DeliveryTracker
from tests.support.browser import chromium_page, login
from tests.support.clock import FIXED_NOW
from tests.support.webapp import serve
from tests.web.conftest import FakeRenderer

from .test_emergency_delivery import HEARD, SILENT, TOPICS, _heard, _send

pytestmark = pytest.mark.browser

RED_ROW = "rgb(253, 236, 234)"  # tr.row-silent td: the --bad tint of emergency.css


@pytest.fixture
def page(request: pytest.FixtureRequest) -> Iterator[object]:
    with chromium_page(request, viewport={"width": 1280, "height": 800}, timeout_ms=15_000) as pg:
        yield pg


def test_a_silent_site_is_red_until_it_answers(
    app: Flask,
    db: sessionmaker[Session],
    renderer: FakeRenderer,
    page,  # noqa: ANN001
) -> None:
    clock = FakeClock(FIXED_NOW)
    signer, sent = Signer.generate(), MemoryPublisher()
    em_id, item_id = _send(db, renderer, CommandPublisher(signer, sent, TOPICS, clock), clock.now())
    tracker = DeliveryTracker(db, signer, sent, TOPICS, clock, resend_after=timedelta(seconds=30))
    _heard(db, HEARD, item_id, clock.now())
    clock.advance(timedelta(seconds=31))
    assert tracker.run().resent == [(em_id, SILENT)]

    with serve(app) as base:
        login(page, base, "canbo", "canbo1234")
        page.goto(f"{base}/emergency/{em_id}")
        silent = page.locator(f'tr[data-site="{SILENT}"]')
        heard = page.locator(f'tr[data-site="{HEARD}"]')
        assert silent.locator(".badge").inner_text() == "Chưa xác nhận: đã gửi lại lệnh"
        assert silent.locator(".detail").inner_text() == "Đã gửi 2 lần; cụm loa chưa phản hồi."
        cell = "el => getComputedStyle(el).backgroundColor"
        assert silent.locator("td").first.evaluate(cell) == RED_ROW
        assert heard.locator("td").first.evaluate(cell) != RED_ROW

        _heard(db, SILENT, item_id, clock.now())  # its events arrive: the page polls every 2 s
        # a locator assertion: wait_for_function evaluates a string, which the CSP forbids
        expect(silent).not_to_have_class(re.compile(r"\brow-silent\b"), timeout=8000)
        assert silent.locator(".badge").inner_text() == "Đã nhận lệnh"
        assert silent.locator("td").first.evaluate(cell) != RED_ROW
