"""Forms of the set-up screens: a federation, a scheme, a scheme's settings (card layout and traffic-light
thresholds, indicators.md "Thresholds"). Labels and messages are translatable; errors show beside the field."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from babel import Locale
from babel.numbers import get_currency_name
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import FormField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, ValidationError

from mhi.auth.forms import language_choices
from mhi.core.db import db
from mhi.core.formatting import display_locale
from mhi.core.limits import DateField, IntegerField
from mhi.core.money import MINOR_UNITS
from mhi.core.numbers import LocaleDecimalField, locale_number
from mhi.core.validation import CODE_RE, FieldError, amount
from mhi.schemes.models import Federation, Scheme
from mhi.schemes.settings import (
    BANDED,
    DEFAULT_THRESHOLDS,
    HIGHER_IS_BETTER,
    THRESHOLD_KEYS,
    bound_names,
    check_bounds,
    direction,
)

CODE_MESSAGE = _l("Capital letters, digits, - and _ only, at most 20 characters.")
AMOUNT_MESSAGE = _l(
    "Write an amount with digits and '.' as the decimal separator, at least 0, with no more "
    "decimals than the currency has."
)

#: Names of the indicators that have a traffic light (indicators.md), for the settings form.
INDICATOR_LABELS = {
    "collection_rate": _l("Collection rate"),
    "retention_rate": _l("Retention rate"),
    "incurred_claims_ratio": _l("Incurred claims ratio"),
    "expense_ratio": _l("Expense ratio"),
    "reserve_months": _l("Reserve (months of claims)"),
    "liquidity_ratio": _l("Liquidity ratio"),
    "median_days_to_payment": _l("Median days to payment"),
    "claim_rejection_ratio": _l("Claim rejection ratio"),
}
CARD_LAYOUT_LABELS = {"person": _l("One card per person"), "household": _l("One card per household")}


def _ui_locale() -> Locale:
    """The Babel locale of the page, for the names of currencies, countries and languages."""
    return get_locale() or Locale.parse("en")


def currency_choices() -> list[SelectChoice]:
    """Currencies mhi knows the minor units of, with their names in the user's language."""
    locale = _ui_locale()
    return [SelectChoice(code, f"{code} — {get_currency_name(code, locale=locale)}") for code in sorted(MINOR_UNITS)]


def country_choices() -> list[SelectChoice]:
    """ISO 3166 countries by name in the user's language."""
    names = {code: name for code, name in _ui_locale().territories.items() if len(code) == 2 and code.isalpha()}
    # Accents aside for the order, as a reader expects (Bénin next to Belgique, not after Burundi).
    return [SelectChoice(code, name) for code, name in sorted(names.items(), key=lambda item: _plain(item[1]))]


