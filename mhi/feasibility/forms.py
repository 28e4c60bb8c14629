"""Forms of the feasibility screens: the study form that walks a promoter through feasibility.md's inputs (help
text on each assumption, services as repeated rows), making a product of a study, and editing a product
version's rules.

Every value of a study is kept as typed (text) and checked once, by ``method.parse_study``: its errors, each
with its field path (``services[2].unit_cost``), are put back beside the field they concern. No inline script:
"add a row" is a submit button that re-shows the form with one more blank row.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mhi.core import validation as v
from mhi.core.errors import say
from mhi.core.limits import DateField, fits
from mhi.core.numbers import locale_number, locale_rate
from mhi.core.validation import FieldError
from mhi.schemes.models import Benefit

#: Blank service rows offered below the filled ones, and the fewest rows a new study shows.
BLANK_ROWS = 2
FIRST_ROWS = 5
_SPLIT = re.compile(r"[\s,;]+")


def _strip(value):
    """Surrounding blanks are never meant."""
    return value.strip() if isinstance(value, str) else value


#: Numbers are read as the user's locale writes them (``1 250,50``; a rate also as ``80 %``): mhi.core.numbers.
NUMBER = [_strip, locale_number]
RATE = [_strip, locale_rate]


class ServiceForm(SubForm):
    """One benefit of the study (feasibility.md "Input" ``services``)."""

    code = StringField(_l("Code"), filters=[_strip], description=_l("A short code, e.g. OPD."))
    name = StringField(_l("Name"), filters=[_strip])
    frequency = StringField(
        _l("Frequency"),
        filters=NUMBER,
        description=_l("Cases per beneficiary per year (0.90 = 9 cases per 10 people a year)."),
    )
    unit_cost = StringField(
        _l("Unit cost"), filters=NUMBER, description=_l("Average cost of a case at the negotiated tariff.")
    )
    coverage_rate = StringField(
        _l("Coverage rate"), filters=RATE, description=_l("Share the scheme pays: 1 − co-payment (0.80).")
    )
    ceiling_per_case = StringField(
        _l("Ceiling per case"), filters=NUMBER, description=_l("Most the scheme pays for one case (optional).")
    )


class StudyForm(FlaskForm):
    """The whole study input; ``study_data`` turns it into a study JSON for ``parse_study``."""

    name = StringField(_l("Name of the study"), filters=[_strip], validators=[Length(max=200)])
    scheme = SelectField(
        _l("Scheme"), description=_l("The scheme the study is for (none for a scheme not yet founded).")
    )
    currency = StringField(_l("Currency"), filters=[_strip], description=_l("ISO 4217 code, e.g. XOF or INR."))
    target_population = StringField(
        _l("Target population"), filters=NUMBER, description=_l("People the scheme could enrol.")
    )
    household_size = StringField(
        _l("Household size"), filters=NUMBER, description=_l("Average number of people in a household (6).")
    )
    insurance_effect = StringField(
        _l("Insurance effect"),
        filters=RATE,
        description=_l("How much more care members use once insured: 0.10 = 10 % more than today."),
    )
    loading_admin = StringField(
        _l("Loading: administration"), filters=RATE, description=_l("Share for running costs (0.15).")
    )
    loading_reserve = StringField(
        _l("Loading: reserve"), filters=RATE, description=_l("Share set aside to build reserves (0.05).")
    )
    loading_safety = StringField(
        _l("Loading: safety margin"),
        filters=RATE,
        description=_l("Share against claims higher than expected (0.05)."),
    )
    loading_basis = RadioField(
        _l("Loadings are shares of"),
        choices=[
            SelectChoice("gross", _l("the contribution (gross)")),
            SelectChoice("pure", _l("the pure premium (pure)")),
        ],
        default="gross",
        description=_l("Gross: the same basis as the expense ratio. A study uses one basis, never both."),
    )
    rounding = StringField(
        _l("Round the contribution up to"),
        filters=NUMBER,
        description=_l("A multiple such as 500; leave blank to round to the currency's smallest unit."),
    )
    subsidy_share = StringField(
        _l("Subsidy share"), filters=RATE, description=_l("Part of the contribution a funder pays (0.5).")
    )
    per_capita_income = StringField(
        _l("Income per person per year"), filters=NUMBER, description=_l("To judge whether members can pay.")
    )
    willingness_to_pay = TextAreaField(
        _l("Willingness to pay (survey)"),
        filters=[_strip],
        description=_l("Survey answers per person per year, separated by spaces (optional)."),
    )
    fixed_costs = StringField(
        _l("Fixed costs per year"), filters=NUMBER, description=_l("Staff, office, training: whatever the size.")
    )
    variable_cost_per_beneficiary = StringField(
        _l("Variable cost per beneficiary"), filters=NUMBER, description=_l("Cards, registers, per person a year.")
    )
    collection_rate = StringField(
        _l("Collection rate"), filters=RATE, description=_l("Share of contributions actually collected (0.90).")
    )
    renewal_rate = StringField(
        _l("Renewal rate"), filters=RATE, description=_l("Share of beneficiaries who renew each year (0.80).")
    )
    new_enrolment = StringField(
        _l("New beneficiaries per year"),
        filters=[_strip],
        description=_l("One number per projection year, separated by spaces: 1800 900 900."),
    )
    waiting_period_months = StringField(
        _l("Waiting period (months)"), filters=NUMBER, description=_l("Newcomers claim nothing for this long.")
    )
    opening_reserve = StringField(
        _l("Opening reserve"), filters=NUMBER, description=_l("Money the scheme starts with (optional).")
    )
    services = FieldList(FormField(ServiceForm), label=_l("Services"), min_entries=FIRST_ROWS)
    add_service = SubmitField(_l("Add a service row"))
    save = SubmitField(_l("Run and save"))

    #: The study fields typed as plain text, copied as they are into the study JSON.
    TEXT_FIELDS = (
        "name",
        "currency",
        "household_size",
        "insurance_effect",
        "loading_basis",
        "rounding",
        "subsidy_share",
        "per_capita_income",
        "fixed_costs",
        "variable_cost_per_beneficiary",
        "collection_rate",
        "renewal_rate",
        "opening_reserve",
    )
    OPTIONAL_FIELDS = frozenset({"rounding", "opening_reserve"})
    SERVICE_FIELDS = ("code", "name", "frequency", "unit_cost", "coverage_rate", "ceiling_per_case")

    def __init__(self, *args, **kwargs):
        """``services_errors`` holds the messages about the list of services as a whole."""
        super().__init__(*args, **kwargs)
        self.services_errors: list[str] = []
        self._rows: list[int] = []

    def study_data(self) -> dict[str, Any]:
        """The study JSON of what was typed (blank service rows left out); numbers stay text until parse_study."""
        data: dict[str, Any] = {}
        for key in self.TEXT_FIELDS:
            value = getattr(self, key).data
            if value in (None, ""):
                if key not in self.OPTIONAL_FIELDS:
                    data[key] = None
                continue
            data[key] = value
        currency = self.currency.data
        if currency:
            data["currency"] = currency.upper()
        data["target_population"] = _whole(self.target_population.data)
        data["waiting_period_months"] = _whole(self.waiting_period_months.data)
        data["loadings"] = {
            "admin": self.loading_admin.data or None,
            "reserve": self.loading_reserve.data or None,
            "safety": self.loading_safety.data or None,
        }
        answers = [a for a in _SPLIT.split(self.willingness_to_pay.data or "") if a]
        if answers:
            data["willingness_to_pay"] = answers
        data["new_enrolment"] = [_whole(n) for n in _SPLIT.split(self.new_enrolment.data or "") if n] or None
        services, self._rows = [], []
        for index, entry in enumerate(self.services):
            row = {key: entry.form[key].data for key in self.SERVICE_FIELDS}
            if not any(row.values()):
                continue
            self._rows.append(index)
            services.append({key: value for key, value in row.items() if value not in (None, "")})
        data["services"] = services or None
        return data

    def show_errors(self, errors: list[tuple[str, str]]) -> None:
        """Put each ``(path, message)`` of ``StudyError`` beside its field; call after ``study_data``."""
        for path, message in errors:
            field, prefix = self._field_for(path)
            text = f"{prefix}{say(message)}"
            if field is None:
                if path.startswith("services"):
                    self.services_errors.append(text)
                else:
                    self.form_errors.append(f"{path}: {text}" if path else text)
                continue
            field.errors = [*field.errors, text]

    def _field_for(self, path: str):
        """The form field a study path names, and a prefix saying which item of a list it is."""
        match = re.fullmatch(r"services\[(\d+)\]\.(\w+)", path)
        if match:
            index, key = int(match.group(1)), match.group(2)
            if index < len(self._rows) and key in self.SERVICE_FIELDS:
                return self.services[self._rows[index]].form[key], ""
            return None, ""
        match = re.fullmatch(r"services\[(\d+)\]", path)
        if match:
            return None, _("row %(row)s: ", row=int(match.group(1)) + 1)
        match = re.fullmatch(r"loadings\.(admin|reserve|safety)", path)
        if match:
            return getattr(self, f"loading_{match.group(1)}"), ""
        if path == "loadings":
            return self.loading_admin, ""
        match = re.fullmatch(r"willingness_to_pay\[(\d+)\]", path)
        if match:
            return self.willingness_to_pay, _("answer %(n)s: ", n=int(match.group(1)) + 1)
        match = re.fullmatch(r"new_enrolment\[(\d+)\]", path)
        if match:
            return self.new_enrolment, _("year %(n)s: ", n=int(match.group(1)) + 1)
        if path in self._fields and path not in ("services", "csrf_token"):
            return self._fields[path], ""
        return None, ""


def study_form_data(data: dict[str, Any]) -> dict[str, Any]:
    """The form's initial values from a saved study input (the reverse of ``StudyForm.study_data``)."""
    loadings = data.get("loadings") or {}
    values = {key: _as_text(data.get(key)) for key in StudyForm.TEXT_FIELDS}
    values.update(
        target_population=_as_text(data.get("target_population")),
        waiting_period_months=_as_text(data.get("waiting_period_months")),
        loading_admin=_as_text(loadings.get("admin")),
        loading_reserve=_as_text(loadings.get("reserve")),
        loading_safety=_as_text(loadings.get("safety")),
        willingness_to_pay=" ".join(_as_text(a) for a in data.get("willingness_to_pay") or []),
        new_enrolment=" ".join(_as_text(n) for n in data.get("new_enrolment") or []),
        services=[
            {key: _as_text(service.get(key)) for key in StudyForm.SERVICE_FIELDS}
            for service in data.get("services") or []
        ],
    )
    values["loading_basis"] = values["loading_basis"] or "gross"
    return values


