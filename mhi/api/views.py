"""The REST API under ``/api/v1``: the register, receipts, eligibility, claims, indicators and the federation
report, as JSON, for programs acting with an API token (or a signed-in browser).

Views are as thin as the screens': check access (the same permissions, ``tokens=True``), read the query or the
body through its schema (``mhi/api/schemas.py``), call the feature's service, commit, answer. No rule is
written here: enrolment, corrections, receipts and reversals, eligibility, claim decisions and indicators are
the features' own functions. Every refusal is RFC 9457 problem details (``mhi/core/problems.py``) in the
caller's language; a refused write changes nothing. Each view's ``api_doc`` feeds the OpenAPI document
(``mhi/api/spec.py``).
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError

from mhi.api import queries, schemas
from mhi.claims.models import Claim
from mhi.claims.services import ClaimError
from mhi.claims.views import claim_document, claim_from_json, eligibility_document
from mhi.contributions.models import Receipt
from mhi.contributions.services import ContributionError, household_account, record_receipt, reverse_receipt
from mhi.core import clock
from mhi.core.access import permission_required
from mhi.core.db import db
from mhi.core.errors import say
from mhi.core.problems import Refused, answer_refused
from mhi.core.validation import InputRejected
from mhi.members.models import Household, Person
from mhi.members.queries import household_by_ref, product_code_on
from mhi.members.services import (
    PersonData,
    RegisterError,
    add_person,
    correct_household,
    correct_person,
    enrol_household,
)
from mhi.reports import indicators as ind
from mhi.reports.services import PeriodError, read_period
from mhi.schemes.access import bound_provider_id, federation_or_404, scheme_or_404

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: The largest body accepted (a household of fifty persons is far below it).
MAX_BODY = 256 * 1024


bp.register_error_handler(Refused, answer_refused)


def documented(summary: str, *, args=None, body=None, answer=None, status: int = 200, errors=(404,)):
    """Describe a view for the OpenAPI document: its query schema, body schema and answer schema."""

    def decorator(view):
        view.api_doc = {
            "summary": summary,
            "description": (view.__doc__ or "").strip(),
            "args": args,
            "body": body,
            "answer": answer,
            "status": status,
            "errors": tuple(errors),
        }
        return view

    return decorator


# ------------------------------------------------------------------------------------------- reading requests


class FloatInBody(ValueError):
    """The body has a number with a fraction or exponent: amounts are strings or integers, never floats."""


def _no_float(text: str):
    raise FloatInBody(text)


def _flatten(messages, prefix: str = "") -> dict[str, str]:
    """marshmallow's nested messages as ``field`` / ``persons[0].sex`` → text."""
    flat: dict[str, str] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
            flat.update(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "body"] = " ".join(messages)
    else:
        for i, value in enumerate(messages):
            flat.update(_flatten(value, f"{prefix}[{i}]"))
    return flat


def read_args(schema_cls) -> dict:
    """The query string, read through ``schema_cls`` (400 naming each refused parameter)."""
    try:
        return schema_cls().load(request.args.to_dict())
    except ValidationError as exc:
        raise Refused(400, _l("Some query parameters are not valid."), _flatten(exc.messages)) from exc


def read_json() -> object:
    """The body as JSON: at most MAX_BODY bytes, declared as JSON, without floats."""
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(413, _l("The body is larger than %(size)s bytes.", size=MAX_BODY))
    if not request.is_json:
        raise Refused(415, _l("Send JSON (Content-Type: application/json)."))
    raw = request.get_data(cache=True)  # (read already by the NUL-byte guard, mhi/core/web.py)
    if len(raw) > MAX_BODY:
        raise Refused(413, _l("The body is larger than %(size)s bytes.", size=MAX_BODY))
    try:
        return json.loads(raw, parse_float=_no_float, parse_constant=_no_float)
    except FloatInBody as exc:
        raise Refused(
            400, _l('Amounts are strings or integers, never floats (%(value)s): write "1500.50".', value=exc)
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, _l("The body is not valid JSON.")) from exc


