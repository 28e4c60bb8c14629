"""Forms of the register's pages: enrol a household (head and members in one form), add a person, record an
exit, upload a file. They check types only; the rules are the services' (members/services.py), whose problems
are shown beside the field they name."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from mhi.core.limits import DateField
from mhi.members.duplicates import Candidate
from mhi.members.labels import EXIT_REASON_LABELS, RELATION_LABELS, SEX_LABELS
from mhi.members.services import PersonData

SEX_CHOICES = list(SEX_LABELS.items())
EXIT_REASONS = list(EXIT_REASON_LABELS.items())
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
    different_people = BooleanField(_l("These are different people: enrol them all the same."))

    def people(self) -> tuple[list[PersonData], list]:
        """The persons to enrol (the head first, blank rows skipped) and the sub-form of each, in order."""
        head = self.head.form
        entries = [head] + [entry.form for entry in self.members if not entry.form.is_blank()]
        persons = [head.person("head", village=self.village.data or "")]
        persons += [e.person(enrolment=head.enrolment_date.data, village=self.village.data or "") for e in entries[1:]]
        return persons, entries


def candidates(persons: list[PersonData], household_ref: str, first_row: int = 1) -> list[Candidate]:
    """The persons of a form as the duplicate check reads them (those without names, sex or a date of birth are
    left to the form's own errors)."""
    found = []
    for row, p in enumerate(persons, start=first_row):
        if p.first_name.strip() and p.last_name.strip() and isinstance(p.date_of_birth, date) and p.sex in ("F", "M"):
            found.append(
                Candidate(
                    row=row, first_name=p.first_name, last_name=p.last_name, sex=p.sex,
                    date_of_birth=p.date_of_birth, household_ref=household_ref, village=p.village, phone=p.phone,
                    national_id=p.national_id,
                )
            )  # fmt: skip
    return found


class PersonForm(PersonFields, FlaskForm):
    """A person added to an enrolled household (a newborn)."""

    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    enrolment_date = DateField(_l("Enrolment date"), validators=[DataRequired()], default=date.today)
    different_people = BooleanField(_l("This is a different person: add them all the same."))


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


class ProductChangeForm(FlaskForm):
    """The household's product from a date on, with the reason (docs/decisions.md "Product changes")."""

    product = SelectField(_l("Product"), validators=[DataRequired()])
    from_date = DateField(
        _l("From"),
        validators=[DataRequired()],
        description=_l(
            "A contribution period start: periods starting on or after it are due at the new product's amount, and "
            "care from that day follows its benefits."
        ),
    )
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class PersonCorrectionForm(FlaskForm):
    """Correct a person (rectification): every field as stored, changed where wrong, and why."""

    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    sex = SelectField(_l("Sex"), choices=SEX_CHOICES)
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    relation = SelectField(_l("Relationship"), choices=[(k, v) for k, v in RELATION_LABELS.items() if k != "head"])
    village = StringField(_l("Village"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    national_id = StringField(_l("National ID"), validators=[Optional(), Length(max=40)])
    reason = StringField(
        _l("Reason for the correction"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("Kept in the audit trail with the values before and after."),
    )

    def changes(self) -> dict:
        """The service's input: every field shown (the service keeps those that differ from the stored ones)."""
        names = ("first_name", "last_name", "sex", "date_of_birth", "village", "phone", "national_id")
        out = {name: getattr(self, name).data for name in names}
        if "relation" in self:
            out["relationship"] = self.relation.data
        return out


class HouseholdCorrectionForm(FlaskForm):
    """Correct a household: its head (among the members enrolled with it), village, phone, notice language."""

    head = SelectField(_l("Head of household"))
    former_head_relationship = SelectField(
        _l("The former head becomes"),
        choices=[(k, v) for k, v in RELATION_LABELS.items() if k != "head"],
        default="spouse",
        description=_l("Only used when the head changes."),
    )
    village = StringField(_l("Village"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    language = SelectField(
        _l("Language of notices"), choices=[("", _l("The scheme's")), ("en", "English"), ("fr", "Français")]
    )
    reason = StringField(
        _l("Reason for the correction"),
        validators=[DataRequired(), Length(max=500)],
        description=_l("Kept in the audit trail with the values before and after."),
    )

    def changes(self) -> dict:
        """The service's input; the former head's relationship only when the head changes."""
        return {
            "head": self.head.data,
            "village": self.village.data or "",
            "phone": self.phone.data or "",
            "language": self.language.data or "",
            "former_head_relationship": self.former_head_relationship.data,
        }


class UploadForm(FlaskForm):
    """A CSV or XLSX file to import."""

    file = FileField(
        _l("File"), validators=[FileRequired(), FileAllowed(["csv", "xlsx"], _l("A .csv or .xlsx file, please."))]
    )


class ConfirmForm(FlaskForm):
    """The confirm step of an upload: the server-side file's token, and — when the file has likely duplicates —
    the user's word that they are different people."""

    token = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")])
    different_people = BooleanField(_l("These are different people: import them all the same."))


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
