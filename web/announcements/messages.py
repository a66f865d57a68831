"""Workflow errors in the user's language (``web.errors`` shows them; recordings add their own).

``WorkflowError`` and ``NotAllowed`` carry a stable ``code`` and the values their message names
(``params``): those are translated by code. Other errors (e.g. the audio layer's ValueErrors)
are matched by the patterns below, and anything else is shown after a translated prefix.
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


_BY_CODE = {
    "cannot-write": _l("Your role cannot write announcements."),
    "title-empty": _l("The title is empty."),
    "title-long": _l("The title is too long: at most 200 characters."),
    "text-empty": _l("The text is empty."),
    "text-long": _l("The text is %(n)s characters long; at most %(max)s."),
    "unknown-priority": _l("Unknown priority."),
    "naive-time": _l("The airing time has no timezone."),
    "unknown-campaign": _l("Unknown campaign."),
    "bad-repeat": _l("The number of times said must be between 1 and %(max)s."),
    "not-author": _l("Only the author may submit this announcement."),
    "not-draft": _l(
        "Only drafts and rejected announcements can be submitted; this one is: %(status)s."
    ),
    "not-submitted": _l(
        "Only announcements awaiting approval can be approved; this one is: %(status)s."
    ),
    "not-submitted-reject": _l(
        "Only announcements awaiting approval can be rejected; this one is: %(status)s."
    ),
    "no-audio": _l("This announcement has no audio yet."),
    "too-late": _l("The airing time has passed or is too close; choose a later time."),
    "reason-required": _l("A reason is required to reject."),
    "cannot-approve": _l("Your role cannot approve announcements."),
    "own-announcement": _l("You wrote this announcement: another approver must decide on it."),
    "out-of-scope": _l("This announcement is outside your units."),
    "no-zone": _l("Pick at least one zone."),
    "unknown-zones": _l("Unknown zones: %(zones)s."),
    "unknown-slot": _l("Unknown programme slot."),
    "ends-before-start": _l("The end date is before the first airing."),
    "unspeakable": _l("The text has nothing to read out: write it in words."),
    "not-author-edit": _l("Only the author may edit this announcement."),
    "not-editable-state": _l("This announcement cannot be edited; it is: %(status)s."),
    "emergency-fixed": _l("An emergency broadcast cannot be changed: stop it instead."),
    "cannot-cancel": _l("Your role cannot cancel this announcement."),
    "already-withdrawn": _l("This announcement was withdrawn already."),
    "cancel-reason-required": _l("A reason is required."),
    "not-approved-cancel": _l(
        "Only airings of an approved announcement can be cancelled; this one is: %(status)s."
    ),
    "airing-passed": _l("That airing has already begun."),
    "no-such-airing": _l("The announcement has no airing at that time."),
    "emergency-stopped": _l("This emergency broadcast was stopped already."),
    "campaign-name-empty": _l("The campaign needs a name."),
    "campaign-ends-before-start": _l("The campaign must end on or after its first day."),
    # Bulletins down the tree (schedules/bulletins.py)
    "not-upper-unit": _l("Bulletins are sent from a province or another upper unit."),
    "no-commune": _l("Pick at least one commune."),
    "unknown-communes": _l("Unknown communes: %(communes)s."),
    "not-sending-unit": _l("Another approver of the sending unit decides on this bulletin."),
    "no-slot": _l("There is no programme slot to place a priority bulletin in."),
    "cannot-accept": _l("Your role cannot take bulletins into the programme."),
    "not-commune-staff": _l("Only the commune's own staff decide on its inbox."),
    "delivery-state": _l("This bulletin has already been handled in this commune."),
    "slot-or-time": _l("Choose a programme slot or a time."),
    "decline-reason-required": _l("A reason is required to decline."),
}


def explain(exc: Exception) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code in _BY_CODE:
        params = dict(getattr(exc, "params", {}) or {})
        if "status" in params:
            params["status"] = str(ANNOUNCEMENT_STATUS.get(params["status"], params["status"]))
        try:
            return (
                str(_BY_CODE[code]) % params if "%(" in str(_BY_CODE[code]) else str(_BY_CODE[code])
            )
        except (KeyError, TypeError, ValueError):  # a message naming a value the error lacks
            pass
    text = str(exc)
    for pattern, message in _PATTERNS:
        m = pattern.search(text)
        if m:
            params = m.groupdict()
            if "status" in params:
                params["status"] = str(ANNOUNCEMENT_STATUS.get(params["status"], params["status"]))
            return str(message) % params if params else str(message)
    return _("The request could not be completed: %(detail)s", detail=text)