def read_body(schema_cls) -> dict:
    """The JSON body, read through ``schema_cls`` (400 naming each refused field)."""
    data = read_json()
    if not isinstance(data, dict):
        raise Refused(400, _l("The body must be a JSON object."))
    try:
        return schema_cls().load(data)
    except ValidationError as exc:
        raise Refused(400, _l("Some fields are not valid."), _flatten(exc.messages)) from exc


def refused_input(exc: InputRejected, people: bool = False) -> Refused:
    """A service's refusal of the input (the same messages as on screen), as 422 with each field."""
    errors: dict[str, str] = {}
    for p in exc.problems:
        column = p.column or "body"
        key = f"persons[{p.row - 1}].{column}" if people and p.row else column
        errors[key] = f"{errors[key]} {p.translated_text()}" if key in errors else p.translated_text()
    return Refused(422, _l("The request was refused; nothing was saved."), errors)


def paged(items: list, args: dict, dump) -> dict:
    """A page of ``items`` (fetched with one more than ``per_page`` to know whether a next page exists)."""
    return {
        "page": args["page"],
        "per_page": args["per_page"],
        "has_next": len(items) > args["per_page"],
        "items": [dump(item) for item in items[: args["per_page"]]],
    }


# --------------------------------------------------------------------------------------------------- register


# Household references, member numbers, receipt numbers and claim references may hold "/" (data-formats.md):
# their routes take the rest of the path.


def _household_or_404(scheme, ref: str):
    household = household_by_ref(db.session, scheme.id, ref)
    if household is None:
        abort(404)
    return household


def _person_or_404(scheme, member_no: str) -> Person:
    person = db.session.scalar(db.select(Person).where(Person.scheme_id == scheme.id, Person.member_no == member_no))
    if person is None:
        abort(404)
    return person


def _person_data(p: dict) -> PersonData:
    """A ``PersonIn`` document as the register's services take it."""
    return PersonData(
        first_name=p["first_name"], last_name=p["last_name"], sex=p["sex"], date_of_birth=p["date_of_birth"],
        relation=p["relationship"], enrolment_date=p["enrolment_date"], member_no=p.get("member_no"),
        village=p.get("village", ""), phone=p.get("phone", ""), national_id=p.get("national_id", ""),
    )  # fmt: skip


@bp.get("/schemes/<code>/households")
@permission_required("register.read", tokens=True)
@documented("List households", args=schemas.HouseholdFilter, answer=schemas.HouseholdPage)
def households(code: str):
    """The scheme's households by reference, a page at a time, filtered by village, reference or strike-off."""
    scheme = scheme_or_404(code)
    args = read_args(schemas.HouseholdFilter)
    rows = queries.households(db.session, scheme, args)
    return paged(rows, args, lambda row: schemas.HouseholdSummary().dump(queries.household_view(*row)))


@bp.get("/schemes/<code>/households/<path:ref>")
@permission_required("register.read", tokens=True)
@documented("Read a household", answer=schemas.HouseholdOut)
def household(code: str, ref: str):
    """A household with its persons."""
    scheme = scheme_or_404(code)
    item = _household_or_404(scheme, ref)
    return schemas.HouseholdOut().dump(
        queries.household_view(item, product_code_on(db.session, item, clock.today()), with_persons=True)
    )


@bp.get("/schemes/<code>/households/<path:ref>/account")
@permission_required("register.read", tokens=True)
@documented("Read a household's account", args=schemas.AccountArgs, answer=schemas.AccountOut, errors=(400, 404))
def household_account_view(code: str, ref: str):
    """The household's cover and contributions on a day: status and reason, paid until, next due, arrears —
    the household page's account, from the same function (``contributions.services.household_account``)."""
    scheme = scheme_or_404(code)
    args = read_args(schemas.AccountArgs)
    item = _household_or_404(scheme, ref)
    account = household_account(db.session, item, args.get("on") or clock.today())
    money = {
        name: None if getattr(account, name) is None else str(getattr(account, name))
        for name in ("next_due_amount", "arrears", "paid_total")
    }
    paid_until = None if account.paid_until_unbounded else account.paid_until
    return schemas.AccountOut().dump({**vars(account), **money, "paid_until": paid_until, "household_ref": item.ref})


