"""Forms of the contributions pages: record a receipt, reverse one with its reason."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from mhi.core.limits import DateField
from mhi.core.numbers import locale_number

METHOD_CHOICES = [("cash", _l("Cash")), ("mobile_money", _l("Mobile money")), ("bank", _l("Bank"))]


class ReceiptForm(FlaskForm):
    """Money paid by a household; the amount is read by the service (exact decimal, currency's decimals)."""

    date = DateField(_l("Date paid"), validators=[DataRequired()], default=date.today)
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)], filters=[locale_number])
    method = SelectField(_l("Method"), choices=METHOD_CHOICES, default="cash")
    operator = SelectField(
        _l("Operator"), choices=[], validate_choice=False, description=_l("Mobile money or bank: who carried it.")
    )
    transaction_id = StringField(
        _l("Operator's transaction id"),
        validators=[Optional(), Length(max=64)],
        description=_l("As printed on the operator's SMS or statement."),
    )
    collector = StringField(_l("Collector"), validators=[Optional(), Length(max=120)])
    receipt_no = StringField(
        _l("Receipt number"), validators=[Optional(), Length(max=40)], description=_l("Blank: numbered automatically.")
    )


def operator_choices(operators) -> list[tuple[str, str]]:
    """The operator select's options: none (cash), then the scheme's active operators."""
    return [("", _l("— none (cash) —"))] + [(o.code, o.name) for o in operators if o.active]


class ReverseForm(FlaskForm):
    """Why a receipt is cancelled (kept with the counter-entry)."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
