"""The form that starts a live session."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from web.forms import BaseForm, MultiCheckboxField


class StartForm(BaseForm):
    zones = MultiCheckboxField(
        _l("Zones"), validators=[InputRequired(_l("Pick at least one zone."))], choices=[]
    )
    priority = RadioField(
        _l("Priority"),
        choices=[
            SelectChoice("priority", _l("Priority: after the item playing now")),
            SelectChoice("emergency", _l("Emergency: interrupts what is playing at once")),
        ],
        default="priority",
        validators=[InputRequired()],
    )
    start = SubmitField(_l("Go live"))
