"""FHIR R4 at ``/fhir/r4`` (docs/fhir.md): ``metadata``; ``Patient`` read and search by identifier; ``Coverage``
read and search by beneficiary; ``POST CoverageEligibilityRequest`` answered with the eligibility page's answer;
``POST Claim`` decided by the claim form's own path and answered with a ClaimResponse.

The same permissions and scope as the screens (``tokens=True``): a Patient or Coverage is the register
(``register.read``), eligibility and claims are health data (``claims.read`` / ``claims.write``) — a federation
reviewer reaches none of them. Every refusal is an OperationOutcome in the caller's language; a refused claim
writes nothing.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal

from flask import Blueprint, Response, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from mhi.claims.services import ClaimError, eligibility
from mhi.claims.views import claim_from_json, translate
from mhi.core import clock
from mhi.core.access import permission_required, public
from mhi.core.db import db
from mhi.core.errors import say
from mhi.core.limits import INT_MAX
from mhi.core.problems import Refused, answer_refused
from mhi.core.validation import InputRejected
from mhi.fhir import resources
from mhi.members.models import Household, Person
from mhi.members.queries import product_id_on
from mhi.schemes.access import visible_scheme_ids
from mhi.schemes.models import Product, Scheme

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")

MAX_BODY = 256 * 1024
FHIR_JSON = "application/fhir+json"
_MEMBER_SYSTEM = re.compile(r"^urn:mhi:member-no:(?P<scheme>[A-Za-z0-9_-]+)$")
_RESPONSE_ID = re.compile(r"^(?P<person>\d+)-(?P<day>\d{8})$")
PURPOSES = {"auth-requirements", "benefits", "discovery", "validation"}


bp.register_error_handler(Refused, answer_refused)


def fhir(resource: dict, status: int = 200, location: str | None = None) -> Response:
    """A FHIR JSON answer."""
    response = Response(json.dumps(resource, ensure_ascii=False), status=status, mimetype=FHIR_JSON)
    if location:
        response.headers["Location"] = location
    return response


def base_url() -> str:
    return url_for("fhir.metadata", _external=True).rsplit("/", 1)[0]


# ---------------------------------------------------------------------------------------------- reading input


def read_resource(kind: str) -> dict:
    """The body as a FHIR resource of ``kind`` (JSON, at most MAX_BODY bytes; decimals read exactly)."""
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(413, _l("The body is larger than %(size)s bytes.", size=MAX_BODY))
    if request.mimetype not in (FHIR_JSON, "application/json"):
        raise Refused(415, _l("Send FHIR JSON (Content-Type: application/fhir+json)."))
    raw = request.get_data(cache=True)  # (read already by the NUL-byte guard, mhi/core/web.py)
    if len(raw) > MAX_BODY:
        raise Refused(413, _l("The body is larger than %(size)s bytes.", size=MAX_BODY))
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, _l("The body is not valid JSON.")) from exc
    if not isinstance(data, dict):
        raise Refused(400, _l("The body must be a JSON object."))
    if data.get("resourceType") != kind:
        raise Refused(
            400, _l("Expected a %(kind)s resource, not %(got)s.", kind=kind, got=str(data.get("resourceType"))[:40])
        )
    return data


def _text(value, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Refused(400, _l("%(path)s must be a non-empty string.", path=path))
    return value.strip()


def _day(value, path: str) -> date:
    """A FHIR date, or the date of a dateTime."""
    text = _text(value, path)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text)
    except ValueError as exc:
        raise Refused(400, _l("%(path)s must be a date (YYYY-MM-DD).", path=path)) from exc


def _schemes_in_scope() -> list[Scheme]:
    ids = visible_scheme_ids(current_user)
    query = select(Scheme).order_by(Scheme.code)
    if ids is not None:
        query = query.where(Scheme.id.in_(ids))
    return list(db.session.scalars(query))


def _person_by_id(text: str) -> Person:
    """A person of the caller's schemes by resource id; 404 otherwise (also when it exists elsewhere)."""
    ids = visible_scheme_ids(current_user)
    # An id beyond the database's INTEGER range is no record (a 404, not a database error: tests/trust).
    person = (
        db.session.get(Person, int(text))
        if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT_MAX
        else None
    )
    if person is None or (ids is not None and person.scheme_id not in ids):
        raise Refused(404, _l("There is no such patient in your schemes."))
    return person


