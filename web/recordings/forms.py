"""Forms of the recordings panel: upload a file in a language, remove a version."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

from broadcaster.models import RECORDING_LANGUAGES
from web.forms import BaseForm
from web.recordings.labels import LANGUAGE_NAMES


def language_choices() -> list[SelectChoice]:
    return [SelectChoice(code, LANGUAGE_NAMES[code]) for code in RECORDING_LANGUAGES]


class RecordingForm(BaseForm):
    language = SelectField(_l("Language of the recording"), choices=language_choices())
    file = FileField(_l("Audio file"), validators=[FileRequired(_l("Choose an audio file."))])
    source = HiddenField(default="upload")
    upload = SubmitField(_l("Upload recording"))


class RemoveForm(BaseForm):
    remove = SubmitField(_l("Remove"))