def _plain(text: str) -> str:
    """``text`` without accents, in lower case: a sort key close enough to the dictionary order."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def scheme_locale_choices(scheme: Scheme) -> list[SelectChoice]:
    """Locales for the scheme's printed documents: each language with the scheme's country (fr_SN, en_IN)."""
    codes = [display_locale(lang, scheme.country) for lang in current_app.config["LANGUAGES"]]
    if scheme.locale and scheme.locale not in codes:
        codes.append(scheme.locale)
    return [SelectChoice(code, Locale.parse(code).get_display_name(_ui_locale())) for code in codes]


def _not_negative(form, field):
    """Counts and bounds are never negative (a value that could not be read already has its message)."""
    if isinstance(field.data, Decimal) and not field.data.is_finite():
        # DecimalField reads "NaN" and "Infinity"; comparing NaN raises (tests/trust found it as a 500).
        raise ValidationError(_l("Must be at least 0."))
    if field.data is not None and field.data < 0:
        raise ValidationError(_l("Must be at least 0."))


def _unique_code(model):
    """A validator refusing a code already used by another ``model`` row."""

    def check(form, field):
        if db.session.scalar(select(func.count()).select_from(model).where(model.code == field.data)):
            raise ValidationError(_l("This code is already used."))

    return check


def _upper(value):
    """Codes are capitals (data-formats.md); accept what was typed in lower case."""
    return value.strip().upper() if isinstance(value, str) else value


class FederationForm(FlaskForm):
    """A new federation (its pool rules come from federation.json)."""

    code = StringField(
        _l("Code"),
        filters=[_upper],
        validators=[DataRequired(), Regexp(CODE_RE, message=CODE_MESSAGE), _unique_code(Federation)],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    currency = SelectField(_l("Currency"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = currency_choices()


class SchemeForm(FlaskForm):
    """A new scheme; products, programmes and providers are added afterwards."""

    code = StringField(
        _l("Code"),
        filters=[_upper],
        validators=[DataRequired(), Regexp(CODE_RE, message=CODE_MESSAGE), _unique_code(Scheme)],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    currency = SelectField(_l("Currency"), validators=[DataRequired()])
    federation = SelectField(
        _l("Federation"),
        coerce=int,
        validators=[Optional()],
        description=_l("A scheme in a federation has the federation's currency."),
    )
    language = SelectField(_l("Language of printed documents"), validators=[DataRequired()])
    target_population = IntegerField(_l("Target population"), default=0, validators=[InputRequired(), _not_negative])
    opening_date = DateField(_l("Opening date"), validators=[InputRequired()])
    opening_reserve = StringField(
        _l("Opening reserve"), default="0", validators=[DataRequired()], filters=[locale_number]
    )
    opening_cash = StringField(_l("Opening cash"), default="0", validators=[DataRequired()], filters=[locale_number])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.currency.choices = currency_choices()
        self.language.choices = language_choices()
        federations = db.session.scalars(select(Federation).order_by(Federation.code)).all()
        self.federation.choices = [SelectChoice(0, "—")] + [
            SelectChoice(f.id, f"{f.code} — {f.name} ({f.currency})") for f in federations
        ]

    def validate_federation(self, field):
        """data-formats.md: a scheme in a federation shares its currency."""
        if field.errors:
            return  # not one of the choices: no federation to look up (a forged id may not even fit the column)
        federation = self.chosen_federation()
        if federation is not None and federation.currency != self.currency.data:
            raise ValidationError(
                _l("This federation keeps its accounts in %(currency)s.", currency=federation.currency)
            )

    def validate_opening_reserve(self, field):
        """An amount in the scheme's currency (conventions.md "Money")."""
        field.amount = _amount(field.data, self.currency.data)

    def validate_opening_cash(self, field):
        """An amount in the scheme's currency (conventions.md "Money")."""
        field.amount = _amount(field.data, self.currency.data)

    def chosen_federation(self) -> Federation | None:
        """The federation picked, or None for a scheme on its own."""
        return db.session.get(Federation, self.federation.data) if self.federation.data else None


def _amount(text: str, currency: str | None) -> Decimal:
    """Read an amount typed in a form or say why it cannot be read."""
    try:
        return amount(text, currency if currency in MINOR_UNITS else None)
    except FieldError as exc:
        raise ValidationError(AMOUNT_MESSAGE) from exc


class _SubForm(FlaskForm):
    """A group of fields inside a form: no token of its own (the outer form has it), messages translated."""

    class Meta:
        csrf = False


class _OneWayBounds(_SubForm):
    """Green and red bounds of an indicator where one direction is good; blank keeps the default."""

    green = LocaleDecimalField(rate=True, label=_l("Green"), places=None, validators=[Optional(), _not_negative])
    red = LocaleDecimalField(rate=True, label=_l("Red"), places=None, validators=[Optional(), _not_negative])


class _BandBounds(_SubForm):
    """The incurred claims ratio is good inside a band: too low, members get little back; too high, deficit."""

    green_low = LocaleDecimalField(
        rate=True, label=_l("Green from"), places=None, validators=[Optional(), _not_negative]
    )
    green_high = LocaleDecimalField(
        rate=True, label=_l("Green to"), places=None, validators=[Optional(), _not_negative]
    )
    red_low = LocaleDecimalField(rate=True, label=_l("Red below"), places=None, validators=[Optional(), _not_negative])
    red_high = LocaleDecimalField(rate=True, label=_l("Red above"), places=None, validators=[Optional(), _not_negative])


