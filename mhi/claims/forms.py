"""Forms of the claims screens: the eligibility check, a claim with its bill lines, an officer's override, and
a payment batch marked paid. Values are read again by the same reader as the import (``imports.read_entry``),
so a typed claim follows exactly the rules of a claims.csv row."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FieldList, FormField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from mhi.claims.rules import APPROVED, REDUCED, REJECTED
from mhi.core.limits import DateField
from mhi.core.numbers import locale_number

AMOUNT_HINT = _l("Digits with '.' as the decimal separator.")


class EligibilityForm(FlaskForm):
    """Type or scan the member number printed (and QR-encoded) on the card; a GET form, no CSRF needed."""

    class Meta:
        csrf = False

    member_no = StringField(
        _l("Member number"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("Type the number or scan the card's QR code."),
        render_kw={"autofocus": True, "autocomplete": "off", "inputmode": "text"},
    )
    on = DateField(_l("On"), validators=[Optional()])


class LineForm(SubForm):
    """One line of a bill: what it is for and its amount."""

    # Not "label": a FormField has its own ``label`` and would hide the subform's field.
    item = StringField(_l("Line"), validators=[Optional(), Length(max=120)])
    amount = StringField(
        _l("Amount"), validators=[Optional(), Length(max=30)], filters=[locale_number], description=AMOUNT_HINT
    )


#: Empty bill lines the form shows at first; "Add a line" gives one more each time, up to MHI_MAX_CLAIM_LINES.
FIRST_LINES = 4


class ClaimForm(FlaskForm):
    """A claim typed by a clerk or claims officer, kept as a draft until submitted (``claims/drafts.py``)."""

    claim_ref = StringField(
        _l("Claim reference"),
        validators=[Optional(), Length(max=40)],
        description=_l("The bill's number; left blank, the application numbers the claim."),
    )
    member_no = StringField(_l("Member number"), validators=[DataRequired(), Length(max=40)])
    benefit_code = SelectField(_l("Benefit"), validators=[DataRequired()])
    provider_code = SelectField(_l("Provider"), validators=[Optional()])
    date_of_service = DateField(
        _l("Date of service"),
        validators=[InputRequired()],
        description=_l("For a hospital stay, the day of admission."),
    )
    discharge_date = DateField(
        _l("Discharge date"),
        validators=[Optional()],
        description=_l("A hospital stay only: the day the patient left (on or after admission)."),
    )
    date_submitted = DateField(_l("Date received"), validators=[InputRequired()], default=date.today)
    diagnosis_code = StringField(_l("Diagnosis (ICD-10)"), validators=[Optional(), Length(max=10)])
    guarantee_ref = StringField(
        _l("Guarantee letter"),
        validators=[Optional(), Length(max=40)],
        description=_l("The number of the prise en charge the provider holds, if any."),
    )
    lines = FieldList(FormField(LineForm), min_entries=FIRST_LINES)

    def set_choices(self, benefits: list[tuple[str, str]], providers: list[tuple[str, str]]) -> None:
        """Benefits and providers of the scheme as (code, label)."""
        self.benefit_code.choices = [SelectChoice("", "—")] + [SelectChoice(c, label) for c, label in benefits]
        self.provider_code.choices = [SelectChoice("", _l("none (cash benefit)"))] + [
            SelectChoice(c, label) for c, label in providers
        ]

    def bill_lines(self) -> list[tuple[str, str]]:
        """The filled lines as (label, amount text)."""
        filled = [((line.form.item.data or "").strip(), (line.form.amount.data or "").strip()) for line in self.lines]
        return [(item, amount) for item, amount in filled if item or amount]


@lru_cache(maxsize=8)
def claim_form_class(max_lines: int) -> type[ClaimForm]:
    """The claim form reading at most one line more than ``max_lines`` (MHI_MAX_CLAIM_LINES), so a bill longer
    than the cap is refused with a message rather than cut short."""

    class CappedClaimForm(ClaimForm):
        lines = FieldList(FormField(LineForm), min_entries=FIRST_LINES, max_entries=max_lines + 1)

    return CappedClaimForm


STATUS_CHOICES = [
    SelectChoice(APPROVED, _l("Approved")),
    SelectChoice(REDUCED, _l("Reduced")),
    SelectChoice(REJECTED, _l("Rejected")),
]


class OverrideForm(FlaskForm):
    """A claims officer's decision replacing the current one; the written reason is required."""

    status = SelectField(_l("Decision"), choices=STATUS_CHOICES, validators=[DataRequired()])
    amount_approved = StringField(
        _l("Amount approved"),
        validators=[Optional(), Length(max=30)],
        filters=[locale_number],
        description=_l("0 for a rejected claim."),
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(message=_l("Write why the decision changes.")), Length(max=2000)],
        description=_l("Kept in the claim's history beside the automatic decision."),
    )


class BatchPaidForm(FlaskForm):
    """The day a payment batch was paid."""

    paid_on = DateField(_l("Paid on"), validators=[InputRequired()], default=date.today)


class ActionForm(FlaskForm):
    """An empty form, for the CSRF token of POST-only buttons."""


class LetterForm(FlaskForm):
    """A guarantee letter (prise en charge): the person, benefit, provider, validity and the amount promised."""

    member_no = StringField(_l("Member number"), validators=[DataRequired(), Length(max=40)])
    benefit_code = SelectField(_l("Benefit"), validators=[DataRequired()])
    provider_code = SelectField(_l("Provider"), validators=[DataRequired()])
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()], default=date.today)
    valid_to = DateField(_l("Valid to (included)"), validators=[InputRequired()])
    amount = StringField(
        _l("Amount promised"),
        validators=[DataRequired(), Length(max=30)],
        filters=[locale_number],
        description=AMOUNT_HINT,
    )
    note = StringField(_l("Note for the provider"), validators=[Optional(), Length(max=500)])

    def set_choices(self, benefits: list[tuple[str, str]], providers: list[tuple[str, str]]) -> None:
        """Benefits and providers of the scheme as (code, label)."""
        self.benefit_code.choices = [SelectChoice("", "—")] + [SelectChoice(c, label) for c, label in benefits]
        self.provider_code.choices = [SelectChoice("", "—")] + [SelectChoice(c, label) for c, label in providers]


class CancelLetterForm(FlaskForm):
    """Cancel a guarantee letter; the reason is kept."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ApprovalForm(FlaskForm):
    """A second officer's approval of an override above the scheme's four-eyes amount."""

    note = StringField(_l("Reason for approving"), validators=[DataRequired(), Length(max=500)])


class AttachmentForm(FlaskForm):
    """A scanned paper added to a claim: what it is and the file (its type is read from its bytes)."""

    kind = SelectField(
        _l("What it is"),
        choices=[
            SelectChoice("bill", _l("Bill")),
            SelectChoice("referral", _l("Referral letter")),
            SelectChoice("other", _l("Other paper")),
        ],
        validators=[DataRequired()],
    )
    file = FileField(
        _l("File"),
        validators=[FileRequired(_l("Choose the file to attach."))],
        description=_l("A PDF, JPEG or PNG scan."),
        render_kw={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"},
    )
