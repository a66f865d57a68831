"""Issue 10: security headers on every response, and templates without inline script or style
(the CSP allows neither). The browser side is tests/programme_web/test_browser_csp.py."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORDS
from web.headers import CSP

ROOT = Path(__file__).resolve().parents[2] / "web"
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on… event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def _assert_headers(headers: dict[str, str], what: str) -> None:
    csp = headers.get("Content-Security-Policy", "")
    assert csp == CSP, what
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, what
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") == "same-origin", what


def test_every_kind_of_response_carries_the_headers(app: Flask, client: FlaskClient) -> None:
    responses = {
        "login page": client.get("/login"),
        "404 page": client.get("/announcements/999999"),
        "static file": client.get("/static/style.css"),
        "API 401": client.get("/api/v1/logs"),
    }
    client.post("/login", data={"username": "pheduyet", "password": PASSWORDS["pheduyet"]})
    responses |= {
        "emergency page": client.get("/emergency/"),
        "redirect": client.get("/"),
        "403 page": client.get("/lexicon/"),
    }
    export = client.get("/logs/export.csv")
    export.get_data()  # streamed: read it to the end within the request
    responses["CSV export"] = export
    for what, r in responses.items():
        r.get_data()  # the CSV export streams: read it to the end
        r.close()
        assert r.status_code < 500, what
        _assert_headers(dict(r.headers), what)


def test_no_template_or_generated_markup_has_inline_script_or_style() -> None:
    found = []
    files = [*ROOT.rglob("*.html"), ROOT / "health" / "svgmap.py", ROOT / "reports" / "charts.py"]
    assert len(files) > 30
    for path in files:
        text = path.read_text(encoding="utf-8")
        for pattern, what in INLINE:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []
