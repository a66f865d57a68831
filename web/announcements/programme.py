"""The programme part of the announcement form: campaign, recurrence, slot, and clash checks.

``ProgrammeFields`` is the base of the announcement form; :func:`programme_values` turns its
fields into ``workflow.create_announcement`` arguments (an RRULE from the friendly editor, the
first airing, the slot, the campaign); :func:`check_only` runs ``schedules.checks`` on a draft
that is never saved (a SAVEPOINT rolled back), so people see clashes before saving.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from broadcaster.models import WEEKDAYS, Campaign, Relay, ScheduleItem, Site, Slot, User
from broadcaster.scope import Scope
from schedules import workflow
from schedules.checks import Finding, check_announcement
from schedules.recurrence import Recurrence, RecurrenceError, first_on_or_after
from web.forms import BaseForm, MultiCheckboxField
from web.i18n import from_local
from web.services import now

logger = logging.getLogger(__name__)

DAY_LABELS = {
    "MO": _l("Mon"),
    "TU": _l("Tue"),
    "WE": _l("Wed"),
    "TH": _l("Thu"),
    "FR": _l("Fri"),
    "SA": _l("Sat"),
    "SU": _l("Sun"),
}
CLASH_LABELS = {
    "moved": _l("Moved later"),
    "overflow": _l("Does not fit in the slot"),
    "overlap": _l("Overlaps another airing"),
}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:hH.]([0-5]\d)$")


class ProgrammeError(ValueError):
    """A programme field is invalid; the message is already translated."""


def _times(_form: Any, field: Any) -> None:
    try:
        parse_times(field.data or "")
    except ProgrammeError as exc:
        raise ValidationError(str(exc)) from None


def parse_times(text: str) -> tuple[time, ...]:
    """``"06:00, 17h30"`` → (06:00, 17:30); ProgrammeError names the bad part."""
    out = []
    for part in filter(None, (p.strip() for p in re.split(r"[,;\s]+", text))):
        m = _TIME.match(part)
        if not m:
            raise ProgrammeError(str(_l("Not a time of day: %(part)s (write 06:00)", part=part)))
        out.append(time(int(m.group(1)), int(m.group(2))))
    return tuple(out)


class ProgrammeFields(BaseForm):
    """Campaign, "in the next slot", and the friendly recurrence editor."""

    campaign = SelectField(_l("Campaign"), choices=[], default="")
    slot = SelectField(_l("Air in the next slot"), choices=[], default="")
    recurs = BooleanField(_l("Repeat"))
    days = MultiCheckboxField(
        _l("On these days"), choices=[SelectChoice(d, DAY_LABELS[d]) for d in WEEKDAYS]
    )
    interval = IntegerField(
        _l("Every N days"),
        validators=[Optional(), NumberRange(min=1, max=366)],
        default=1,
        render_kw={"min": 1, "max": 366},
    )
    times = StringField(
        _l("Times of day"), validators=[_times], render_kw={"placeholder": "06:00, 17:30"}
    )
    ends = RadioField(
        _l("Ends"),
        choices=[
            SelectChoice("never", _l("Never")),
            SelectChoice("until", _l("On a date")),
            SelectChoice("count", _l("After a number of airings")),
        ],
        default="never",
    )
    until = DateField(_l("Last day"), validators=[Optional()])
    count = IntegerField(
        _l("Number of airings"),
        validators=[Optional(), NumberRange(min=1, max=1000)],
        render_kw={"min": 1, "max": 1000},
    )
    check = SubmitField(_l("Check for clashes"))


def fill_choices(form: ProgrammeFields, session: Session, scope: Scope) -> None:
    campaigns = session.scalars(
        select(Campaign).where(scope.campaigns()).order_by(Campaign.ends_on.desc(), Campaign.name)
    )
    form.campaign.choices = [SelectChoice("", _l("No campaign"))] + [
        SelectChoice(str(c.id), c.name) for c in campaigns
    ]
    slots = session.scalars(select(Slot).order_by(Slot.start, Slot.id))
    form.slot.choices = [SelectChoice("", _l("No: at the time given"))] + [
        SelectChoice(str(s.id), f"{s.name} ({s.start:%H:%M}–{s.end:%H:%M})") for s in slots
    ]


def recurrence(form: ProgrammeFields) -> Recurrence | None:
    """The editor's recurrence, or None for a single airing; ProgrammeError if inconsistent."""
    if not form.recurs.data:
        return None
    until = form.until.data if form.ends.data == "until" else None
    count = form.count.data if form.ends.data == "count" else None
    if form.ends.data == "until" and until is None:
        raise ProgrammeError(str(_l("Give the last day of the repetition.")))
    if form.ends.data == "count" and count is None:
        raise ProgrammeError(str(_l("Give the number of airings.")))
    if until is not None and form.start_at.data and until < form.start_at.data.date():
        raise ProgrammeError(str(_l("The last day is before the first airing.")))
    try:
        return Recurrence(
            days=tuple(form.days.data or ()),
            interval=form.interval.data or 1,
            times=parse_times(form.times.data or ""),
            until=until,
            count=count,
        )
    except RecurrenceError as exc:
        raise ProgrammeError(str(exc)) from None