def add_blank_rows(form: StudyForm, count: int = BLANK_ROWS) -> None:
    """Offer ``count`` blank service rows below the filled ones (at least FIRST_ROWS rows in all)."""
    for _row in range(max(count, FIRST_ROWS - len(form.services))):
        form.services.append_entry()


#: A rule's count of days is at most a century: dates plus waiting periods stay within the calendar.
MAX_DAYS = 36500


def _days(text, *, minimum: int = 0) -> int:
    """A number of days in a product's rules (``minimum`` … MAX_DAYS)."""
    return v.whole(text, minimum=minimum, maximum=MAX_DAYS)


def _whole(text: str | None):
    """A whole number when the text is one, else the text (parse_study then says what is wrong with it)."""
    if text in (None, ""):
        return None
    return int(text) if text.isdigit() else text


def _as_text(value) -> str:
    """A saved value back as the text of a field."""
    return "" if value is None else str(value)


# ------------------------------------------------------------------------------------------------- products


class ProductFromStudyForm(FlaskForm):
    """Make a product of a study: its scheme (for a study not yet attached), code, name, how it is charged."""

    scheme = SelectField(_l("Scheme"))
    code = StringField(
        _l("Product code"),
        filters=[lambda x: x.strip().upper() if isinstance(x, str) else x],
        validators=[DataRequired(), Length(max=20)],
        description=_l("Capital letters, digits, - and _, at most 20 characters."),
    )
    name = StringField(_l("Product name"), filters=[_strip], validators=[DataRequired(), Length(max=200)])
    period_months = RadioField(
        _l("Contribution charged"),
        choices=[SelectChoice("1", _l("per person per month")), SelectChoice("12", _l("per person per year"))],
        default="12",
        validators=[InputRequired()],
    )
    effective_from = DateField(
        _l("Effective from"),
        validators=[InputRequired()],
        description=_l("The product starts as a draft; it applies once a manager activates it."),
    )
    newborn_days = IntegerField(
        _l("Newborns covered from birth if registered within (days)"),
        validators=[Optional(), NumberRange(min=0, max=366)],
        description=_l("Blank: no newborn rule; newborns wait like everyone."),
    )


