"""mhi's records as FHIR R4 resources (JSON dictionaries). Builders only read what they are given: the views load
the records and call the features' functions (eligibility, claim decisions); nothing here decides anything.

Every resource carries the elements R4 requires (a client validating with a FHIR library accepts it); amounts are
FHIR decimals (JSON numbers) written exactly from the stored Decimal.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mhi.core import clock
from mhi.fhir import codes

RELATIONSHIP_CODES = {"head": "self", "spouse": "spouse", "child": "child", "parent": "parent", "other": "other"}
GENDERS = {"F": "female", "M": "male"}


def now() -> str:
    """An instant with its time zone, as FHIR dateTime requires."""
    return clock.now().replace(microsecond=0).isoformat()


def number(value: Decimal) -> int | float:
    """A FHIR decimal is a JSON number: an integer when whole (XOF has no minor unit), else the nearest double,
    whose shortest form ("1500.5") reads back as the same decimal for amounts of a currency's few decimals."""
    return int(value) if value == value.to_integral_value() else float(value)


def money(value: Decimal, currency: str) -> dict:
    return {"value": number(value), "currency": currency}


def member_identifier(scheme_code: str, member_no: str) -> dict:
    return {"use": "official", "system": codes.MEMBER_SYSTEM.format(scheme=scheme_code), "value": member_no}


def insurer(scheme) -> dict:
    """The scheme as the insurer: a reference by identifier (mhi serves no Organization resource)."""
    return {"identifier": {"system": codes.SCHEME_SYSTEM, "value": scheme.code}, "display": scheme.name}


def patient(person, scheme) -> dict:
    """A person of the register as a Patient."""
    resource = {
        "resourceType": "Patient",
        "id": str(person.id),
        "identifier": [member_identifier(scheme.code, person.member_no)],
        "active": person.exit_date is None,
        "name": [{"use": "official", "family": person.last_name, "given": [person.first_name]}],
        "gender": GENDERS.get(person.sex, "unknown"),
        "birthDate": person.date_of_birth.isoformat(),
    }
    if person.phone:
        resource["telecom"] = [{"system": "phone", "value": person.phone}]
    if person.village:
        resource["address"] = [{"use": "home", "city": person.village}]
    return resource


def coverage(person, household, product, scheme) -> dict:
    """A beneficiary's cover: the household's product, from the person's enrolment to the household's end."""
    ends = [d for d in (person.exit_date, household.exit_date, household.strike_off_date) if d is not None]
    period = {"start": person.enrolment_date.isoformat()}
    if ends:
        period["end"] = min(ends).isoformat()
    return {
        "resourceType": "Coverage",
        "id": str(person.id),
        "identifier": [member_identifier(scheme.code, person.member_no)],
        "status": "cancelled" if ends and min(ends) <= clock.today() else "active",
        "subscriberId": household.ref,
        "beneficiary": {"reference": f"Patient/{person.id}"},
        "relationship": {
            "coding": [{"system": codes.SUBSCRIBER_RELATIONSHIP, "code": RELATIONSHIP_CODES[person.relation]}]
        },
        "period": period,
        "payor": [insurer(scheme)],
        "class": [
            {
                "type": {"coding": [{"system": codes.COVERAGE_CLASS, "code": "plan"}]},
                "value": product.code,
                "name": product.name,
            }
        ],
    }


def eligibility_response(answer, person, scheme, *, response_id: str, purpose: list[str], reasons: list[str]) -> dict:
    """The eligibility page's answer as a CoverageEligibilityResponse: ``inforce`` is "covered", each benefit an
    item with what it allows and what is used (the year's ceiling, the cases), ``excluded`` while its waiting
    period runs; ``disposition`` says why not covered, in the caller's language."""
    year = answer.on.year
    items = []
    for b in answer.benefits:
        item = {
            "category": {"coding": [{"system": codes.BENEFIT_TYPE, "code": "benefit", "display": "Benefit"}]},
            "productOrService": {
                "coding": [
                    {"system": codes.BENEFIT_SYSTEM.format(scheme=scheme.code), "code": b.code, "display": b.name}
                ],
                "text": b.name,
            },
            "excluded": not b.waiting_over,
            "name": b.name,
            "description": f"waiting period ends {b.first_day.isoformat()}",
            "term": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-term", "code": "annual"}]},
        }
        benefits = []
        if b.ceiling_per_year is not None:
            benefits.append(
                {
                    "type": {"coding": [{"system": codes.BENEFIT_TYPE, "code": "benefit"}], "text": "ceiling per year"},
                    "allowedMoney": money(b.ceiling_per_year, scheme.currency),
                    "usedMoney": money(b.used, scheme.currency),
                }
            )
        if b.max_cases is not None:
            benefits.append(
                {
                    "type": {"coding": [{"system": codes.BENEFIT_TYPE, "code": "visit"}], "text": "cases per year"},
                    "allowedUnsignedInt": b.max_cases,
                    "usedUnsignedInt": b.cases,
                }
            )
        if benefits:
            item["benefit"] = benefits
        items.append(item)
    insurance = {
        "coverage": {
            "reference": f"Coverage/{person.id}",
            "display": f"{scheme.name} — {answer.product_code} — {answer.household_ref}",
        },
        "inforce": answer.covered,
        "benefitPeriod": {"start": date(year, 1, 1).isoformat(), "end": date(year, 12, 31).isoformat()},
    }
    if items:
        insurance["item"] = items
    resource = {
        "resourceType": "CoverageEligibilityResponse",
        "id": response_id,
        "status": "active",
        "purpose": purpose,
        "patient": {"reference": f"Patient/{person.id}", "display": answer.name},
        "servicedDate": answer.on.isoformat(),
        "created": now(),
        "request": {"reference": f"CoverageEligibilityRequest/{response_id}"},
        "outcome": "complete",
        "insurer": insurer(scheme),
        "insurance": [insurance],
    }
    if reasons:
        resource["disposition"] = " ".join(reasons)
    return resource


