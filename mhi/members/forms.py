"""Forms of the register's pages: enrol a household (head and members in one form), add a person, record an
exit, upload a file. They check types only; the rules are the services' (members/services.py), whose problems
are shown beside the field they name."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import FieldList, Form, FormField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from mhi.core.limits import DateField
from mhi.members.services import PersonData

SEX_CHOICES = [("F", _l("Female")), ("M", _l("Male"))]
RELATION_LABELS = {
    "head": _l("Head of household"),
    "spouse": _l("Spouse"),
    "child": _l("Child"),
    "parent": _l("Parent"),
    "other": _l("Other"),
}
EXIT_REASONS = [("death", _l("Death")), ("resignation", _l("Resignation")), ("other", _l("Other"))]
# Form field ↔ the column a service's Problem names.
FIELD_OF_COLUMN = {"relationship": "relation", "product_code": "product", "previous_household": "previous_ref"}


class PersonFields(Form):
    """One person's fields (a sub-form: the page's form carries the CSRF token)."""

    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    sex = SelectField(_l("Sex"), choices=SEX_CHOICES, default="F")
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    relation = SelectField(
        _l("Relationship"), choices=[(k, v) for k, v in RELATION_LABELS.items() if k != "head"], default="child"
    )
    enrolment_date = DateField(_l("Enrolment date"), validators=[Optional()], description=_l("Blank: the head's."))
    member_no = StringField(
        _l("Member number"), validators=[Optional(), Length(max=40)], description=_l("Blank: numbered automatically.")
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    national_id = StringField(_l("National ID"), validators=[Optional(), Length(max=40)])

    def is_blank(self) -> bool:
        """An unused row of the enrolment form."""
        return not (self.first_name.data or "").strip() and not (self.last_name.data or "").strip()

    def person(self, relation: str | None = None, enrolment: date | None = None, village: str = "") -> PersonData:
        """The service's input."""
        return PersonData(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            sex=self.sex.data,
            date_of_birth=self.date_of_birth.data or "",
            relation=relation or self.relation.data,
            enrolment_date=self.enrolment_date.data or enrolment or "",
            member_no=self.member_no.data or None,
            village=village,
            phone=self.phone.data or "",
            national_id=self.national_id.data or "",
        )


class EnrolForm(FlaskForm):
    """A household and its members in one form: the head, then up to eight other people."""

    ref = StringField(_l("Household reference"), validators=[DataRequired(), Regexp(r"^[A-Za-z0-9/\-_.]{1,40}$")])
    product = SelectField(_l("Product"), validators=[DataRequired()])
    category = StringField(_l("Category"), validators=[Optional(), Length(max=40)], description=_l("Blank: standard."))
    village = StringField(_l("Village"), validators=[Optional(), Length(max=100)])
    previous_ref = StringField(
        _l("Re-enrolment of household"),
        validators=[Optional()],
        description=_l("The struck-off household it replaces, if any."),
    )
    head = FormField(PersonFields, label=_l("Head of household"))
    members = FieldList(FormField(PersonFields), label=_l("Other members"), min_entries=8, max_entries=8)

    def people(self) -> tuple[list[PersonData], list]:
        """The persons to enrol (the head first, blank rows skipped) and the sub-form of each, in order."""
        head = self.head.form
        entries = [head] + [entry.form for entry in self.members if not entry.form.is_blank()]
        persons = [head.person("head", village=self.village.data or "")]
        persons += [e.person(enrolment=head.enrolment_date.data, village=self.village.data or "") for e in entries[1:]]
        return persons, entries


class PersonForm(PersonFields, FlaskForm):
    """A person added to an enrolled household (a newborn)."""

    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    enrolment_date = DateField(_l("Enrolment date"), validators=[DataRequired()], default=date.today)


class ExitForm(FlaskForm):
    """A person leaves the scheme."""

    date = DateField(_l("Exit date"), validators=[DataRequired()], default=date.today)
    reason = SelectField(_l("Reason"), choices=EXIT_REASONS)


class CategoryForm(FlaskForm):
    """The household's category from a date on, with the reason (e.g. the funder's list of indigent households)."""

    category = StringField(_l("Category"), validators=[Optional(), Length(max=40)], description=_l("Blank: standard."))
    from_date = DateField(
        _l("From"),
        validators=[DataRequired()],
        description=_l("Contribution periods starting on or after this day take the new category's subsidies."),
    )
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class UploadForm(FlaskForm):
    """A CSV or XLSX file to import."""

    file = FileField(
        _l("File"), validators=[FileRequired(), FileAllowed(["csv", "xlsx"], _l("A .csv or .xlsx file, please."))]
    )


class ConfirmForm(FlaskForm):
    """The confirm step of an upload: the server-side file's token."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])


def show_problems(form, problems, entries: list | None = None) -> None:
    """Put each service Problem beside its field (row = the person's position in ``entries``); the rest on top."""
    form.form_errors = list(getattr(form, "form_errors", []) or [])
    for problem in problems:
        target = form
        if problem.row is not None and entries is not None and 0 < problem.row <= len(entries):
            target = entries[problem.row - 1]
        name = FIELD_OF_COLUMN.get(problem.column or "", problem.column or "")
        field = getattr(target, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = (
                [*field.errors, problem.translated_text()]
                if isinstance(field.errors, list)
                else [problem.translated_text()]
            )
        else:
            form.form_errors.append(problem.translated())