@bp.post("/schemes/<code>/households")
@permission_required("register.write", tokens=True)
@documented(
    "Enrol a household", body=schemas.HouseholdIn, answer=schemas.HouseholdOut, status=201, errors=(400, 404, 422)
)
def household_create(code: str):
    """Enrol a household with its members (exactly one head), as the enrolment form does."""
    scheme = scheme_or_404(code)
    data = read_body(schemas.HouseholdIn)
    persons = [_person_data(p) for p in data["persons"]]
    try:
        item = enrol_household(
            db.session, scheme, ref=data["ref"], product_code=data["product_code"], persons=persons,
            category=data.get("category"), village=data.get("village"), phone=data.get("phone"), actor=current_user,
        )  # fmt: skip
    except RegisterError as exc:
        raise refused_input(exc, people=True) from exc
    db.session.commit()
    body = schemas.HouseholdOut().dump(
        queries.household_view(item, product_code_on(db.session, item, clock.today()), with_persons=True)
    )
    return body, 201


@bp.patch("/schemes/<code>/households/<path:ref>")
@permission_required("register.write", tokens=True)
@documented(
    "Correct a household", body=schemas.HouseholdCorrection, answer=schemas.HouseholdOut, errors=(400, 404, 422)
)
def household_correct(code: str, ref: str):
    """Correct the village, phone or language, with the reason; the audit trail keeps the values before."""
    scheme = scheme_or_404(code)
    item = _household_or_404(scheme, ref)
    data = read_body(schemas.HouseholdCorrection)
    reason = data.pop("reason")
    try:
        correct_household(db.session, item, data, reason=reason, actor=current_user)
    except RegisterError as exc:
        raise refused_input(exc) from exc
    db.session.commit()
    return schemas.HouseholdOut().dump(
        queries.household_view(item, product_code_on(db.session, item, clock.today()), with_persons=True)
    )


@bp.get("/schemes/<code>/persons")
@permission_required("register.read", tokens=True)
@documented("List or search persons", args=schemas.PersonFilter, answer=schemas.PersonPage)
def persons(code: str):
    """Persons by member number, or those matching ``q`` as the register's search finds them."""
    scheme = scheme_or_404(code)
    args = read_args(schemas.PersonFilter)
    rows = queries.persons(db.session, scheme, args)
    return paged(rows, args, lambda row: schemas.PersonOut().dump(queries.person_view(*row)))


@bp.get("/schemes/<code>/persons/<path:member_no>")
@permission_required("register.read", tokens=True)
@documented("Read a person", answer=schemas.PersonOut)
def person(code: str, member_no: str):
    """One person by member number."""
    scheme = scheme_or_404(code)
    item = _person_or_404(scheme, member_no)
    return schemas.PersonOut().dump(queries.person_view(item, item.household.ref))


@bp.post("/schemes/<code>/households/<path:ref>/persons")
@permission_required("register.write", tokens=True)
@documented("Add a person", body=schemas.PersonIn, answer=schemas.PersonOut, status=201, errors=(400, 404, 422))
def person_create(code: str, ref: str):
    """Add a person (a newborn, a spouse) to an enrolled household."""
    scheme = scheme_or_404(code)
    item = _household_or_404(scheme, ref)
    data = _person_data(read_body(schemas.PersonIn))
    try:
        created = add_person(db.session, item, data, actor=current_user)
    except RegisterError as exc:
        raise refused_input(exc) from exc
    db.session.commit()
    return schemas.PersonOut().dump(queries.person_view(created, item.ref)), 201


