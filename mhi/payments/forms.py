"""Forms of the payments pages: an operator of the scheme's list with its column mapping."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from mhi.contributions.forms import METHOD_CHOICES

#: statement.csv's columns an operator's own export may name its way (data-formats.md); ``operator`` is implied.
MAPPED_COLUMNS = ("transaction_id", "date", "amount", "payer_phone", "reference")


class OperatorForm(FlaskForm):
    """An operator: code, name, method, in use or not, and how its own export files read."""

    code = StringField(
        _l("Code"), validators=[DataRequired(), Length(max=20)], description=_l("e.g. wave, orange_money")
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    method = SelectField(_l("Method"), choices=[("mobile_money", _l("Mobile money")), ("bank", _l("Bank"))])
    active = BooleanField(_l("In use"), default=True)
    delimiter = SelectField(
        _l("Separator of its CSV files"), choices=[(",", _l("comma")), (";", _l("semicolon")), ("\t", _l("tab"))]
    )
    decimal_comma = BooleanField(_l("Its amounts use a decimal comma (1500,50)"))
    map_transaction_id = StringField(_l("Its column for the transaction id"), validators=[Optional(), Length(max=80)])
    map_date = StringField(_l("Its column for the date"), validators=[Optional(), Length(max=80)])
    map_amount = StringField(_l("Its column for the amount"), validators=[Optional(), Length(max=80)])
    map_payer_phone = StringField(_l("Its column for the payer's phone"), validators=[Optional(), Length(max=80)])
    map_reference = StringField(_l("Its column for the reference"), validators=[Optional(), Length(max=80)])

    def column_map(self) -> dict[str, str]:
        """statement.csv column → the operator's column name, for the columns filled in."""
        return {name: (getattr(self, f"map_{name}").data or "").strip() for name in MAPPED_COLUMNS}


class AssignForm(FlaskForm):
    """Assign a waiting statement line to the household chosen in the search."""

    household_id = IntegerField(validators=[DataRequired()], widget=HiddenInput())


class DismissForm(FlaskForm):
    """Mark a waiting line as not the scheme's money, saying why."""

    note = TextAreaField(_l("Why it is not ours"), validators=[DataRequired(), Length(max=500)])


KIND_CHOICES = [
    ("self_help_group", _l("Self-help group")),
    ("cooperative", _l("Cooperative")),
    ("gie", _l("Economic interest group (GIE)")),
    ("employer", _l("Employer")),
    ("sponsor_abroad", _l("Sponsor abroad")),
]
SPLIT_CHOICES = [
    ("listed", _l("As the treasurer lists it")),
    ("even", _l("Evenly")),
    ("owed", _l("By what each household owes")),
]


class PayerForm(FlaskForm):
    """A new group payer."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])


class MemberForm(FlaskForm):
    """Add a household to a group by its reference."""

    household_ref = StringField(_l("Household reference"), validators=[DataRequired(), Length(max=40)])


class GroupPaymentForm(FlaskForm):
    """One payment by a group and how to split it; a listed split's parts are typed per household."""

    date = DateField(_l("Date paid"), validators=[DataRequired()], default=date.today)
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    method = SelectField(_l("Method"), choices=METHOD_CHOICES, default="cash")
    operator = SelectField(_l("Operator"), choices=[], validate_choice=False)
    transaction_id = StringField(_l("Operator's transaction id"), validators=[Optional(), Length(max=64)])
    split = RadioField(_l("Split"), choices=SPLIT_CHOICES, default="listed")