def _threshold_field(key: str) -> FormField:
    """The sub-form of one indicator, its labels saying which way is good."""
    return FormField(_BandBounds if key in BANDED else _OneWayBounds, label=INDICATOR_LABELS[key])


class SchemeSettingsForm(FlaskForm):
    """What a scheme manager changes: name, target population, locale, card layout, thresholds."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    target_population = IntegerField(_l("Target population"), validators=[InputRequired(), _not_negative])
    locale = SelectField(_l("Language and formats of printed documents"), validators=[DataRequired()])
    card_layout = RadioField(
        _l("Membership cards"),
        choices=[SelectChoice(k, v) for k, v in CARD_LAYOUT_LABELS.items()],
        validators=[DataRequired()],
    )
    override_approval_above = StringField(
        _l("Overrides above this amount need a second officer's approval"),
        validators=[Optional(), Length(max=30)],
        description=_l("Blank: one officer's override is enough."),
    )
    quorum_share = LocaleDecimalField(
        _l("Quorum of general assemblies and board meetings"),
        rate=True,
        places=4,
        validators=[Optional()],
        description=_l("The share of the members entitled who must attend, e.g. 50 % or 0.5. Blank: one half."),
    )
    collection_rate = _threshold_field("collection_rate")
    retention_rate = _threshold_field("retention_rate")
    incurred_claims_ratio = _threshold_field("incurred_claims_ratio")
    expense_ratio = _threshold_field("expense_ratio")
    reserve_months = _threshold_field("reserve_months")
    liquidity_ratio = _threshold_field("liquidity_ratio")
    median_days_to_payment = _threshold_field("median_days_to_payment")
    claim_rejection_ratio = _threshold_field("claim_rejection_ratio")

    def validate_quorum_share(self, field) -> None:
        """A share of the members: more than 0, at most all of them."""
        if field.data is not None and not (0 < field.data <= 1):
            raise ValidationError(_l("The quorum is a share between 0 and 100 %."))

    def __init__(self, scheme: Scheme, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = scheme_locale_choices(scheme)
        for key in THRESHOLD_KEYS:
            for name in bound_names(key):
                getattr(self, key)[name].render_kw = {
                    "placeholder": str(DEFAULT_THRESHOLDS[key][name]),
                    "inputmode": "decimal",
                }

    def threshold_field_sets(self):
        """(indicator key, sub-form, which way is good) in the order of indicators.md, for the template."""
        for key in THRESHOLD_KEYS:
            yield key, getattr(self, key), direction(key)

    def threshold_overrides(self) -> dict[str, dict[str, Decimal]]:
        """The bounds filled in, by indicator (blank means "the default")."""
        result = {}
        for key in THRESHOLD_KEYS:
            values = {name: value for name, value in getattr(self, key).data.items() if value is not None}
            if values:
                result[key] = values
        return result

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then each indicator's bounds in order (red beyond green), defaults filling blanks."""
        ok = super().validate(extra_validators)
        for key in THRESHOLD_KEYS:
            sub = getattr(self, key)
            if sub.errors:
                continue
            values = {n: v for n, v in sub.data.items() if v is not None}
            if check_bounds(key, {**DEFAULT_THRESHOLDS[key], **values}):
                first = sub[bound_names(key)[0]]
                first.errors = [*first.errors, _order_message(key)]
                ok = False
        return ok


def _order_message(key: str):
    """Why the bounds of ``key`` are refused, in words that say which way is good."""
    if key in BANDED:
        return _l("Keep red below ≤ green from ≤ green to ≤ red above.")
    if key in HIGHER_IS_BETTER:
        return _l("Higher is better here: red must be at most green.")
    return _l("Lower is better here: red must be at least green.")


# -- the scheme's set-up on screen (mhi/schemes/setup.py) ---------------------------------------------------------

