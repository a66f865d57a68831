"""The merge form: the communes that merge and the one they merge into."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired, ValidationError

from web.forms import REQUIRED, BaseForm, MultiCheckboxField


class MergeForm(BaseForm):
    sources = MultiCheckboxField(
        _l("Communes that merge"), coerce=int, validators=[DataRequired(REQUIRED)]
    )
    into = SelectField(_l("Into"), coerce=int, validators=[DataRequired(REQUIRED)])
    preview = SubmitField(_l("Show what moves"))
    confirm = SubmitField(_l("Merge"))

    def set_choices(self, choices: list[tuple[int, str]]) -> None:
        self.sources.choices = choices  # type: ignore[assignment]
        self.into.choices = choices  # type: ignore[assignment]

    def validate_into(self, field: SelectField) -> None:
        if field.data in (self.sources.data or []):
            raise ValidationError(_l("A commune cannot merge into itself."))

    def hidden_values(self) -> list[tuple[str, Any]]:
        """The checked choices as (name, value) pairs: the confirm step posts them again."""
        return [("sources", s) for s in self.sources.data or []] + [("into", self.into.data)]
