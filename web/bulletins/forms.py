"""The bulletin forms: writing at the sending unit, deciding there, and the commune's inbox."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from broadcaster.wire.plan import PRIORITIES
from web.forms import (
    BaseForm,
    MultiCheckboxField,
    SpokenTextFields,
    local_datetime_field,
    reason_field,
)

# Thông tư 39/2020's classes, as the sender reads them.
CLASS_LABELS = {
    "normal": _l("Normal: each commune decides whether to air it"),
    "priority": _l("Priority: in every commune's next slot, ahead of its own items"),
    "emergency": _l("Emergency: airs at once at every site, interrupting"),
}


class WriteForm(SpokenTextFields):
    priority = SelectField(
        _l("Class"),
        choices=[SelectChoice(p, CLASS_LABELS[p]) for p in PRIORITIES],
        default="normal",
    )
    communes = MultiCheckboxField(
        _l("Communes"),
        validators=[InputRequired(_l("Pick at least one commune."))],
        choices=[],
        coerce=int,
    )
    submit = SubmitField(_l("Send for approval"))


class ApproveForm(BaseForm):
    approve = SubmitField(_l("Approve and send"))


class AcceptForm(BaseForm):
    slot = SelectField(_l("Programme slot"), choices=[], validate_choice=False)
    start_at = local_datetime_field(_l("Or at a time"), validators=[Optional()])
    accept = SubmitField(_l("Accept into our programme"))


class DeclineForm(BaseForm):
    reason = reason_field(
        _l("Reason for declining"), _l("A reason is required to decline."), rows=3
    )
    decline = SubmitField(_l("Decline"))


class OrderForm(BaseForm):
    ahead = SubmitField(_l("The sender's bulletin first"))
    behind = SubmitField(_l("Our own priority items first"))
