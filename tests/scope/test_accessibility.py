"""axe-core in headless Chromium on every page (issue 13): no serious or critical violation,
at a desktop (1366×768) and a phone (390×844) viewport, as the province administrator (who
reaches every page) over the province's data. axe-core comes from npm (scripts/bootstrap.sh
installs it under .venv/npm); it is evaluated through the DevTools protocol, which the pages'
CSP does not govern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import LexiconEntry
from tests.scope.conftest import PASSWORDS, Province
from tests.scope.test_route_scope import _args
from tests.scope.test_vietnamese_pages import SKIP_ENDPOINTS, _Named
from tests.support import browser
from tests.support.browser import VIEWPORTS, chromium_page
from tests.support.webapp import serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".venv/npm/node_modules/axe-core/axe.min.js"
SERIOUS = ("serious", "critical")


def _pages(app: Flask, province: Province, entry: int) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        if rule.rule.endswith((".csv", ".xlsx", ".pdf", ".ics", ".json")) or "/api/v1" in rule.rule:
            continue
        extra = {"entry_id": entry} if "entry_id" in rule.arguments else {}
        plain = rule.arguments - set(extra)
        args = _args(_Named(plain), province.a) if plain else {}
        with app.test_request_context():
            urls.append(url_for(rule.endpoint, **args, **extra))
    return sorted(set(urls))


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_no_serious_accessibility_violations(
    request: pytest.FixtureRequest,
    app: Flask,
    db: sessionmaker[Session],
    province: Province,
    viewport: str,
) -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run scripts/bootstrap.sh (it installs axe-core from npm)")
    axe = AXE.read_text(encoding="utf-8")
    with db() as session:
        entry = session.scalars(select(LexiconEntry.id).limit(1)).first() or 1
    pages = _pages(app, province, entry)
    found: dict[str, list[str]] = {}
    checked = 0
    with serve(app) as base, chromium_page(request, viewport=VIEWPORTS[viewport]) as page:
        browser.login(page, base, "quantri", PASSWORDS["quantri"])
        for url in pages:
            resp = page.goto(base + url)
            if (
                resp is None
                or resp.status != 200
                or "text/html" not in resp.headers.get("content-type", "")
            ):
                continue
            page.evaluate(axe)
            result: dict[str, Any] = page.evaluate(
                "axe.run(document, {resultTypes: ['violations']})"
            )
            checked += 1
            bad = [
                f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
                for v in result["violations"]
                if v["impact"] in SERIOUS
            ]
            if bad:
                found[url] = bad
    assert checked >= 20, f"only {checked} pages checked"
    assert not found, "axe-core, serious or critical:\n" + "\n".join(
        f"{url}: {v}" for url, vs in sorted(found.items()) for v in vs
    )