@bp.patch("/schemes/<code>/persons/<path:member_no>")
@permission_required("register.write", tokens=True)
@documented("Correct a person", body=schemas.PersonCorrection, answer=schemas.PersonOut, errors=(400, 404, 422))
def person_correct(code: str, member_no: str):
    """Correct names or contact details, with the reason; the audit trail keeps the values before."""
    scheme = scheme_or_404(code)
    item = _person_or_404(scheme, member_no)
    data = read_body(schemas.PersonCorrection)
    reason = data.pop("reason")
    try:
        correct_person(db.session, item, data, reason=reason, actor=current_user)
    except RegisterError as exc:
        raise refused_input(exc) from exc
    db.session.commit()
    return schemas.PersonOut().dump(queries.person_view(item, item.household.ref))


# --------------------------------------------------------------------------------------------------- receipts


def _contribution_refusal(exc: ContributionError) -> Refused:
    return Refused(422, _l("The request was refused; nothing was saved."), {exc.field or "body": say(exc)})


@bp.post("/schemes/<code>/receipts")
@permission_required("contributions.write", tokens=True)
@documented("Record a receipt", body=schemas.ReceiptIn, answer=schemas.ReceiptOut, status=201, errors=(400, 404, 422))
def receipt_create(code: str):
    """Record money paid by a household; its cover is brought up to date at once."""
    scheme = scheme_or_404(code)
    data = read_body(schemas.ReceiptIn)
    item = household_by_ref(db.session, scheme.id, data["household_ref"])
    if item is None:
        raise Refused(422, _l("The request was refused; nothing was saved."), {"household_ref": "no such household"})
    try:
        receipt = record_receipt(
            db.session, item, receipt_no=data.get("receipt_no"), date=data["date"], amount=data["amount"],
            method=data["method"], collector=data["collector"], actor=current_user,
        )  # fmt: skip
    except ContributionError as exc:
        raise _contribution_refusal(exc) from exc
    db.session.commit()
    return schemas.ReceiptOut().dump(queries.receipt_view(receipt, item.ref, scheme.currency)), 201


@bp.post("/schemes/<code>/receipts/<path:receipt_no>/reversal")
@permission_required("contributions.write", tokens=True)
@documented("Reverse a receipt", body=schemas.ReversalIn, answer=schemas.ReceiptOut, status=201, errors=(400, 404, 422))
def receipt_reverse(code: str, receipt_no: str):
    """Cancel a receipt by a counter-entry with its reason (nothing is deleted)."""
    scheme = scheme_or_404(code)
    receipt = db.session.scalar(
        db.select(Receipt).where(Receipt.scheme_id == scheme.id, Receipt.receipt_no == receipt_no)
    )
    if receipt is None:
        abort(404)
    data = read_body(schemas.ReversalIn)
    try:
        counter = reverse_receipt(db.session, receipt, reason=data["reason"], actor=current_user)
    except ContributionError as exc:
        raise _contribution_refusal(exc) from exc
    db.session.commit()
    ref = db.session.get(Household, counter.household_id).ref
    return schemas.ReceiptOut().dump(queries.receipt_view(counter, ref, scheme.currency, original=receipt)), 201


# ------------------------------------------------------------------------------------------ eligibility, claims


@bp.get("/schemes/<code>/eligibility")
@permission_required("eligibility.read", tokens=True)
@documented("Check eligibility", args=schemas.EligibilityArgs, answer=schemas.EligibilityOut, errors=(400, 404))
def eligibility(code: str):
    """Is a member covered on a day, and why not; what each benefit still allows (the eligibility page's answer)."""
    scheme = scheme_or_404(code)
    args = read_args(schemas.EligibilityArgs)
    return eligibility_document(scheme, args["member_no"].strip(), args.get("on") or clock.today())


