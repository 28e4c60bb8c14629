"""Forms of the sign-in and account screens; labels and messages are translatable (lazy_gettext)."""

from __future__ import annotations

from babel import Locale
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from mhi.auth.models import PROVIDER_ROLES, ROLES, SCHEME_ROLES, User
from mhi.auth.services import MIN_PASSWORD_LENGTH, PasswordRejected, check_password_rules
from mhi.core.db import db

#: How each role is named on screen.
ROLE_LABELS = {
    "admin": _l("Administrator"),
    "federation_reviewer": _l("Federation reviewer"),
    "scheme_manager": _l("Scheme manager"),
    "clerk": _l("Clerk"),
    "claims_officer": _l("Claims officer"),
    "auditor": _l("Auditor"),
    "funder": _l("Funder"),
    "facility": _l("Health facility desk"),
}


def language_choices() -> list[SelectChoice]:
    """The application's languages, each named in itself (a French speaker looks for "français")."""
    return [SelectChoice(code, Locale.parse(code).get_display_name(code)) for code in current_app.config["LANGUAGES"]]


#: The password rules' refusals (services.PasswordRejected), said in the user's language.
PASSWORD_MESSAGES = {
    "too_short": _l("At least %(n)d characters, mixing letters with digits or other signs.", n=MIN_PASSWORD_LENGTH),
    "one_kind": _l("At least %(n)d characters, mixing letters with digits or other signs.", n=MIN_PASSWORD_LENGTH),
    "common": _l("This password is one of the most used ones, which attackers try first: choose another."),
    "contains_email": _l("The password must not contain the e-mail address or the name in it."),
    "unchanged": _l("The new password must differ from the current one."),
}


def password_rules(email_of, user_of=lambda form: None):
    """A validator applying services.check_password_rules: ``email_of(form)`` is the account's e-mail,
    ``user_of(form)`` the account when it exists (its current password may not be used again)."""

    def validate(form, field):
        user = user_of(form)
        try:
            check_password_rules(
                field.data or "",
                email=email_of(form) or "",
                current_hash_check=user.check_password if user is not None else None,
            )
        except PasswordRejected as exc:
            raise ValidationError(PASSWORD_MESSAGES[exc.reason]) from exc

    return validate


_own_email = password_rules(lambda form: form.user.email, lambda form: form.user)


