"""Forms of the lexicon page: an entry (add or edit), delete, import a file."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from audio.normalize.lexicon import LexiconError, validate_spoken, validate_term
from web.forms import REQUIRED, BaseForm
from web.lexicon.labels import explain_code

MAX_NOTE = 500


class EntryForm(BaseForm):
    term = StringField(
        _l("Written term"), validators=[DataRequired(REQUIRED)], render_kw={"maxlength": 64}
    )
    spoken = StringField(
        _l("Spoken form"), validators=[DataRequired(REQUIRED)], render_kw={"maxlength": 200}
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])
    save = SubmitField(_l("Save"))

    def validate_term(self, field: StringField) -> None:
        try:
            field.data = validate_term(field.data)
        except LexiconError as exc:
            raise ValidationError(explain_code(exc.code, str(field.data or ""))) from None

    def validate_spoken(self, field: StringField) -> None:
        try:
            field.data = validate_spoken(self.term.data, field.data)
        except LexiconError as exc:
            raise ValidationError(explain_code(exc.code)) from None


class DeleteForm(BaseForm):
    delete = SubmitField(_l("Delete"))


class ImportForm(BaseForm):
    file = FileField(
        _l("Lexicon file (YAML or CSV)"),
        validators=[FileRequired(_l("Choose a YAML or CSV file."))],
    )
    upload = SubmitField(_l("Import"))
