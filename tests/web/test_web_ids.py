"""Issue 10: ids out of range (≥ 2^63, negative, absurdly long) are a 404 on every route that
takes one, never a 500 from the database driver (the attack found 13 such routes)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORDS

BAD_IDS = (str(2**63), str(2**64 + 5), "9" * 40, "-1", "-9223372036854775809")
PLACEHOLDER = re.compile(r"<(?:int:)?(\w+)>")


def _int_rules(app: Flask) -> list[tuple[str, str, list[str]]]:
    """(rule, method, names of its int parts) for every route with an int converter."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.websocket:
            continue  # a plain request gets 400 there whatever the id (tests/live asks it)
        ints = [
            name
            for name, conv in rule._converters.items()
            if conv.__class__.__name__ == "IdConverter"
        ]
        if not ints:
            continue
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        out.append((rule.rule, method, ints))
    return out


def test_every_int_route_uses_the_bounded_converter(app: Flask) -> None:
    rules = _int_rules(app)
    assert len(rules) >= 13, rules
    plain = [
        r.rule
        for r in app.url_map.iter_rules()
        for c in r._converters.values()
        if c.__class__.__name__ == "IntegerConverter"
    ]
    assert plain == []


@pytest.mark.parametrize("user", ["quantri", "canbo"])
def test_out_of_range_ids_are_404_on_every_route(
    app: Flask, client: FlaskClient, user: str
) -> None:
    client.post("/login", data={"username": user, "password": PASSWORDS[user]})
    seen = []
    for rule, method, _ints in _int_rules(app):
        for bad in BAD_IDS:
            path = PLACEHOLDER.sub(lambda m, bad=bad: bad, rule)  # every part, int or not
            r = client.open(path, method=method)
            seen.append((path, r.status_code))
            assert r.status_code == 404, (method, path, r.status_code)
    assert len(seen) >= 13 * len(BAD_IDS)


def test_out_of_range_ids_in_queries_and_forms(app: Flask, client: FlaskClient) -> None:
    client.post("/login", data={"username": "quantri", "password": PASSWORDS["quantri"]})
    for bad in BAD_IDS:
        assert client.get(f"/api/recordings?announcement_id={bad}").status_code == 404
        r = client.post(
            "/emergency/send",
            data={"zones": "thon-1", "source": bad, "title": "", "text": "", "reason": "x"},
        )
        assert r.status_code in (302, 422), r.status_code  # refused as a form, not a 500