class NewVersionForm(FlaskForm):
    """Start a new version of a product from a date."""

    effective_from = DateField(
        _l("Effective from"),
        validators=[InputRequired()],
        description=_l("Rules never change retroactively: today or later, after the product's last version."),
    )


class BenefitForm(SubForm):
    """One benefit row of a product version."""

    code = StringField(_l("Code"), filters=[_strip])
    name = StringField(_l("Name"), filters=[_strip], validators=[fits(Benefit.name)])
    kind = SelectField(
        _l("Kind"), choices=[SelectChoice("service", _l("share of a bill")), SelectChoice("cash", _l("fixed amount"))]
    )
    coverage_rate = StringField(_l("Coverage rate"), filters=RATE)
    amount = StringField(_l("Amount"), filters=NUMBER)
    ceiling_per_case = StringField(_l("Ceiling per case"), filters=NUMBER)
    ceiling_per_year = StringField(_l("Ceiling per year"), filters=NUMBER)
    max_cases_per_year = StringField(_l("Cases per year"), filters=NUMBER)
    waiting_period_days = StringField(_l("Waiting (days)"), filters=NUMBER)
    # Limits to some persons (adjudication.md check 3): blank = everyone.
    sex = SelectField(
        _l("For sex"),
        choices=[SelectChoice("", _l("everyone")), SelectChoice("F", _l("women")), SelectChoice("M", _l("men"))],
        default="",
    )
    min_age_years = StringField(_l("From age"), filters=NUMBER)
    max_age_years = StringField(_l("Up to age"), filters=NUMBER)


