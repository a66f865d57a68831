"""Zone and site forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import FloatField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from web.forms import REQUIRED, BaseForm, MultiCheckboxField

SLUG = Regexp(
    r"^[a-z0-9][a-z0-9-]{0,63}$",
    message=_l("Lowercase letters without accents, digits and “-” (e.g. thon-3)."),
)


class ZoneForm(BaseForm):
    zone_id = StringField(_l("Code (in plans and logs)"), validators=[DataRequired(REQUIRED), SLUG])
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=128)])
    unit = SelectField(_l("Commune"), choices=[])
    language = SelectField(_l("Language of its people"), choices=[])
    submit = SubmitField(_l("Save"))


class SiteForm(BaseForm):
    site_id = StringField(_l("Code (in plans and logs)"), validators=[DataRequired(REQUIRED), SLUG])
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=256)])
    unit = SelectField(_l("Commune"), choices=[])
    zones = MultiCheckboxField(_l("Zones it serves"), choices=[])
    output = SelectField(_l("Plays through"), choices=[])
    latitude = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(-180, 180)])
    submit = SubmitField(_l("Save"))


class BundleForm(BaseForm):
    submit = SubmitField(_l("New credentials and agent bundle"))
