"""The main menu's mark on the link to the page shown (``aria-current="page"``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import Flask, request
from markupsafe import Markup


def is_current(href: str) -> bool:
    """``href`` names the page of this request: the same path, and every argument it sets has
    the request's value (the log with filters is still the log)."""
    parts = urlsplit(href)
    if parts.path != request.path:
        return False
    return all(request.args.get(key) == value for key, value in parse_qsl(parts.query))


def aria_current(href: str, narrower: tuple[str, ...] | list[str] = ()) -> Markup:
    """`` aria-current="page"`` for the link to this page, else nothing. ``narrower`` are the
    menu's other links to the same page with more arguments ("To approve" is the announcements
    filtered to those waiting): where one of them is current, it is marked instead."""
    if is_current(href) and not any(is_current(other) for other in narrower):
        return Markup(' aria-current="page"')
    return Markup("")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(aria_current=aria_current)