def _scheme_of_identifier(system: str | None) -> Scheme | None:
    """The scheme an identifier's system names; None when no system is given and the caller has one scheme."""
    schemes = _schemes_in_scope()
    if system:
        found = _MEMBER_SYSTEM.match(system)
        code = found.group("scheme") if found else None
        scheme = next((s for s in schemes if s.code == code), None)
        if scheme is None:
            raise Refused(404, _l("The identifier's system names no scheme of yours (urn:mhi:member-no:<scheme>)."))
        return scheme
    if len(schemes) == 1:
        return schemes[0]
    raise Refused(400, _l("Give the identifier's system (urn:mhi:member-no:<scheme>): you see several schemes."))


def _patient_reference(data: dict) -> tuple[Scheme, str, Person | None]:
    """(scheme, member number, person or None) of ``patient``: ``Patient/<id>`` or an identifier."""
    ref = data.get("patient")
    if not isinstance(ref, dict):
        raise Refused(400, _l("patient is required (a reference Patient/<id> or an identifier)."))
    if ref.get("reference") is not None:
        reference = _text(ref["reference"], "patient.reference")
        if not reference.startswith("Patient/"):
            raise Refused(400, _l("patient.reference must be Patient/<id>."))
        person = _person_by_id(reference.split("/", 1)[1])
        return db.session.get(Scheme, person.scheme_id), person.member_no, person
    identifier = ref.get("identifier")
    if not isinstance(identifier, dict):
        raise Refused(400, _l("patient is required (a reference Patient/<id> or an identifier)."))
    scheme = _scheme_of_identifier(identifier.get("system"))
    member_no = _text(identifier.get("value"), "patient.identifier.value")
    person = db.session.scalar(select(Person).where(Person.scheme_id == scheme.id, Person.member_no == member_no))
    return scheme, member_no, person


# ------------------------------------------------------------------------------------------------- resources


@bp.get("/metadata")
@public
def metadata():
    """The CapabilityStatement (public, as FHIR clients read it before authenticating)."""
    return fhir(resources.capability_statement(base_url()))


@bp.get("/Patient/<patient_id>")
@permission_required("register.read", tokens=True)
def patient_read(patient_id: str):
    """A person of the register."""
    person = _person_by_id(patient_id)
    return fhir(resources.patient(person, db.session.get(Scheme, person.scheme_id)))


@bp.get("/Patient")
@permission_required("register.read", tokens=True)
def patient_search():
    """Search by ``identifier`` (``[system|]member number``) in the caller's schemes."""
    value = request.args.get("identifier", "")
    if not value:
        raise Refused(400, _l("Search patients by identifier: ?identifier=urn:mhi:member-no:<scheme>|<number>."))
    system, _bar, number = value.rpartition("|")
    schemes = [_scheme_of_identifier(system)] if system else _schemes_in_scope()
    by_id = {s.id: s for s in schemes}
    found = db.session.scalars(
        select(Person).where(Person.scheme_id.in_(list(by_id)), Person.member_no == number).order_by(Person.id)
    )
    return fhir(resources.bundle([resources.patient(p, by_id[p.scheme_id]) for p in found], base_url()))


def _coverages(persons: list[Person]) -> list[dict]:
    """The Coverage of each person (households, products and schemes loaded in one query)."""
    if not persons:
        return []
    rows = db.session.execute(
        select(Household, Product, Scheme)
        .select_from(Household)
        .join(Product, product_id_on(clock.today()) == Product.id)  # the product on the day asked
        .join(Scheme, Household.scheme_id == Scheme.id)
        .where(Household.id.in_({p.household_id for p in persons}))
    )
    by_household = {household.id: (household, product, scheme) for household, product, scheme in rows}
    return [resources.coverage(p, *by_household[p.household_id]) for p in persons]


@bp.get("/Coverage/<coverage_id>")
@permission_required("register.read", tokens=True)
def coverage_read(coverage_id: str):
    """A beneficiary's cover (the Coverage of a person has the person's id)."""
    return fhir(_coverages([_person_by_id(coverage_id)])[0])


