"""Slot and relay forms."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, StringField, SubmitField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from broadcaster.models import WEEKDAYS
from schedules.programme_edit import MAX_RELAY_MINUTES
from web.announcements.programme import DAY_LABELS
from web.forms import REQUIRED, BaseForm, MultiCheckboxField


def _after_start(form: Any, field: Any) -> None:
    if field.data and form.start.data and field.data <= form.start.data:
        raise ValidationError(_l("The slot must end after it starts (on the same day)."))


def _some_days(_form: Any, field: Any) -> None:
    if not field.data:
        raise ValidationError(_l("Choose at least one day."))


def _days_field() -> MultiCheckboxField:
    return MultiCheckboxField(
        _l("On these days"),
        choices=[SelectChoice(d, DAY_LABELS[d]) for d in WEEKDAYS],
        default=list(WEEKDAYS),
        validators=[_some_days],
    )


class SlotForm(BaseForm):
    name = StringField(
        _l("Slot name"),
        validators=[DataRequired(REQUIRED), Length(max=128)],
        render_kw={"maxlength": 128},
    )
    start = TimeField(_l("Starts at"), validators=[InputRequired(REQUIRED)])
    end = TimeField(_l("Ends at"), validators=[InputRequired(REQUIRED), _after_start])
    days = _days_field()
    submit = SubmitField(_l("Save"))


class RelayForm(BaseForm):
    name = StringField(
        _l("Programme relayed"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"maxlength": 200},
    )
    stream_url = StringField(
        _l("Stream address (http or https)"),
        validators=[DataRequired(REQUIRED), Length(max=500)],
        render_kw={"maxlength": 500, "inputmode": "url", "placeholder": "https://"},
    )
    start = TimeField(_l("Starts at"), validators=[InputRequired(REQUIRED)])
    minutes = IntegerField(
        _l("Length (minutes)"),
        validators=[InputRequired(REQUIRED), NumberRange(min=1, max=MAX_RELAY_MINUTES)],
        default=30,
        render_kw={"min": 1, "max": MAX_RELAY_MINUTES},
    )
    days = _days_field()
    zones = MultiCheckboxField(_l("Zones that relay it"), choices=[])
    active = BooleanField(_l("In use (untick to pause it)"), default=True)
    submit = SubmitField(_l("Save"))


class DeleteForm(BaseForm):
    submit = SubmitField(_l("Delete"))