def programme_values(form: ProgrammeFields) -> dict[str, Any]:
    """``create_announcement`` arguments: start_at, rrule, slot_id, campaign_id."""
    start_local: datetime = form.start_at.data
    rec = recurrence(form)
    rrule = ""
    if rec is not None:
        rrule = rec.to_rrule()
        # With times of day, the first airing is the first of them on the chosen day.
        start_local = first_on_or_after(rec, start_local.date(), start_local.time())
    return {
        "start_at": from_local(start_local),
        "rrule": rrule,
        "slot_id": int(form.slot.data) if form.slot.data else None,
        "campaign_id": int(form.campaign.data) if form.campaign.data else None,
    }


@dataclass(frozen=True)
class FindingRow:
    """A clash, ready to show: names instead of ids."""

    site: str
    kind: str
    label: str
    nominal: datetime
    blocked_by: tuple[str, ...]
    proposed: datetime | None


def describe(session: Session, findings: list[Finding]) -> list[FindingRow]:
    sites = {s.id: s.name for s in session.scalars(select(Site))}
    rows = []
    for f in findings:
        rows.append(
            FindingRow(
                site=sites.get(f.site_id, f.site_id),
                kind=f.kind,
                label=str(CLASH_LABELS.get(f.kind, f.kind)),
                nominal=f.nominal,
                blocked_by=tuple(_name(session, key) for key in f.blocked_by),
                proposed=f.proposed,
            )
        )
    return rows


def _name(session: Session, key: str) -> str:
    """The title behind an occurrence id (``s<item>-<epoch>``) or a relay label."""
    m = re.match(r"^s(\d+)-\d+(?:-r)?$", key)  # an airing, or its replay (issue 13)
    if m:
        item = session.get(ScheduleItem, int(m.group(1)))
        return item.announcement.title if item is not None else key
    m = re.match(r"^relay-(\d+)$", key)
    if m:
        relay = session.get(Relay, int(m.group(1)))
        return relay.name if relay is not None else key
    return key


def check_only(session: Session, user: User, values: dict[str, Any]) -> list[FindingRow]:
    """Clashes of the announcement ``values`` would create, without saving anything."""
    savepoint = session.begin_nested()
    try:
        ann = workflow.create_announcement(session, user, **values, now=now())
        return describe(session, check_announcement(session, ann, now=now()))
    finally:
        savepoint.rollback()


def clash_warning(n: int) -> str:
    """The flash shown after saving a draft whose airings clash."""
    from flask_babel import ngettext

    return ngettext(
        "Saved, but %(num)d airing clashes in the next 7 days: use Check for clashes to see it.",
        "Saved, but %(num)d airings clash in the next 7 days: use Check for clashes to see them.",
        n,
    )


def describe_rrule(text: str) -> str:
    """A recurrence in words ("Every day; at 06:00, 17:30; until 31/12/2026"); "" for none."""
    from flask_babel import gettext, ngettext

    if not text:
        return ""
    try:
        rec = Recurrence.from_rrule(text)
    except RecurrenceError:
        return text  # a rule the editor cannot show: as written
    if rec.interval == 1:
        parts = [gettext("Every day")]
    else:
        parts = [gettext("Every %(n)d days", n=rec.interval)]
    if rec.days:
        parts.append(gettext("on %(days)s", days=", ".join(str(DAY_LABELS[d]) for d in rec.days)))
    if rec.times:
        parts.append(gettext("at %(times)s", times=", ".join(f"{t:%H:%M}" for t in rec.times)))
    if rec.until is not None:
        parts.append(gettext("until %(day)s", day=f"{rec.until:%d/%m/%Y}"))
    if rec.count is not None:
        parts.append(ngettext("%(num)d airing in all", "%(num)d airings in all", rec.count))
    return "; ".join(parts)
