"""Shared form pieces: a FlaskForm whose WTForms messages come from our catalogue, and the
fields the announcement and bulletin forms have in common."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from web.i18n import FormTranslations

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
REQUIRED = _l("This field is required.")
REASON_REQUIRED = _l("A reason is required.")


class BaseForm(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> FormTranslations:
            return FormTranslations()


class MultiCheckboxField(SelectMultipleField):
    """Choices shown as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def local_datetime_field(label: Any, **kwargs: Any) -> DateTimeLocalField:
    """An HTML datetime-local input (minutes), read as the commune's wall-clock time."""
    return DateTimeLocalField(label, format=DATETIME_LOCAL, **kwargs)


def reason_field(label: Any, required: Any = REASON_REQUIRED, rows: int = 2) -> TextAreaField:
    """A reason that must be given, at most 2,000 characters (``required``: the message when
    it is missing)."""
    return TextAreaField(
        label,
        validators=[DataRequired(required), Length(max=2000)],
        render_kw={"rows": rows},
    )


class SpokenTextFields(BaseForm):
    """A title and the text to read out: the announcement form's and the bulletin form's."""

    title = StringField(
        _l("Title"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"maxlength": 200},
    )
    body = TextAreaField(
        _l("Text to read out"), validators=[DataRequired(REQUIRED)], render_kw={"rows": 8}
    )


class RejectForm(BaseForm):
    """The approver's rejection, of an announcement or of a bulletin."""

    reason = reason_field(_l("Reason for rejecting"), _l("A reason is required to reject."), rows=3)
    reject = SubmitField(_l("Reject"))
