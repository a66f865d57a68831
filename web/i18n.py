"""Languages (Vietnamese first, English too), local times and the labels of stored codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request, session
from flask_babel import Babel, get_locale, get_translations, lazy_ngettext, lazy_pgettext
from flask_babel import lazy_gettext as _l

from broadcaster.config import Settings
from web.services import now, services

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}

ANNOUNCEMENT_STATUS = {
    "draft": _l("Draft"),
    "submitted": _l("Awaiting approval"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
}
PLAYBACK_STATUS = {
    "scheduled": _l("Scheduled"),
    "started": _l("Playing"),
    "finished": _l("Played"),
    "failed": _l("Failed"),
    "skipped": _l("Skipped"),
    "interrupted": _l("Interrupted"),
    "rejected": _l("Refused by the site"),
    "expired": _l("Expired"),
    "received": _l("Command received"),
}
# Thông tư 39/2020's three classes. A context of their own: "Priority" alone is the field's
# label ("Mức ưu tiên"), not the class ("Ưu tiên").
PRIORITY = {
    "normal": lazy_pgettext("priority class", "Normal"),
    "priority": lazy_pgettext("priority class", "Priority"),
    "emergency": lazy_pgettext("priority class", "Emergency"),
}
ROLE = {
    "editor": _l("Editor"),
    "approver": _l("Approver"),
    "officer": _l("Officer"),
    "admin": _l("Administrator"),
}

# WTForms' own messages, so that they are extracted into our catalogue (WTForms has no Vietnamese).
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Not a valid datetime value."),
    _l("Not a valid choice."),
    _l("'%(value)s' is not a valid choice for this field."),
    lazy_ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        1,
    ),
    _l("The CSRF token is missing."),
    _l("The CSRF token is invalid."),
    _l("The CSRF token has expired."),
    _l("The CSRF tokens do not match."),
    _l("The CSRF session token is missing."),
)


class FormTranslations:
    """WTForms translations backed by our own catalogue (``Meta.get_translations``).

    WTForms formats the strings itself, so these return them unformatted.
    """

    def gettext(self, string: str) -> str:
        return str(get_translations().ugettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return str(get_translations().ungettext(singular, plural, n))


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        return lang
    stored = session.get("lang")
    if stored in LANGUAGES:
        return str(stored)
    return services().settings.default_locale


def local_tz() -> ZoneInfo:
    return ZoneInfo(services().settings.timezone)


def to_local(dt: datetime) -> datetime:
    return dt.astimezone(local_tz())


def from_local(naive: datetime) -> datetime:
    """A naive wall-clock time in the commune's timezone → aware UTC."""
    return naive.replace(tzinfo=local_tz()).astimezone(UTC)


def local_now() -> datetime:
    """The app clock's now as a naive wall-clock time in the commune's timezone."""
    return now().astimezone(local_tz()).replace(tzinfo=None)


def default_airing(when: datetime | None = None) -> datetime:
    """Now + 1 minute, rounded up to the next whole minute (naive local time)."""
    t = (when or local_now()) + timedelta(minutes=1)
    if t.second or t.microsecond:
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return t


def label(table: dict[str, Any], code: str | None) -> str:
    """A code's words in the request's language from one of the tables above ("—" for none)."""
    return str(table.get(code or "", code or "—"))


Patterns = tuple[tuple[re.Pattern[str], Any], ...]


def worded(patterns: Patterns, text: str) -> str:
    """``text`` written by a program in fixed English words (an agent's event detail, an
    alert's) in the request's language: the first pattern it matches whole gives the words, its
    named groups (ids, figures, what a person typed) kept as they are; else ``text`` itself."""
    for pattern, words in patterns:
        m = pattern.fullmatch(text)
        if m:
            return str(words) % m.groupdict() if m.groupdict() else str(words)
    return text


def format_local(dt: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """Jinja filter ``localtime``: an aware datetime shown in the commune's timezone."""
    if dt is None:
        return "—"
    return to_local(dt).strftime(fmt)


def format_duration(ms: int | None) -> str:
    if ms is None:
        return "—"
    seconds = ms // 1000 if ms >= 1000 else (1 if ms > 0 else 0)  # as audio players show it
    return f"{seconds // 60}:{seconds % 60:02d}"


def lang_url(code: str) -> str:
    args = request.args.to_dict()
    args["lang"] = code
    from urllib.parse import urlencode

    return f"{request.path}?{urlencode(args)}"


def _remember_language() -> None:
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang


def translation_directories() -> list[str]:
    """The shared catalogue plus one per feature (``web/<feature>/translations``), so features
    keep their own strings; Flask-Babel merges them."""
    root = Path(__file__).parent
    return [str(root / "translations")] + sorted(
        str(p) for p in root.glob("*/translations") if p.is_dir()
    )


def init_app(app: Flask, settings: Settings) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(translation_directories())
    app.config["BABEL_DEFAULT_LOCALE"] = settings.default_locale
    app.config["BABEL_DEFAULT_TIMEZONE"] = settings.timezone
    Babel(app, locale_selector=select_locale)
    app.before_request(_remember_language)
    app.add_template_filter(format_local, "localtime")
    app.add_template_filter(format_duration, "duration")

    app.jinja_env.globals.update(
        status_label=lambda c: label(ANNOUNCEMENT_STATUS, c),
        playback_label=lambda c: label(PLAYBACK_STATUS, c),
        priority_label=lambda c: label(PRIORITY, c),
        role_label=lambda c: label(ROLE, c),
        lang_url=lang_url,
        LANGUAGES=LANGUAGES,
    )

    @app.context_processor
    def _locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale())}