class LoginForm(FlaskForm):
    """E-mail and password; ``next`` is where to go afterwards (followed only when it stays on the site)."""

    email = StringField(
        _l("E-mail"),
        validators=[DataRequired(), Length(max=254)],
        render_kw={"autocomplete": "username", "autofocus": True, "inputmode": "email"},
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    next = HiddenField()


class PasswordForm(FlaskForm):
    """Change one's own password: the current one, the new one twice."""

    current = PasswordField(
        _l("Current password"), validators=[DataRequired()], render_kw={"autocomplete": "current-password"}
    )
    new = PasswordField(
        _l("New password"), validators=[DataRequired(), _own_email], render_kw={"autocomplete": "new-password"}
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, user: User, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_current(self, field):
        """The current password proves it is the account's owner at the keyboard."""
        if not self.user.check_password(field.data or ""):
            raise ValidationError(_l("This is not your current password."))


class ResetPasswordForm(FlaskForm):
    """An administrator gives an account a new password, to be changed at its next sign-in."""

    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), password_rules(lambda form: form.user.email, lambda form: form.user)],
        description=_l("Give it to the person, who must change it at the next sign-in."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, user: User, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user


class LanguageForm(FlaskForm):
    """The language switch in the page header."""

    lang = HiddenField(validators=[DataRequired()])
    next = HiddenField()

    def validate_lang(self, field):
        """Only the languages the application has."""
        if field.data not in current_app.config["LANGUAGES"]:
            raise ValidationError(_l("Unknown language."))


class AddressForm(FlaskForm):
    """The address whose sign-in failures an administrator forgets (a hidden field of the lift button)."""

    address = HiddenField(validators=[DataRequired(), Length(max=45)])


class UserForm(FlaskForm):
    """An administrator creates an account: scheme roles need a scheme, federation reviewers a federation."""

    email = StringField(
        _l("E-mail"),
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
        validators=[DataRequired(), Length(max=254)],
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    # No default role (issue 16): the first choice is empty and refused, so the administrator picks one.
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("— choose a role —"))] + [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        validators=[DataRequired(message=_l("Choose the role of this person."))],
    )
    scheme = SelectField(_l("Scheme"), coerce=int, description=_l("For the scheme roles."))
    federation = SelectField(_l("Federation"), coerce=int, description=_l("For a federation reviewer."))
    provider = SelectField(
        _l("Health facility"),
        coerce=int,
        default=0,
        description=_l("For a health facility desk: the provider it works for."),
    )
    locale = SelectField(_l("Language"), description=_l("By default, the language of the scheme."))
    password = PasswordField(
        _l("First password"),
        validators=[DataRequired(), password_rules(lambda form: form.email.data)],
        description=_l("Give it to the person, who must change it at the first sign-in."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("First password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Imported here: accounts come before schemes in the feature order (STYLE), the choices need both.
        from mhi.schemes.models import Federation, Provider, Scheme

        schemes = db.session.scalars(select(Scheme).order_by(Scheme.code)).all()
        providers = db.session.execute(
            select(Provider.id, Provider.code, Provider.name, Scheme.code)
            .join(Scheme, Provider.scheme_id == Scheme.id)
            .order_by(Scheme.code, Provider.code)
        ).all()
        self.provider.choices = [SelectChoice(0, "—")] + [
            SelectChoice(pid, f"{scheme_code} · {code} — {name}") for pid, code, name, scheme_code in providers
        ]
        federations = db.session.scalars(select(Federation).order_by(Federation.code)).all()
        self.scheme.choices = [SelectChoice(0, "—")] + [SelectChoice(s.id, f"{s.code} — {s.name}") for s in schemes]
        self.federation.choices = [SelectChoice(0, "—")] + [
            SelectChoice(f.id, f"{f.code} — {f.name}") for f in federations
        ]
        self.locale.choices = [SelectChoice("", _l("The scheme's language"))] + language_choices()

    def validate_email(self, field):
        """An address, and not one that already has an account."""
        local, _at, domain = (field.data or "").partition("@")
        if not local or "." not in domain or " " in field.data:
            raise ValidationError(_l("This is not an e-mail address."))
        if db.session.scalar(select(func.count()).select_from(User).where(User.email == field.data)):
            raise ValidationError(_l("This e-mail already has an account."))

    def validate_scheme(self, field):
        """Scheme roles work inside one scheme."""
        if self.role.data in SCHEME_ROLES and not field.data:
            raise ValidationError(_l("Choose the scheme this person works for."))

    def validate_provider(self, field):
        """A health facility desk works for one provider (and so in that provider's scheme)."""
        if self.role.data in PROVIDER_ROLES and not field.data:
            raise ValidationError(_l("Choose the health facility this person works for."))
        if self.role.data in PROVIDER_ROLES and self.scheme.data:
            from mhi.schemes.models import Provider

            provider = db.session.get(Provider, field.data)
            if provider is not None and provider.scheme_id != self.scheme.data:
                raise ValidationError(_l("This health facility is not a provider of the chosen scheme."))

    def validate_federation(self, field):
        """A federation reviewer reviews one federation."""
        if self.role.data == "federation_reviewer" and not field.data:
            raise ValidationError(_l("Choose the federation this person reviews."))


class TokenForm(FlaskForm):
    """Make an API token for one's own account; blank expiry = 90 days (mhi/auth/tokens.py)."""

    expires_on = DateField(
        _l("Last day the token works"),
        validators=[Optional()],
        description=_l("Leave blank for 90 days; at most a year."),
    )
