"""The API's documents, as marshmallow schemas: request bodies and query strings are read through them (so what
the OpenAPI document says is what the server accepts), answers are written through them (so what it promises is
what the server sends). Amounts travel as strings of digits (conventions.md), or integers on the way in; a
float is refused before any schema sees it (``mhi/api/views.py``).
"""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation

from flask_babel import gettext
from marshmallow import Schema, ValidationError, fields, validate

from mhi.core.errors import N_, translate

MAX_PER_PAGE = 200


class Amount(fields.Field):
    """An amount of money: ``"1500"``, ``"1500.50"`` or ``1500`` in, always a string out."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValidationError(gettext("an amount is a string of digits or an integer, never a float"))
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(gettext("not an amount")) from exc
        if not amount.is_finite():
            raise ValidationError(gettext("not an amount"))
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(value)


#: marshmallow's own messages for the fields and validators of these schemas (marshmallow 4's English, exactly),
#: marked for the catalogue. ``Strict`` gives each schema made during a request these messages in the caller's
#: language, so the ``errors`` of a problem detail are French for a French caller. ``{min}``, ``{max}``,
#: ``{choices}`` and ``{input}`` are marshmallow's placeholders, filled in after the translation.
#: tests/api/test_messages.py fails when a field or validator used here has a message missing from this list.
MARSHMALLOW_MESSAGES = frozenset(
    {
        N_("Missing data for required field."),
        N_("Field may not be null."),
        N_("Invalid value."),
        N_("Invalid input type."),
        N_("Unknown field."),
        N_("Not a valid string."),
        N_("Not a valid utf-8 string."),
        N_("Not a valid integer."),
        N_("Number too large."),
        N_("Not a valid boolean."),
        N_("Not a valid date."),
        N_("Not a valid {awareness} {obj_type}."),
        N_('"{input}" cannot be formatted as a date.'),
        N_("Not a valid list."),
        N_("Invalid type."),
        N_("Not a valid mapping type."),
        N_("Must be greater than or equal to {min}."),
        N_("Must be greater than or equal to {min} and less than or equal to {max}."),
        N_("Must be less than or equal to {max}."),
        N_("Length must be between {min} and {max}."),
        N_("Shorter than minimum length {min}."),
        N_("Longer than maximum length {max}."),
        N_("Length must be {equal}."),
        N_("Must be one of: {choices}."),
    }
)
#: The attributes of marshmallow's validators that hold a message.
VALIDATOR_MESSAGES = ("error", "message_min", "message_max", "message_all", "message_equal")


def _said(messages: dict) -> dict:
    """A field's or schema's messages with the marked ones in the request's language (English outside one)."""
    return {key: translate(text) if text in MARSHMALLOW_MESSAGES else text for key, text in messages.items()}


def _said_field(field: fields.Field) -> None:
    """Put ``field``'s messages, its validators' and its list items' into the request's language. New dicts,
    lists and validator copies: the field belongs to this schema instance, but what it refers to may be shared."""
    field.error_messages = _said(field.error_messages)
    validators = []
    for validator in field.validators:
        texts = {name: getattr(validator, name, None) for name in VALIDATOR_MESSAGES}
        if any(text in MARSHMALLOW_MESSAGES for text in texts.values()):
            validator = copy.copy(validator)
            for name, text in texts.items():
                if text in MARSHMALLOW_MESSAGES:
                    setattr(validator, name, translate(text))
        validators.append(validator)
    field.validators = validators
    inner = getattr(field, "inner", None)
    if isinstance(inner, fields.Field):
        _said_field(inner)


class Strict(Schema):
    """Unknown fields are refused, not ignored: a misspelt field must not pass silently. Its messages are said
    in the caller's language (``MARSHMALLOW_MESSAGES``)."""

    class Meta:
        ordered = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.error_messages = _said(self.error_messages)

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """marshmallow's hook for each field as the schema is made: translate its messages."""
        _said_field(field_obj)


# ----------------------------------------------------------------------------------------------- query strings