def _reason(code: str, *, rejected: bool) -> dict:
    coding = [{"system": codes.REASON_SYSTEM, "code": code}]
    other = codes.openimis_coding(code, rejected=rejected)
    if other is not None:
        coding.append(other)
    return {"coding": coding, "text": code}


def _category(code: str) -> dict:
    return {"coding": [{"system": codes.ADJUDICATION, "code": code}]}


def claim_response(claim, person_id: int | None, scheme, *, sequences: list[int], disposition: str) -> dict:
    """A decided claim as a ClaimResponse: the amount claimed (``submitted``) and paid (``benefit``), and the
    reason codes — mhi's with openIMIS's beside them (docs/fhir.md)."""
    reasons = [r for r in claim.reasons.split(";") if r]
    rejected = claim.status == "REJECTED"
    adjudication = [
        {"category": _category("submitted"), "amount": money(claim.amount_claimed, scheme.currency)},
        {"category": _category("benefit"), "amount": money(claim.amount_approved, scheme.currency)},
    ]
    for code in reasons:
        adjudication.append({"category": _category("benefit"), "reason": _reason(code, rejected=rejected)})
    if not reasons:
        adjudication[1]["reason"] = {
            "coding": [{"system": codes.REASON_SYSTEM, "code": "APPROVED"}, codes.openimis_coding("", rejected=False)],
            "text": "APPROVED",
        }
    patient_ref = (
        {"reference": f"Patient/{person_id}"}
        if person_id is not None
        else {"identifier": {"system": codes.MEMBER_SYSTEM.format(scheme=scheme.code), "value": claim.member_no}}
    )
    return {
        "resourceType": "ClaimResponse",
        "id": str(claim.id),
        "identifier": [{"system": codes.CLAIM_SYSTEM.format(scheme=scheme.code), "value": claim.claim_ref}],
        "status": "active",
        "type": {"coding": [{"system": codes.CLAIM_TYPE, "code": "professional"}]},
        "use": "claim",
        "patient": patient_ref,
        "created": now(),
        "insurer": insurer(scheme),
        "request": {"identifier": {"system": codes.CLAIM_SYSTEM.format(scheme=scheme.code), "value": claim.claim_ref}},
        "outcome": "complete",
        "disposition": disposition,
        "item": [{"itemSequence": seq, "adjudication": [adjudication[1]]} for seq in sequences],
        "adjudication": adjudication,
        "total": [
            {"category": _category("submitted"), "amount": money(claim.amount_claimed, scheme.currency)},
            {"category": _category("benefit"), "amount": money(claim.amount_approved, scheme.currency)},
        ],
    }


def bundle(resources: list[dict], base: str) -> dict:
    """A searchset Bundle of ``resources``."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def capability_statement(base: str) -> dict:
    """What this server answers (the ``metadata`` interaction)."""

    def resource(kind: str, interactions: list[str], params: list[tuple[str, str]] = ()) -> dict:
        item = {"type": kind, "interaction": [{"code": i} for i in interactions]}
        if params:
            item["searchParam"] = [{"name": n, "type": t} for n, t in params]
        return item

    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now(),
        "publisher": "mhi",
        "kind": "instance",
        "software": {"name": "mhi"},
        "implementation": {"description": "mhi — community health micro-insurance", "url": base},
        "fhirVersion": codes.FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "Authorization: Bearer <API token>",
                        }
                    ]
                },  # fmt: skip
                "resource": [
                    resource("Patient", ["read", "search-type"], [("identifier", "token")]),
                    resource("Coverage", ["read", "search-type"], [("beneficiary", "reference")]),
                    resource("CoverageEligibilityRequest", ["create"]),
                    resource("CoverageEligibilityResponse", ["search-type"], [("request", "reference")]),
                    resource("Claim", ["create"]),
                ],
            }
        ],
    }
