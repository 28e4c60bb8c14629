"""Forms of the printing screens: which cards to print, and the period of a household's statement."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from mhi.core.limits import DateField

SCOPE_CHOICES = [
    ("all", _l("Every current member")),
    ("household", _l("One household")),
    ("village", _l("One village")),
    ("since", _l("Members enrolled since a date")),
]


class CardPrintForm(FlaskForm):
    """The scope of a card batch; the field the scope needs is required, the others are ignored."""

    scope = RadioField(_l("Print cards for"), choices=SCOPE_CHOICES, default="all", validators=[InputRequired()])
    household_ref = StringField(_l("Household reference"), validators=[Optional(), Length(max=40)])
    village = SelectField(_l("Village"), choices=[], validate_choice=False, validators=[Optional()])
    since = DateField(_l("Enrolled on or after"), validators=[Optional()])

    def __init__(self, *args, villages: list[str] = (), **kwargs):
        """``villages``: the scheme's villages, offered as choices."""
        super().__init__(*args, **kwargs)
        self.village.choices = [("", "—")] + [(v, v) for v in villages]

    def validate(self, extra_validators=None) -> bool:
        """The chosen scope's own field must be filled (a village must be one of the scheme's)."""
        if not super().validate(extra_validators):
            return False
        needed = {"household": self.household_ref, "village": self.village, "since": self.since}.get(self.scope.data)
        if needed is not None and not needed.data:
            needed.errors.append(_l("Fill this in for the chosen selection."))
            return False
        if self.scope.data == "village" and self.village.data not in dict(self.village.choices):
            self.village.errors.append(_l("Choose one of the scheme's villages."))
            return False
        return True


class StatementForm(FlaskForm):
    """The period of a statement (a GET form: printing a statement changes nothing, so no CSRF token)."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From"), validators=[InputRequired()])
    date_to = DateField(_l("To"), validators=[InputRequired()])
    decisions = BooleanField(_l("Print the decisions of the last general assembly"))

    def validate(self, extra_validators=None) -> bool:
        """Both dates, the first not after the second."""
        if not super().validate(extra_validators):
            return False
        if self.date_from.data > self.date_to.data:
            self.date_to.errors.append(_l("The end comes before the start."))
            return False
        return True


class StatementRunForm(FlaskForm):
    """A statement run: the period, an optional village, and which households and parts to print."""

    date_from = DateField(_l("From"), validators=[InputRequired()])
    date_to = DateField(_l("To"), validators=[InputRequired()])
    village = SelectField(_l("Village"), choices=[], validators=[Optional()])
    arrears = BooleanField(_l("Only households in arrears at the end of the period"))
    decisions = BooleanField(_l("Print the decisions of the last general assembly"))

    def __init__(self, *args, villages: list[str] = (), **kwargs):
        """``villages``: the scheme's villages, offered as choices ("" for every village)."""
        super().__init__(*args, **kwargs)
        self.village.choices = [("", _l("Every village"))] + [(v, v) for v in villages]

    def validate(self, extra_validators=None) -> bool:
        """Both dates, the first not after the second."""
        if not super().validate(extra_validators):
            return False
        if self.date_from.data > self.date_to.data:
            self.date_to.errors.append(_l("The end comes before the start."))
            return False
        return True