class PageArgs(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1), metadata={"description": "1 = first"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class HouseholdFilter(PageArgs):
    village = fields.String(metadata={"description": "households of this village"})
    ref = fields.String(metadata={"description": "households whose reference starts with this"})
    struck_off = fields.Boolean(metadata={"description": "true: struck off only; false: not struck off"})


class PersonFilter(PageArgs):
    q = fields.String(metadata={"description": "a name, member number, household reference, phone or village"})
    household = fields.String(metadata={"description": "persons of the household with this reference"})


class ClaimFilter(PageArgs):
    status = fields.String(validate=validate.OneOf(["APPROVED", "REDUCED", "REJECTED"]))
    member_no = fields.String()


class EligibilityArgs(Strict):
    member_no = fields.String(required=True)
    on = fields.Date(metadata={"description": "the day asked about (today by default)"})


class AccountArgs(Strict):
    on = fields.Date(metadata={"description": "the day asked about (today by default)"})


class PeriodArgs(Strict):
    kind = fields.String(validate=validate.OneOf(["month", "quarter", "year", "range"]))
    value = fields.String(metadata={"description": "2025, 2025-Q1 or 2025-03 (with kind)"})
    from_ = fields.Date(data_key="from", metadata={"description": "first day (kind=range)"})
    to = fields.Date(metadata={"description": "last day (kind=range)"})


# ------------------------------------------------------------------------------------------------------ bodies


class PersonIn(Strict):
    member_no = fields.String(metadata={"description": "given by the scheme when left out"})
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    sex = fields.String(required=True, validate=validate.OneOf(["F", "M"]))
    date_of_birth = fields.Date(required=True)
    relationship = fields.String(required=True, validate=validate.OneOf(["head", "spouse", "child", "parent", "other"]))
    enrolment_date = fields.Date(required=True)
    village = fields.String()
    phone = fields.String()
    national_id = fields.String()


class HouseholdIn(Strict):
    ref = fields.String(required=True)
    product_code = fields.String(required=True)
    category = fields.String()
    village = fields.String()
    phone = fields.String()
    persons = fields.List(fields.Nested(PersonIn), required=True, validate=validate.Length(min=1, max=50))


class HouseholdCorrection(Strict):
    village = fields.String()
    phone = fields.String()
    language = fields.String(validate=validate.OneOf(["", "en", "fr"]))
    reason = fields.String(
        required=True, validate=validate.Length(min=1, max=500), metadata={"description": "why (kept in the audit)"}
    )


class PersonCorrection(Strict):
    first_name = fields.String()
    last_name = fields.String()
    village = fields.String()
    phone = fields.String()
    national_id = fields.String()
    reason = fields.String(
        required=True, validate=validate.Length(min=1, max=500), metadata={"description": "why (kept in the audit)"}
    )


class ReceiptIn(Strict):
    household_ref = fields.String(required=True)
    date = fields.Date(required=True)
    amount = Amount(required=True)
    method = fields.String(load_default="cash")
    collector = fields.String(load_default="")
    receipt_no = fields.String(metadata={"description": "numbered R-<year>-NNNNNN when left out"})


class ReversalIn(Strict):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class BillLine(Strict):
    label = fields.String(required=True)
    amount = Amount(required=True)


class ClaimIn(Strict):
    claim_ref = fields.String(metadata={"description": "numbered by the scheme when left out"})
    member_no = fields.String(required=True)
    provider_code = fields.String(load_default="")
    benefit_code = fields.String(required=True)
    date_of_service = fields.Date(required=True)
    date_submitted = fields.Date(required=True)
    amount_claimed = Amount(metadata={"description": "left out when lines are given"})
    lines = fields.List(fields.Nested(BillLine), load_default=list)
    diagnosis_code = fields.String(load_default="")


# ----------------------------------------------------------------------------------------------------- answers


class PersonOut(Schema):
    member_no = fields.String()
    household_ref = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    sex = fields.String()
    date_of_birth = fields.Date()
    relationship = fields.String()
    enrolment_date = fields.Date()
    exit_date = fields.Date(allow_none=True)
    village = fields.String()
    phone = fields.String()


class HouseholdOut(Schema):
    ref = fields.String()
    product_code = fields.String()
    category = fields.String()
    village = fields.String()
    phone = fields.String()
    enrolment_date = fields.Date()
    exit_date = fields.Date(allow_none=True)
    strike_off_date = fields.Date(allow_none=True)
    persons = fields.List(fields.Nested(PersonOut))


class HouseholdSummary(HouseholdOut):
    class Meta:
        exclude = ("persons",)


class AccountOut(Schema):
    household_ref = fields.String()
    on = fields.Date()
    currency = fields.String()
    status = fields.String(metadata={"description": "covered, grace or not_covered (contributions.md §4)"})
    reason = fields.String(
        allow_none=True, metadata={"description": "not covered: not_enrolled, unpaid, struck_off or exited"}
    )
    reason_date = fields.Date(allow_none=True)
    covered_until = fields.Date(allow_none=True)
    paid_until = fields.Date(allow_none=True, metadata={"description": "null with paid_until_unbounded: no end"})
    paid_until_unbounded = fields.Boolean()
    next_due_amount = fields.String(allow_none=True)
    next_due_date = fields.Date(allow_none=True)
    arrears = fields.String(metadata={"description": "arrears on the day (contributions.md §5)"})
    paid_total = fields.String(metadata={"description": "C(on): receipts counted to the day"})
    strike_off_date = fields.Date(allow_none=True)
    exit_date = fields.Date(allow_none=True)


class PageOut(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    has_next = fields.Boolean()


class HouseholdPage(PageOut):
    items = fields.List(fields.Nested(HouseholdSummary))


class PersonPage(PageOut):
    items = fields.List(fields.Nested(PersonOut))


class ReceiptOut(Schema):
    receipt_no = fields.String()
    household_ref = fields.String()
    date = fields.Date()
    amount = Amount()
    method = fields.String()
    collector = fields.String()
    reversal_of = fields.String(allow_none=True)
    reason = fields.String()


class EligibilityMember(Schema):
    member_no = fields.String()
    name = fields.String()
    relationship = fields.String()
    covered = fields.Boolean()


class EligibilityBenefit(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    waiting_period_ends = fields.Date()
    waiting_over = fields.Boolean()
    ceiling_per_year = Amount(allow_none=True)
    used = Amount(allow_none=True)
    remaining = Amount(allow_none=True)
    cases = fields.Integer()
    max_cases = fields.Integer(allow_none=True)


class EligibilityOut(Schema):
    member_no = fields.String()
    on = fields.Date()
    found = fields.Boolean()
    covered = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "why not covered, in the caller's language"})
    name = fields.String()
    household_ref = fields.String()
    product = fields.String()
    members = fields.List(fields.Nested(EligibilityMember))
    benefits = fields.List(fields.Nested(EligibilityBenefit))


class CheckOut(Schema):
    code = fields.String()
    passed = fields.Boolean()
    detail = fields.String()


class ClaimOut(Schema):
    claim_ref = fields.String()
    member_no = fields.String()
    provider_code = fields.String()
    benefit_code = fields.String()
    # Written as ISO dates by mhi.claims.views.claim_document (the claims JSON route's own document).
    date_of_service = fields.String(metadata={"format": "date", "description": "for a hospital stay, the admission"})
    discharge_date = fields.String(
        allow_none=True, metadata={"format": "date", "description": "a hospital stay's last day (typed in the form)"}
    )
    date_submitted = fields.String(metadata={"format": "date"})
    status = fields.String(metadata={"description": "APPROVED, REDUCED or REJECTED (adjudication.md)"})
    amount_claimed = Amount()
    amount_approved = Amount()
    reasons = fields.List(fields.String(), metadata={"description": "adjudication.md codes"})
    paid_on = fields.String(allow_none=True, metadata={"format": "date"})
    checks = fields.List(fields.Nested(CheckOut))


class ClaimSummary(ClaimOut):
    class Meta:
        exclude = ("checks",)


class ClaimPage(PageOut):
    items = fields.List(fields.Nested(ClaimSummary))


class FiguresOut(Schema):
    """cli.md's ``report indicators --format json`` (and ``report federation``) document."""

    class Meta:
        unknown = "include"

    currency = fields.String()
    period = fields.Dict()
    indicators = fields.Dict()
    benefits = fields.Dict()


class FederationOut(Schema):
    federation = fields.String()
    currency = fields.String()
    period = fields.Dict()
    schemes = fields.Dict(metadata={"description": "CODE → {indicators, benefits}"})
    total = fields.Dict()


class Problem(Schema):
    """RFC 9457 problem details (application/problem+json)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": "field → why"})