class VersionForm(FlaskForm):
    """A draft version's rules: the contribution and its terms, and the benefits as rows."""

    effective_from = DateField(_l("Effective from"), validators=[InputRequired()])
    basis = SelectField(
        _l("Contribution per"),
        choices=[SelectChoice("person", _l("person")), SelectChoice("household", _l("household"))],
    )
    amount = StringField(_l("Contribution"), filters=NUMBER, validators=[DataRequired()])
    period_months = SelectField(
        _l("Due every"),
        choices=[SelectChoice("1", _l("month")), SelectChoice("3", _l("quarter")), SelectChoice("12", _l("year"))],
    )
    registration_fee = StringField(_l("Registration fee"), filters=NUMBER, default="0")
    waiting_period_days = StringField(_l("Waiting period (days)"), filters=NUMBER, default="0")
    grace_period_days = StringField(_l("Grace period (days)"), filters=NUMBER, default="0")
    lapse_after_days = StringField(_l("Struck off after (days unpaid)"), filters=NUMBER, validators=[Optional()])
    submission_limit_days = StringField(_l("Claims accepted within (days)"), filters=NUMBER, validators=[Optional()])
    newborn_days = StringField(
        _l("Newborns covered from birth if registered within (days)"),
        filters=NUMBER,
        validators=[Optional()],
        description=_l("Blank: no newborn rule; newborns wait like everyone."),
    )
    benefits = FieldList(FormField(BenefitForm), label=_l("Benefits"), min_entries=1)
    add_benefit = SubmitField(_l("Add a benefit row"))
    save = SubmitField(_l("Save the draft"))

    def rules(self, currency: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The typed rules as values for ``versions.update_draft``, or None with errors beside the fields."""
        ok = True

        def read(field, reader):
            nonlocal ok
            if field.data in (None, ""):
                return None
            try:
                return reader(field.data)
            except FieldError as exc:
                field.errors = [*field.errors, say(exc)]
                ok = False
                return None

        def money(x):
            return v.amount(x, currency)

        values = {
            "effective_from": self.effective_from.data,
            "basis": self.basis.data,
            "amount": read(self.amount, lambda x: v.amount(x, currency, positive=True)),
            "period_months": int(self.period_months.data),
            "registration_fee": read(self.registration_fee, money) or Decimal(0),
            "waiting_period_days": read(self.waiting_period_days, _days) or 0,
            "grace_period_days": read(self.grace_period_days, _days) or 0,
            "lapse_after_days": read(self.lapse_after_days, lambda x: _days(x, minimum=1)),
            "submission_limit_days": read(self.submission_limit_days, lambda x: _days(x, minimum=1)),
            "newborn_days": read(self.newborn_days, _days),
        }
        benefits = []
        for entry in self.benefits:
            row = entry.form
            if not any(row[k].data for k in ("code", "name", "coverage_rate", "amount")):
                continue
            benefit = {
                "code": read(row.code, lambda x: v.code(x, _("benefit code"))),
                "name": row.name.data or row.code.data,
                "kind": row.kind.data,
                "coverage_rate": read(row.coverage_rate, v.share),
                "amount": read(row.amount, lambda x: v.amount(x, currency, positive=True)),
                "ceiling_per_case": read(row.ceiling_per_case, lambda x: v.amount(x, currency, positive=True)),
                "ceiling_per_year": read(row.ceiling_per_year, lambda x: v.amount(x, currency, positive=True)),
                "max_cases_per_year": read(row.max_cases_per_year, lambda x: v.whole(x, minimum=1)),
                "waiting_period_days": read(row.waiting_period_days, _days),
                "sex": row.sex.data or None,
                "min_age_years": read(row.min_age_years, _days),
                "max_age_years": read(row.max_age_years, _days),
            }
            if row.code.data in (None, ""):
                row.code.errors = [*row.code.errors, _("Give the benefit a code.")]
                ok = False
            benefits.append(benefit)
        return (values, benefits) if ok else None


def version_form_data(version) -> dict[str, Any]:
    """A version's rules as the form's initial values."""
    return {
        "effective_from": version.effective_from,
        "basis": version.basis,
        "amount": _as_text(version.amount),
        "period_months": str(version.period_months),
        "registration_fee": _as_text(version.registration_fee),
        "waiting_period_days": _as_text(version.waiting_period_days),
        "grace_period_days": _as_text(version.grace_period_days),
        "lapse_after_days": _as_text(version.lapse_after_days),
        "submission_limit_days": _as_text(version.submission_limit_days),
        "newborn_days": _as_text(version.newborn_days),
        "benefits": [
            {
                "code": b.code,
                "name": b.name,
                "kind": b.kind,
                "coverage_rate": _as_text(b.coverage_rate),
                "amount": _as_text(b.amount),
                "ceiling_per_case": _as_text(b.ceiling_per_case),
                "ceiling_per_year": _as_text(b.ceiling_per_year),
                "max_cases_per_year": _as_text(b.max_cases_per_year),
                "waiting_period_days": _as_text(b.waiting_period_days),
                "sex": b.sex or "",
                "min_age_years": _as_text(b.min_age_years),
                "max_age_years": _as_text(b.max_age_years),
            }
            for b in version.benefits
        ],
    }


class AttachStudyForm(FlaskForm):
    """Choose the study a draft version is decided on."""

    study = SelectField(_l("Feasibility study"), coerce=int, validators=[InputRequired()])
