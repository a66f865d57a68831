"""Shared form pieces: a FlaskForm whose WTForms messages come from our catalogue."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from web.i18n import FormTranslations

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


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


REQUIRED = _l("This field is required.")
