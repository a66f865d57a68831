"""Every page in Vietnamese (issue 13): walked from ``app.url_map`` as the province
administrator with ``?lang=vi``; no English shows. English is found two ways: a user-facing
English source string (a catalogue msgid of two words or more) shown as is, and English
function words, which Vietnamese text never uses."""

from __future__ import annotations

import glob
import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from broadcaster.models import (
    ANNOUNCEMENT_STATES,
    CAMPAIGN_CATEGORIES,
    PLAYBACK_STATES,
    LexiconEntry,
)
from broadcaster.roles import ROLES
from broadcaster.wire.plan import PRIORITIES
from tests.scope.conftest import PASSWORDS, Province
from tests.scope.test_route_scope import _args

ROOT = Path(__file__).resolve().parents[2]
ENGLISH_WORDS = re.compile(
    r"\b(the|and|is|are|was|were|of|for|with|not|has|have|this|that|from|by|your|please|"
    r"cannot|must|should|which|been|scheduled|finished|failed|interrupted|skipped|expired)\b",
    re.I,
)
# Stored codes shown instead of their labels (issue 13: labels, not codes, on every page).
RAW_CODES = re.compile(
    r"(?<![\w/#.-])("
    + "|".join(
        sorted(
            {
                *PLAYBACK_STATES,
                *ANNOUNCEMENT_STATES,
                *PRIORITIES,
                *CAMPAIGN_CATEGORIES,
                *ROLES,
            }
        )
    )
    + r")(?![\w/-])"
)
# Shown on purpose: the names of the two languages, and what users typed that is not prose.
ALLOWED = ("English",)
SKIP_ENDPOINTS = {"api.openapi", "media.get", "live.audio"}  # for machines, not pages


class _Visible(HTMLParser):
    """The text a reader sees or hears: text outside script/style/code, and the labels of
    controls (aria-label, placeholder, title, alt, button values)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre"):
            self._hidden += 1
        a = dict(attrs)
        for name in ("aria-label", "placeholder", "title", "alt"):
            if a.get(name):
                self.parts.append(a[name] or "")
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.parts.append(a["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _english_sources() -> list[str]:
    """Catalogue msgids (English) of two words or more whose Vietnamese differs."""
    out = set()
    for po in glob.glob(
        str(ROOT / "web/**/translations/vi/LC_MESSAGES/messages.po"), recursive=True
    ):
        with open(po, "rb") as f:
            for m in read_po(f):
                msgid = m.id if isinstance(m.id, str) else (m.id[0] if m.id else "")
                text = re.sub(r"%\(\w+\)[sd]", "", msgid).strip(" .:")
                if len(text.split()) >= 2 and m.string and m.string != m.id:
                    out.add(text)
    return sorted(out, key=len, reverse=True)


class _Named:
    """A rule's arguments alone, for ``_args``."""

    def __init__(self, arguments: set[str]) -> None:
        self.arguments = arguments
        self.endpoint = ""


def test_no_english_on_any_vietnamese_page(
    app: Flask, client: FlaskClient, db: sessionmaker[Session], province: Province
) -> None:
    resp = client.post("/login", data={"username": "quantri", "password": PASSWORDS["quantri"]})
    assert resp.status_code == 302
    sources = _english_sources()
    with db() as session:
        entry = session.scalars(select(LexiconEntry.id).limit(1)).first() or 1
    leaks: dict[str, list[str]] = {}
    pages = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in SKIP_ENDPOINTS:
            continue
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        extra = {"entry_id": entry} if "entry_id" in rule.arguments else {}
        plain = rule.arguments - set(extra)
        args = _args(_Named(plain), province.a) if plain else {}
        with app.test_request_context():
            url = url_for(rule.endpoint, **args, **extra)
        resp = client.get(url, query_string={"lang": "vi"})
        body = resp.get_data()  # streamed exports too: read to the end
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        pages += 1
        text = visible_text(body.decode())
        for word in ALLOWED:
            text = text.replace(word, "")
        found = [s for s in sources if s in text]
        found += sorted({m.group(0) for m in ENGLISH_WORDS.finditer(text)})
        found += sorted({m.group(0) for m in RAW_CODES.finditer(text)})
        if found:
            leaks[url] = found[:8]
    assert pages >= 24, f"only {pages} pages walked"
    assert not leaks, "English on Vietnamese pages:\n" + "\n".join(
        f"{url}: {words}" for url, words in sorted(leaks.items())
    )
