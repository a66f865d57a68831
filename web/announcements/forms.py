from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from broadcaster.models import DEFAULT_REPEAT, MAX_REPEAT
from broadcaster.wire.plan import PRIORITIES
from web.announcements.programme import ProgrammeFields
from web.forms import (
    REQUIRED,
    BaseForm,
    MultiCheckboxField,
    SpokenTextFields,
    local_datetime_field,
    reason_field,
)
from web.i18n import PRIORITY, local_now

PICK_ZONE = _l("Pick at least one zone.")


def _in_future(form: Any, field: Any) -> None:
    # An edit may keep a series' first airing, though it has passed (``kept_start``).
    if field.data is not None and field.data == getattr(form, "kept_start", None):
        return
    if field.data is not None and field.data <= local_now():
        raise ValidationError(_l("The airing time must be in the future."))


class AnnouncementForm(SpokenTextFields, ProgrammeFields):
    """The title and text (shared with the bulletin form), zones, airing and programme."""

    zones = MultiCheckboxField(_l("Zones"), validators=[InputRequired(PICK_ZONE)], choices=[])
    priority = SelectField(
        _l("Priority"), choices=[SelectChoice(p, PRIORITY[p]) for p in PRIORITIES], default="normal"
    )
    start_at = local_datetime_field(
        _l("Airing time"), validators=[InputRequired(REQUIRED), _in_future]
    )
    # How many times it is said (repeats after "Xin nhắc lại"); follows the priority until the
    # author picks a number (repeat_default.js); a post without it defaults by priority.
    repeat = SelectField(
        _l("Times said"),
        choices=[SelectChoice(str(n), str(n)) for n in range(1, MAX_REPEAT + 1)],
        default=str(DEFAULT_REPEAT["normal"]),
        render_kw={"data-defaults": ",".join(f"{p}:{n}" for p, n in DEFAULT_REPEAT.items())},
    )
    submit = SubmitField(_l("Save draft"))


class SubmitForm(BaseForm):
    submit = SubmitField(_l("Submit for approval"))


class ApproveForm(BaseForm):
    start_at = local_datetime_field(_l("Airing time"), validators=[InputRequired(REQUIRED)])
    approve = SubmitField(_l("Approve"))


class EditForm(AnnouncementForm):
    """The announcement form on an existing announcement (``kept_start``: its first airing as
    stored, allowed though past)."""

    submit = SubmitField(_l("Save changes"))


class DuplicateForm(BaseForm):
    duplicate = SubmitField(_l("Duplicate"))


class WithdrawForm(BaseForm):
    reason = reason_field(_l("Reason for withdrawing"))
    withdraw = SubmitField(_l("Withdraw the announcement"))


class CancelAiringForm(BaseForm):
    """One airing (``<item id>:<epoch seconds>``), and whether the later ones go with it."""

    airing = SelectField(_l("Airing"), choices=[], validators=[InputRequired(REQUIRED)])
    scope = RadioField(
        _l("Cancel"),
        choices=[
            SelectChoice("airing", _l("Only this airing")),
            SelectChoice("rest", _l("This airing and all later ones")),
        ],
        default="airing",
    )
    reason = reason_field(_l("Reason for cancelling"))
    cancel = SubmitField(_l("Cancel the airing"))
