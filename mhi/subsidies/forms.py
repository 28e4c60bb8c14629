"""Forms of the subsidy pages: record money received from a funder, reverse it with a reason."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from mhi.core.limits import DateField
from mhi.core.numbers import locale_number


class SubsidyReceiptForm(FlaskForm):
    """A funder's payment under one programme."""

    programme = SelectField(_l("Programme"), validators=[DataRequired()])
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=40)])
    date = DateField(_l("Date received"), validators=[DataRequired()], default=date.today)
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)], filters=[locale_number])


class ReverseForm(FlaskForm):
    """Why a subsidy receipt is cancelled."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ClaimForm(FlaskForm):
    """Which programme's claim, for which period (a GET form: reading a claim changes nothing)."""

    class Meta:
        csrf = False

    programme = SelectField(_l("Programme"), validators=[DataRequired()])
    date_from = DateField(_l("From"), validators=[DataRequired()])
    date_to = DateField(_l("To"), validators=[DataRequired()])


class SignOffForm(FlaskForm):
    """The manager signs a claim off: its figures are frozen."""

    programme = StringField(validators=[DataRequired(), Length(max=20)])
    date_from = DateField(validators=[DataRequired()])
    date_to = DateField(validators=[DataRequired()])


class FollowProgrammeForm(FlaskForm):
    """An administrator lets a funder's account follow one more programme (of any scheme)."""

    programme = SelectField(_l("Programme"), coerce=int, validators=[DataRequired()])