@bp.post("/schemes/<code>/claims")
@permission_required("claims.enter", tokens=True)
@documented("Submit a claim", body=schemas.ClaimIn, answer=schemas.ClaimOut, status=201, errors=(400, 404, 409, 422))
def claim_create(code: str):
    """Receive one claim and decide it at once by adjudication.md, as the claim form does (an unknown member is a
    decision — REJECTED ``UNKNOWN_MEMBER`` — not an error)."""
    scheme = scheme_or_404(code)
    data = read_body(schemas.ClaimIn)
    lines = [(line["label"], str(line["amount"])) for line in data.pop("lines")]
    try:
        claim = claim_from_json(scheme, data, lines, actor=current_user)
    except InputRejected as exc:
        raise refused_input(exc) from exc
    except ClaimError as exc:
        raise Refused(409, _l("The request was refused; nothing was saved."), {"claim_ref": say(exc)}) from exc
    db.session.commit()
    return schemas.ClaimOut().dump(claim_document(claim, scheme)), 201


@bp.get("/schemes/<code>/claims")
@permission_required("claims.view", tokens=True)
@documented("List claims", args=schemas.ClaimFilter, answer=schemas.ClaimPage, errors=(400, 404))
def claims(code: str):
    """The scheme's claims, newest first, by status and member (a facility account's token: its provider's)."""
    scheme = scheme_or_404(code)
    args = read_args(schemas.ClaimFilter)
    rows = queries.claims(db.session, scheme, args, provider_id=bound_provider_id())
    return paged(rows, args, lambda claim: schemas.ClaimSummary().dump(claim_document(claim, scheme, checks=False)))


@bp.get("/schemes/<code>/claims/<path:claim_ref>")
@permission_required("claims.view", tokens=True)
@documented("Read a claim", answer=schemas.ClaimOut)
def claim(code: str, claim_ref: str):
    """A claim with its decision in force and every check (another facility's claim: 404)."""
    scheme = scheme_or_404(code)
    item = db.session.scalar(db.select(Claim).where(Claim.scheme_id == scheme.id, Claim.claim_ref == claim_ref))
    provider_id = bound_provider_id()
    if item is None or (provider_id is not None and item.provider_id != provider_id):
        abort(404)
    return schemas.ClaimOut().dump(claim_document(item, scheme))


# --------------------------------------------------------------------------------------------------- figures


def _period(args: dict):
    """The reporting period of the query string (the report pages' own reader)."""
    try:
        return read_period(
            args.get("kind"),
            args.get("value"),
            args["from_"].isoformat() if args.get("from_") else None,
            args["to"].isoformat() if args.get("to") else None,
            clock.today(),
        )
    except PeriodError as exc:
        raise Refused(400, say(exc)) from exc


@bp.get("/schemes/<code>/indicators")
@permission_required("figures.read", tokens=True)
@documented("Scheme indicators", args=schemas.PeriodArgs, answer=schemas.FiguresOut, errors=(400, 404))
def indicators(code: str):
    """indicators.md for a period: cli.md's ``report indicators --format json`` document."""
    scheme = scheme_or_404(code)
    period = _period(read_args(schemas.PeriodArgs))
    return ind.to_json(ind.scheme_indicators(db.session, scheme, period.start, period.end))


@bp.get("/federations/<federation_code>/report")
@permission_required("federation.read", tokens=True)
@documented("Federation report", args=schemas.PeriodArgs, answer=schemas.FederationOut, errors=(400, 404, 409))
def federation_report(federation_code: str):
    """The federation's schemes and their total: cli.md's ``report federation --format json`` document."""
    federation = federation_or_404(federation_code)
    period = _period(read_args(schemas.PeriodArgs))
    try:
        report = ind.federation_indicators(db.session, federation, period.start, period.end)
    except ind.MixedCurrencies as exc:
        raise Refused(409, say(exc)) from exc
    return ind.federation_to_json(report)


def init_app(app) -> None:
    """Register the API and its description."""
    from mhi.api import spec

    app.register_blueprint(bp)
    spec.init_app(app)