PROVIDER_KIND_LABELS = {
    "health_post": _l("health post"),
    "health_centre": _l("health centre"),
    "hospital": _l("hospital"),
    "clinic": _l("clinic"),
    "pharmacy": _l("pharmacy"),
    "laboratory": _l("laboratory"),
    "other": _l("other"),
}
EXPENSE_CATEGORY_LABELS = {
    "staff": _l("staff"),
    "premises": _l("premises"),
    "transport": _l("transport"),
    "printing": _l("printing"),
    "training": _l("training"),
    "other": _l("other"),
}
TARIFF_HELP = _l("The most a bill is admitted at for this benefit; leave empty for no cap.")


class ProviderForm(FlaskForm):
    """A provider's name, kind and contract dates (its code only when it is new)."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)], description=CODE_MESSAGE)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=list(PROVIDER_KIND_LABELS.items()))
    contract_from = DateField(_l("Contract from"), validators=[DataRequired()])
    contract_to = DateField(_l("Contract to"), validators=[Optional()], description=_l("Empty: no end date."))


class ProviderEditForm(ProviderForm):
    """Editing: the code does not change (claims and exports name the provider by it)."""

    code = None


def tariff_form(codes: list[str], *, dated: bool):
    """A form with one amount box per benefit code (``tariff_<code>``) and, for an amendment, its start date."""

    class TariffForm(FlaskForm):
        pass

    if dated:
        TariffForm.effective_from = DateField(
            _l("New tariffs from"),
            validators=[DataRequired()],
            description=_l("Claims for care before this day keep the old tariffs."),
        )
    for code in codes:
        setattr(
            TariffForm,
            f"tariff_{code}",
            StringField(
                code, validators=[Optional(), Length(max=20)], filters=[locale_number], description=TARIFF_HELP
            ),
        )
    return TariffForm


def tariff_values(form, codes: list[str]) -> dict[str, str]:
    """Benefit code → the typed amount ('' for no cap)."""
    return {code: (form[f"tariff_{code}"].data or "").strip() for code in codes}


class ProgrammeForm(FlaskForm):
    """A new subsidy programme with its first terms."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=20)], description=CODE_MESSAGE)
    funder = StringField(_l("Funder"), validators=[DataRequired(), Length(max=200)])
    categories = StringField(
        _l("Household categories"),
        validators=[DataRequired(), Length(max=400)],
        description=_l("Separated by commas, e.g. standard, indigent."),
    )
    share = StringField(
        _l("Share of the contribution"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("Between 0 and 1, e.g. 0.5 for half."),
    )
    valid_from = DateField(_l("From"), validators=[DataRequired()])
    valid_to = DateField(_l("To"), validators=[Optional()], description=_l("Empty: no end date."))


class ProgrammeEditForm(FlaskForm):
    """A programme's funder and end date."""

    funder = StringField(_l("Funder"), validators=[DataRequired(), Length(max=200)])
    valid_to = DateField(_l("To"), validators=[Optional()], description=_l("Empty: no end date."))


class ProgrammeTermsForm(FlaskForm):
    """New terms of a programme from a date: periods starting before it keep the old terms."""

    effective_from = DateField(
        _l("New terms from"),
        validators=[DataRequired()],
        description=_l("Contribution periods starting before this day keep the old terms."),
    )
    categories = StringField(
        _l("Household categories"),
        validators=[DataRequired(), Length(max=400)],
        description=_l("Separated by commas, e.g. standard, indigent."),
    )
    share = StringField(
        _l("Share of the contribution"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("Between 0 and 1, e.g. 0.5 for half."),
    )


def split_categories(text: str) -> list[str]:
    """``standard, indigent`` → ``["standard", "indigent"]`` (blanks dropped)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class ExpenseForm(FlaskForm):
    """An expense entered in the book (expenses.csv's fields)."""

    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=40)])
    date = DateField(_l("Date"), validators=[DataRequired()])
    category = SelectField(_l("Category"), choices=list(EXPENSE_CATEGORY_LABELS.items()))
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)], filters=[locale_number])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=500)])


class ExpenseReverseForm(FlaskForm):
    """Why an expense is reversed (required)."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
