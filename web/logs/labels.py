"""Labels of the officers' codes: proof outcomes and why a site played nothing."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
