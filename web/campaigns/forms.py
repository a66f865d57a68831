"""The campaign form."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from broadcaster.models import CAMPAIGN_CATEGORIES
from web.campaigns.labels import CATEGORY
from web.forms import REQUIRED, BaseForm, MultiCheckboxField


def _after_start(form: Any, field: Any) -> None:
    if field.data and form.starts_on.data and field.data < form.starts_on.data:
        raise ValidationError(_l("The campaign must end on or after its first day."))


class CampaignForm(BaseForm):
    name = StringField(
        _l("Campaign name"),
        validators=[DataRequired(REQUIRED), Length(max=200)],
        render_kw={"maxlength": 200},
    )
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice(c, CATEGORY[c]) for c in CAMPAIGN_CATEGORIES],
        default="giam-ngheo",
    )
    description = TextAreaField(_l("Description"), render_kw={"rows": 3})
    starts_on = DateField(_l("From"), validators=[InputRequired(REQUIRED)])
    ends_on = DateField(_l("Until"), validators=[InputRequired(REQUIRED), _after_start])
    target_per_week = IntegerField(
        _l("Target airings per week in each zone"),
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=100)],
        default=3,
        render_kw={"min": 0, "max": 100},
    )
    zones = MultiCheckboxField(_l("Target zones"), choices=[])
    submit = SubmitField(_l("Save"))
