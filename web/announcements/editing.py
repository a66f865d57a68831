"""The edit form filled from an announcement, its values as a ``lifecycle.Edit``, and the airings
offered for cancelling."""

from __future__ import annotations

from datetime import UTC, datetime

from wtforms.fields.choices import SelectChoice

from broadcaster.models import WEEKDAYS, Announcement
from schedules.lifecycle import Edit, UpcomingAiring
from schedules.recurrence import Recurrence, RecurrenceError
from web.announcements import programme
from web.announcements.forms import AnnouncementForm, CancelAiringForm
from web.i18n import format_local, to_local


def fill(form: AnnouncementForm, ann: Announcement) -> None:
    """Put the announcement's values in the (unposted) form."""
    item = ann.schedule[0]
    form.title.data = ann.title
    form.body.data = ann.body
    form.zones.data = [z.id for z in ann.zones]
    form.priority.data = ann.priority
    form.repeat.data = str(ann.repeat)
    form.start_at.data = kept_start(ann)
    form.campaign.data = str(ann.campaign_id) if ann.campaign_id else ""
    form.slot.data = str(item.slot_id) if item.slot_id else ""
    if not item.rrule:
        return
    try:
        rec = Recurrence.from_rrule(item.rrule)
    except RecurrenceError:
        return  # a rule the editor cannot show (from a programme file): the form shows none
    form.recurs.data = True
    form.days.data = list(rec.days)
    form.interval.data = rec.interval
    form.times.data = ", ".join(f"{t:%H:%M}" for t in rec.times)
    if rec.until is not None:
        form.ends.data, form.until.data = "until", rec.until
    elif rec.count is not None:
        form.ends.data, form.count.data = "count", rec.count
    else:
        form.ends.data = "never"


def kept_start(ann: Announcement) -> datetime:
    """The first airing as the form shows it (local, to the minute)."""
    return to_local(ann.schedule[0].start_at).replace(tzinfo=None, second=0, microsecond=0)


def change(form: AnnouncementForm) -> Edit:
    """The posted form as an edit; ProgrammeError when its programme part is inconsistent."""
    values = programme.programme_values(form)
    return Edit(
        title=form.title.data or "",
        body=form.body.data or "",
        zone_ids=tuple(form.zones.data or ()),
        priority=form.priority.data,
        start_at=values["start_at"],
        rrule=values["rrule"],
        slot_id=values["slot_id"],
        campaign_id=values["campaign_id"],
        repeat=int(form.repeat.data) if form.repeat.data else None,
    )


def airing_value(item_id: int, start: datetime) -> str:
    return f"{item_id}:{int(start.timestamp())}"


def parse_airing(value: str) -> tuple[int, datetime] | None:
    """``"<item id>:<epoch seconds>"`` → (item id, aware UTC start); None when malformed."""
    item, sep, epoch = value.partition(":")
    if not sep or not item.isdigit() or not epoch.isdigit() or len(epoch) > 12:
        return None
    if int(item) > 2**63 - 1:
        return None
    return int(item), datetime.fromtimestamp(int(epoch), UTC)


def airing_label(start: datetime) -> str:
    """ "T2 07/12/2026 06:00": the weekday in the user's language, then the local time."""
    day = programme.DAY_LABELS[WEEKDAYS[to_local(start).weekday()]]
    return f"{day} {format_local(start)}"


def cancel_choices(form: CancelAiringForm, airings: list[UpcomingAiring]) -> None:
    form.airing.choices = [
        SelectChoice(airing_value(a.item_id, a.start), airing_label(a.start))
        for a in airings
        if not a.cancelled
    ]
