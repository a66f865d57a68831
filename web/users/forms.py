"""User administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from broadcaster.accounts import EMAIL_RE, MIN_PASSWORD_CHARS, PHONE_RE, USERNAME_RE
from broadcaster.roles import ROLES
from web.forms import REQUIRED, BaseForm
from web.i18n import ROLE

SHORT_PASSWORD = _l("At least %(n)d characters.", n=MIN_PASSWORD_CHARS)


class ContactFields(BaseForm):
    email = StringField(
        _l("E-mail (for notices)"),
        validators=[
            Optional(),
            Length(max=254),
            Regexp(EMAIL_RE.pattern + "$", message=_l("Not an e-mail address.")),
        ],
    )
    phone = StringField(
        _l("Phone (for SMS notices)"),
        validators=[Optional(), Regexp(PHONE_RE.pattern + "$", message=_l("Not a phone number."))],
    )


class UserFields(ContactFields):
    display_name = StringField(
        _l("Full name"), validators=[DataRequired(REQUIRED), Length(max=128)]
    )
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE[r]) for r in ROLES])
    unit = SelectField(_l("Unit"), choices=[])  # the units in the administrator's scope


class NewUserForm(UserFields):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(REQUIRED),
            Regexp(
                USERNAME_RE.pattern + "$",
                message=_l("Lowercase letters, digits, “.”, “_” or “-” (at most 64)."),
            ),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(REQUIRED), Length(min=MIN_PASSWORD_CHARS, message=SHORT_PASSWORD)],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Create user"))


class EditUserForm(UserFields):
    active = BooleanField(_l("May log in"))
    submit = SubmitField(_l("Save"))


class ResetPasswordForm(BaseForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(REQUIRED), Length(min=MIN_PASSWORD_CHARS, message=SHORT_PASSWORD)],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Set the password"))