@bp.get("/Coverage")
@permission_required("register.read", tokens=True)
def coverage_search():
    """Search by ``beneficiary`` (``Patient/<id>`` or ``<id>``)."""
    value = request.args.get("beneficiary", "")
    if not value:
        raise Refused(400, _l("Search coverage by beneficiary: ?beneficiary=Patient/<id>."))
    person = _person_by_id(value.removeprefix("Patient/"))
    return fhir(resources.bundle(_coverages([person]), base_url()))


# ------------------------------------------------------------------------------------------------ eligibility


def _eligibility_resource(scheme: Scheme, person: Person, on: date, purpose: list[str]) -> dict:
    """The eligibility page's answer for ``person`` on ``on``, as a CoverageEligibilityResponse."""
    answer = eligibility(db.session, scheme, person.member_no, on)
    reasons = [translate(message, params, scheme) for message, params in answer.reasons]
    return resources.eligibility_response(
        answer, person, scheme, response_id=f"{person.id}-{on:%Y%m%d}", purpose=purpose, reasons=reasons
    )


@bp.post("/CoverageEligibilityRequest")
@permission_required("eligibility.read", tokens=True)
def eligibility_request():
    """Is the patient covered on ``servicedDate`` (today when left out), and what each benefit still allows.

    Answered at once (201) with the CoverageEligibilityResponse; its id also finds it again with
    ``GET CoverageEligibilityResponse?request=<id>``. Nothing is stored: asking is a read.
    """
    data = read_resource("CoverageEligibilityRequest")
    purpose = data.get("purpose") or ["validation"]
    if not isinstance(purpose, list) or not purpose or not set(purpose) <= PURPOSES:
        raise Refused(400, _l("purpose must be a list of: auth-requirements, benefits, discovery, validation."))
    if data.get("servicedDate") is not None:
        on = _day(data["servicedDate"], "servicedDate")
    elif isinstance(data.get("servicedPeriod"), dict) and data["servicedPeriod"].get("start"):
        on = _day(data["servicedPeriod"]["start"], "servicedPeriod.start")
    else:
        on = clock.today()
    scheme, member_no, person = _patient_reference(data)
    if person is None:
        raise Refused(404, _l("No member %(number)s in scheme %(scheme)s.", number=member_no, scheme=scheme.code))
    resource = _eligibility_resource(scheme, person, on, purpose)
    return fhir(resource, 201, f"{base_url()}/CoverageEligibilityResponse/{resource['id']}")


@bp.get("/CoverageEligibilityResponse")
@permission_required("eligibility.read", tokens=True)
def eligibility_response_search():
    """``?request=<id>``: the answer to an earlier request, computed again (the same person and day)."""
    found = _RESPONSE_ID.match(request.args.get("request", "").removeprefix("CoverageEligibilityRequest/"))
    if found is None:
        raise Refused(400, _l("Search by request: ?request=<the id of the answer to your request>."))
    person = _person_by_id(found.group("person"))
    try:
        on = datetime.strptime(found.group("day"), "%Y%m%d").date()
    except ValueError as exc:
        raise Refused(400, _l("Search by request: ?request=<the id of the answer to your request>.")) from exc
    scheme = db.session.get(Scheme, person.scheme_id)
    return fhir(resources.bundle([_eligibility_resource(scheme, person, on, ["validation"])], base_url()))


# ------------------------------------------------------------------------------------------------------ claims


