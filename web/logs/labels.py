"""Labels of the officers' codes: proof outcomes, why a site played nothing, and the agents'
own words in an event's detail."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from web.i18n import Patterns, worded

OUTCOME = {
    "full": _l("Played fully"),
    "partial": _l("Played partly (interrupted)"),
    "playing": _l("Playing now"),
    "pending": _l("Not yet due"),
    "none": _l("Not played"),
}
REASON = {
    "offline": _l("site offline"),
    "failed": _l("playback failed"),
    "expired": _l("expired before it could play"),
    "rejected": _l("refused by the site"),
    "skipped": _l("skipped (site was off at the time)"),
    "no-report": _l("no report from the site"),
}
OUTCOME_COLOUR = {
    "full": "#dff3e3",
    "partial": "#fff4cc",
    "playing": "#e3efff",
    "pending": None,
    "none": "#fbe0e0",
}


def outcome_text(outcome: str, reason: str = "") -> str:
    text = str(OUTCOME.get(outcome, outcome))
    if outcome == "none" and reason:
        text += f": {REASON.get(reason, reason)}"
    return text


# What an agent writes in an event's detail (broadcaster/agent/runner.py), by its fixed words;
# the variable part (an item id, a reason typed by a person, an error) is kept as it is.
_DETAILS: Patterns = (
    (
        re.compile(r"interrupted by emergency (?P<item>\S+)"),
        _l("interrupted by emergency %(item)s"),
    ),
    (
        re.compile(r"stopped by command: (?P<reason>.+) before it played"),
        _l("stopped by command before it played: %(reason)s"),
    ),
    (re.compile(r"stopped by command before it played"), _l("stopped by command before it played")),
    (re.compile(r"stopped by command: (?P<reason>.+)"), _l("stopped by command: %(reason)s")),
    (re.compile(r"stopped by command"), _l("stopped by command")),
    (re.compile(r"agent stopping"), _l("the site's player was stopping")),
    (
        re.compile(r"agent restarted during playback \(started (?P<at>[^)]+)\)"),
        _l("the site's player restarted during playback (started %(at)s)"),
    ),
    (re.compile(r"media unavailable: (?P<reason>.+)"), _l("audio file unavailable: %(reason)s")),
    (re.compile(r"media unavailable"), _l("audio file unavailable")),
)


def detail_text(detail: str | None) -> str:
    """An event's detail in the request's language where its words are the agent's own; the
    parts of it separated by "; " are read one by one."""
    if not detail:
        return ""
    return "; ".join(worded(_DETAILS, part) for part in detail.split("; "))
