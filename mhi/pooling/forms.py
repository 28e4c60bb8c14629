"""Forms of the pool screens: the period of a settlement, the stress test's settings."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms.validators import DataRequired, InputRequired, NumberRange, ValidationError

from mhi.core.limits import DateField, IntegerField
from mhi.core.numbers import LocaleDecimalField


class SettlementForm(FlaskForm):
    """The period [from, to] of a settlement (pooling.md)."""

    date_from = DateField(_l("From"), validators=[DataRequired()])
    date_to = DateField(_l("To"), validators=[DataRequired()])

    def validate_date_to(self, field) -> None:
        """The period ends on or after it starts."""
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_l("The period ends before it starts."))


class StressForm(FlaskForm):
    """The stress test's period of experience, number of simulated years and target ruin probability."""

    class Meta:
        csrf = False  # a GET form: it reads, it changes nothing

    date_from = DateField(_l("Experience from"), validators=[DataRequired()])
    date_to = DateField(_l("to"), validators=[DataRequired()])
    years = IntegerField(
        _l("Simulated years"), default=20000, validators=[InputRequired(), NumberRange(min=1000, max=100000)]
    )
    target = LocaleDecimalField(
        _l("Target ruin probability of the pool"),
        rate=True,
        default=Decimal("0.01"),
        places=3,
        validators=[InputRequired(), NumberRange(min=0, max=0.5)],
    )

    def validate_date_to(self, field) -> None:
        """The period ends on or after it starts."""
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError(_l("The period ends before it starts."))
