"""The form that records a meeting and its resolutions."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, FormField, SelectField, StringField, SubmitField, TextAreaField
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from mhi.core.limits import DateField, IntegerField

#: Empty resolution rows shown on a new form (more with "Add a resolution").
BLANK_ROWS = 3


def kind_labels() -> dict[str, str]:
    """The kinds of meeting in words."""
    return {"general_assembly": _l("General assembly"), "board": _l("Board meeting")}


class ResolutionForm(SubForm):
    """One resolution: its text and the votes; a row without text is left out."""

    text = TextAreaField(_l("Resolution"), validators=[Optional(), Length(max=4000)])
    votes_for = IntegerField(_l("For"), default=0, validators=[Optional(), NumberRange(min=0, max=1_000_000)])
    votes_against = IntegerField(_l("Against"), default=0, validators=[Optional(), NumberRange(min=0, max=1_000_000)])
    votes_abstain = IntegerField(_l("Abstain"), default=0, validators=[Optional(), NumberRange(min=0, max=1_000_000)])


class MeetingForm(FlaskForm):
    """A general assembly or a board meeting as it was held."""

    kind = SelectField(_l("Meeting"), validators=[InputRequired()])
    held_on = DateField(_l("Held on"), validators=[DataRequired()])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=200)])
    members_entitled = IntegerField(
        _l("Members entitled to attend"), validators=[InputRequired(), NumberRange(min=1, max=1_000_000)]
    )
    attendance = IntegerField(
        _l("Members present or represented"), validators=[InputRequired(), NumberRange(min=0, max=1_000_000)]
    )
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    resolutions = FieldList(FormField(ResolutionForm), min_entries=BLANK_ROWS, max_entries=50)
    add_resolution = SubmitField(_l("Add a resolution"))
    save = SubmitField(_l("Record the meeting"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = list(kind_labels().items())
