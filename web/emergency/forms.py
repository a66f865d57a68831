"""The two forms of an emergency: compose (step 1) and confirm (step 2)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from schedules.emergency import MAX_REASON
from web.forms import BaseForm, MultiCheckboxField

REASON_REQUIRED = _l("A reason is required for an emergency broadcast.")


def _message_given(form: Any, field: Any) -> None:
    if not form.source.data and not (field.data or "").strip():
        raise ValidationError(_l("Type the message, or pick a recorded announcement."))


def _title_given(form: Any, field: Any) -> None:
    if not form.source.data and not (field.data or "").strip():
        raise ValidationError(_l("Give the message a title."))


class ComposeForm(BaseForm):
    zones = MultiCheckboxField(
        _l("Zones"), validators=[InputRequired(_l("Pick at least one zone."))], choices=[]
    )
    source = SelectField(_l("Message"), choices=[], default="")
    title = StringField(
        _l("Title"), validators=[_title_given, Length(max=200)], render_kw={"maxlength": 200}
    )
    text = TextAreaField(_l("Text to read out"), validators=[_message_given], render_kw={"rows": 5})
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(REASON_REQUIRED), Length(max=MAX_REASON)],
        render_kw={"rows": 2, "maxlength": MAX_REASON},
    )
    submit = SubmitField(_l("Review before sending"))


class ConfirmForm(BaseForm):
    zones = HiddenField(validators=[DataRequired()])
    source = HiddenField()
    title = HiddenField()
    text = HiddenField()
    reason = HiddenField(validators=[DataRequired(REASON_REQUIRED)])
    # No audio field: the server picks the audio (web.emergency.routes._previewed_media).
    send = SubmitField(_l("Broadcast now"))


class StopForm(BaseForm):
    reason = TextAreaField(
        _l("Reason for stopping"),
        validators=[DataRequired(_l("A reason is required to stop.")), Length(max=MAX_REASON)],
        render_kw={"rows": 2, "maxlength": MAX_REASON},
    )
    stop = SubmitField(_l("Stop the emergency broadcast"))
