"""Forms of the report screens: the financial year whose documents are to be prepared."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.validators import InputRequired


class YearEndDocumentsForm(FlaskForm):
    """The financial year of the year-end documents, among the years the scheme can report on."""

    year = SelectField(_l("Financial year"), coerce=int, validators=[InputRequired()])

    def __init__(self, *args, years: range = range(0), **kwargs):
        """``years``: the reportable years (``yearend.year_bounds``), newest first."""
        super().__init__(*args, **kwargs)
        self.year.choices = [(year, str(year)) for year in reversed(years)]
