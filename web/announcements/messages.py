"""Workflow errors in the user's language.

``WorkflowError`` carries an English sentence with ids in it; the patterns below map the known
ones to translated sentences, and anything else is shown after a translated prefix.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.i18n import ANNOUNCEMENT_STATUS

_PATTERNS = [
    (re.compile(r"^title is empty"), _l("The title is empty.")),
    (
        re.compile(r"^title is \d+ characters long"),
        _l("The title is too long: at most 200 characters."),
    ),
    (re.compile(r"^text is empty"), _l("The text is empty.")),
    (
        re.compile(r"^text is (?P<n>\d+) characters long; at most (?P<max>\d+)"),
        _l("The text is %(n)s characters long; at most %(max)s."),
    ),
    (
        re.compile(r"text is (?P<n>\d+) characters long; the limit is (?P<max>\d+)"),
        _l("The text is %(n)s characters long; at most %(max)s."),
    ),
    (re.compile(r"announcement text is empty"), _l("The text is empty.")),
    (re.compile(r"^pick at least one zone"), _l("Pick at least one zone.")),
    (re.compile(r"^unknown zones: (?P<zones>.*)"), _l("Unknown zones: %(zones)s.")),
    (re.compile(r"^unknown priority"), _l("Unknown priority.")),
    (re.compile(r"airing time has no timezone"), _l("The airing time has no timezone.")),
    (
        re.compile(r" is (?P<status>\w+); only drafts can be submitted"),
        _l("Only drafts and rejected announcements can be submitted; this one is: %(status)s."),
    ),
    (
        re.compile(r" is (?P<status>\w+); only submitted ones can be approved"),
        _l("Only announcements awaiting approval can be approved; this one is: %(status)s."),
    ),
    (
        re.compile(r" is (?P<status>\w+); only submitted ones can be rejected"),
        _l("Only announcements awaiting approval can be rejected; this one is: %(status)s."),
    ),
    (re.compile(r"has no rendered audio"), _l("This announcement has no audio yet.")),
    (
        re.compile(r"has passed or is too close"),
        _l("The airing time has passed or is too close; choose a later time."),
    ),
    (re.compile(r"^a reason is required"), _l("A reason is required to reject.")),
]


def explain(exc: Exception) -> str:
    text = str(exc)
    for pattern, message in _PATTERNS:
        m = pattern.search(text)
        if m:
            params = m.groupdict()
            if "status" in params:
                params["status"] = str(ANNOUNCEMENT_STATUS.get(params["status"], params["status"]))
            return str(message) % params if params else str(message)
    return _("The request could not be completed: %(detail)s", detail=text)