def _amount(value, path: str) -> Decimal:
    """A FHIR Money value (an exact decimal, read from the JSON number)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise Refused(400, _l("%(path)s must be a number.", path=path))
    return Decimal(value)


def _claim_values(data: dict) -> tuple[dict, list[tuple[str, str]], list[int]]:
    """The claim form's fields from a FHIR Claim: (values, bill lines, item sequences)."""
    items = data.get("item")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise Refused(400, _l("item is required: one entry per line of the bill, each with productOrService."))
    benefits, lines, sequences = set(), [], []
    for n, item in enumerate(items, start=1):
        coding = (item.get("productOrService") or {}).get("coding") or [{}]
        benefits.add(_text(coding[0].get("code"), f"item[{n - 1}].productOrService.coding[0].code"))
        net = item.get("net") or item.get("unitPrice")
        if not isinstance(net, dict):
            raise Refused(400, _l("item[%(n)s].net is required (the line's amount).", n=n - 1))
        label = (item.get("productOrService") or {}).get("text") or coding[0].get("display") or coding[0]["code"]
        lines.append((str(label)[:120], str(_amount(net.get("value"), f"item[{n - 1}].net.value"))))
        sequences.append(item.get("sequence") if isinstance(item.get("sequence"), int) else n)
    if len(benefits) != 1:
        raise Refused(400, _l("All items of a claim are for one benefit (productOrService code)."))
    first = items[0]
    if first.get("servicedDate") is not None:
        service = _day(first["servicedDate"], "item[0].servicedDate")
    elif isinstance(data.get("billablePeriod"), dict) and data["billablePeriod"].get("start"):
        service = _day(data["billablePeriod"]["start"], "billablePeriod.start")
    else:
        raise Refused(400, _l("Give the date of service (item[0].servicedDate or billablePeriod.start)."))
    provider = data.get("provider") or {}
    provider_code = ""
    if isinstance(provider.get("identifier"), dict):
        provider_code = str(provider["identifier"].get("value") or "")
    elif isinstance(provider.get("reference"), str) and provider["reference"].startswith("Organization/"):
        provider_code = provider["reference"].split("/", 1)[1]
    diagnosis = ""
    for entry in data.get("diagnosis") or []:
        coding = ((entry or {}).get("diagnosisCodeableConcept") or {}).get("coding") or []
        if coding and coding[0].get("code"):
            diagnosis = str(coding[0]["code"])
            break
    identifiers = data.get("identifier") or []
    claim_ref = identifiers[0].get("value") if identifiers and isinstance(identifiers[0], dict) else None
    values = {
        "claim_ref": claim_ref,
        "provider_code": provider_code,
        "benefit_code": benefits.pop(),
        "date_of_service": service.isoformat(),
        "date_submitted": _day(data.get("created"), "created").isoformat(),
        "diagnosis_code": diagnosis,
    }
    if isinstance(data.get("total"), dict) and data["total"].get("value") is not None:
        values["amount_claimed"] = str(_amount(data["total"]["value"], "total.value"))
    if len(lines) == 1:
        # One item is the whole bill, not a line of it (a cash benefit's claim may be of 0).
        amount = lines.pop()[1]
        if values.get("amount_claimed") is not None and Decimal(values["amount_claimed"]) != Decimal(amount):
            raise Refused(400, _l("total.value must equal the item's net value."))
        values["amount_claimed"] = amount
    return values, lines, sequences


@bp.post("/Claim")
@permission_required("claims.enter", tokens=True)
def claim_create():
    """Decide a claim by adjudication.md — the claim form's own path — and answer with the ClaimResponse (201).
    An unknown member number is a decision (REJECTED, UNKNOWN_MEMBER), as on the form."""
    data = read_resource("Claim")
    scheme, member_no, person = _patient_reference(data)
    values, lines, sequences = _claim_values(data)
    values["member_no"] = member_no
    try:
        claim = claim_from_json(scheme, values, lines, actor=current_user)
    except InputRejected as exc:
        raise Refused(
            422,
            _l("The claim was refused; nothing was saved."),
            {p.column or "claim": p.translated_text() for p in exc.problems},
        ) from exc
    except ClaimError as exc:
        raise Refused(409, say(exc)) from exc
    db.session.commit()
    decision = claim.decisions[-1]
    details = [translate(c["message"], c["params"], scheme) for c in decision.checks if not c["passed"]]
    disposition = " ".join([claim.status, *details])
    resource = resources.claim_response(
        claim, person.id if person is not None else None, scheme, sequences=sequences, disposition=disposition
    )
    return fhir(resource, 201, f"{base_url()}/ClaimResponse/{claim.id}")


def init_app(app) -> None:
    """Register the FHIR endpoints; an unknown FHIR address is an OperationOutcome (mhi/core/problems.py)."""
    app.register_blueprint(bp)
