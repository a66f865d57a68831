"""Labels of health levels and alert kinds, and alerts' details in the user's language."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from web.i18n import Patterns, worded

LEVEL = {
    "ok": _l("Healthy"),
    "warning": _l("Needs attention"),
    "critical": _l("Offline"),
    "unknown": _l("Never reported"),
}
ALERT = {
    "offline": _l("Offline too long"),
    "failures": _l("Repeated failures"),
    "stale-plan": _l("Stale plan"),
    "clock-drift": _l("Clock drift"),
    "rejected": _l("Messages refused"),
}
# broadcaster.alerts.alerts_for's details, by their fixed words.
DETAILS: Patterns = (
    (re.compile(r"offline for (?P<m>\d+) min"), _l("offline for %(m)s min")),
    (re.compile(r"no heartbeat for (?P<m>\d+) min"), _l("no heartbeat for %(m)s min")),
    (re.compile(r"(?P<n>\d+) failed playbacks in 24 h"), _l("%(n)s failed playbacks in 24 h")),
    (
        re.compile(r"runs plan v(?P<have>\d+), v(?P<new>\d+) published (?P<m>\d+) min ago"),
        _l("runs plan v%(have)s, v%(new)s published %(m)s min ago"),
    ),
    (re.compile(r"clock off by (?P<ms>-?\d+) ms"), _l("clock off by %(ms)s ms")),
    (
        re.compile(r"(?P<n>\d+) messages refused in 24 h; last: (?P<last>.*)", re.S),
        _l("%(n)s messages refused in 24 h; last: %(last)s"),
    ),
)


def alert_detail(detail: str) -> str:
    return worded(DETAILS, detail)
