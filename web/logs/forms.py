from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SubmitField
from wtforms.validators import Optional

from web.forms import BaseForm


class LogFilterForm(BaseForm):
    """A GET filter: nothing changes on the server, so no CSRF token."""

    class Meta:
        csrf = False

    date = DateField(_l("Date"), validators=[Optional()])
    submit = SubmitField(_l("Filter"))
