"""FHIR R4 at /fhir/r4 on the ndiagane example: every resource the server returns validates with fhir.resources
(R4B models, the same structures as R4 for these resources); eligibility agrees with eligibility.json for
covered, waiting, struck-off and unknown members; a FHIR Claim gets the decision the form gives (the expected
claims.csv); refusals are OperationOutcomes and write nothing; the token's scope holds."""

from __future__ import annotations

import csv
import importlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.claims.models import Claim
from mhi.core.db import db
from mhi.fhir import codes
from mhi.members.models import Household, Person
from mhi.schemes.models import Federation, Scheme
from tests.api.helpers import bearer, load_ndiagane, token_for
from tests.conftest import EXAMPLES
from tests.factories import make_user, records

FHIR = "/fhir/r4"
JSON = {"Content-Type": "application/fhir+json"}


def validate(resource: dict):
    """Parse ``resource`` with fhir.resources' model of its type (raises when it is not a valid resource)."""
    kind = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{kind.lower()}")
    model = getattr(module, kind).model_validate(resource)
    for entry in resource.get("entry", []):
        validate(entry["resource"])
    return model


@pytest.fixture
def world(app, runner):
    load_ndiagane(runner)
    with records(app) as session:
        ndiagane = session.scalar(select(Scheme).where(Scheme.code == "MUT-NDIAGANE"))
        pout = session.scalar(select(Scheme).where(Scheme.code == "MUT-POUT"))
        federation = session.scalar(select(Federation))
        officer = make_user(session, "claims_officer", scheme=ndiagane)
        clerk = make_user(session, "clerk", scheme=ndiagane)
        elsewhere = make_user(session, "claims_officer", scheme=pout)
        reviewer = make_user(session, "federation_reviewer", federation=federation)
    return {
        "scheme": ndiagane,
        "officer": bearer(token_for(app, officer)),
        "clerk": bearer(token_for(app, clerk)),
        "elsewhere": bearer(token_for(app, elsewhere)),
        "reviewer": bearer(token_for(app, reviewer)),
    }


def person_id(app, member_no: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Person.id).where(Person.member_no == member_no))


def eligibility_request(patient: dict, day: str) -> dict:
    """What an ERP's eligibility wizard sends (shared/notes/fhir-clients.md)."""
    return {
        "resourceType": "CoverageEligibilityRequest",
        "status": "active",
        "priority": {"coding": [{"code": "normal"}]},
        "purpose": ["validation"],
        "patient": patient,
        "servicedDate": day,
        "created": f"{day}T09:00:00+00:00",
        "insurer": {"reference": "Organization/MUT-NDIAGANE"},
        "provider": {"reference": "Organization/CS-NDIAGANE"},
        "insurance": [{"focal": True, "coverage": {"reference": "Coverage/1"}}],
    }


def test_metadata_is_a_capability_statement(client):
    answer = client.get(f"{FHIR}/metadata")

    statement = validate(answer.get_json())
    assert answer.status_code == 200 and answer.mimetype == "application/fhir+json"
    assert statement.fhirVersion == "4.0.1"
    assert {r.type for r in statement.rest[0].resource} >= {
        "Patient",
        "Coverage",
        "CoverageEligibilityRequest",
        "Claim",
    }


def test_patient_read_search_and_coverage(app, client, world):
    pid = person_id(app, "NDIA-00140")
    system = codes.MEMBER_SYSTEM.format(scheme="MUT-NDIAGANE")

    read = client.get(f"{FHIR}/Patient/{pid}", headers=world["clerk"])
    search = client.get(f"{FHIR}/Patient?identifier={system}|NDIA-00140", headers=world["clerk"])
    bare = client.get(f"{FHIR}/Patient?identifier=NDIA-00140", headers=world["clerk"])
    coverage = client.get(f"{FHIR}/Coverage?beneficiary=Patient/{pid}", headers=world["clerk"])
    none = client.get(f"{FHIR}/Patient?identifier={system}|NDIA-99999", headers=world["clerk"])

    patient = validate(read.get_json())
    assert patient.identifier[0].system == system and patient.identifier[0].value == "NDIA-00140"
    assert validate(search.get_json()).total == 1
    assert search.get_json()["entry"][0]["resource"] == read.get_json()
    assert bare.get_json()["total"] == 1
    bundle = validate(coverage.get_json())
    assert (
        bundle.total == 1
        and coverage.get_json()["entry"][0]["resource"]["beneficiary"]["reference"] == f"Patient/{pid}"
    )
    assert validate(none.get_json()).total == 0


def _members(app):
    """A covered member, one in a waiting period, one struck off, each with the day to ask about."""
    with app.app_context():
        struck = db.session.execute(
            select(Person.member_no, Household.strike_off_date)
            .join(Household, Person.household_id == Household.id)
            .where(Household.strike_off_date.is_not(None), Person.scheme_id == Household.scheme_id)
            .order_by(Person.member_no)
            .limit(1)
        ).one()
        recent = db.session.execute(
            select(Person.member_no, Person.enrolment_date)
            .join(Household, Person.household_id == Household.id)
            .join(Scheme, Person.scheme_id == Scheme.id)
            .where(Scheme.code == "MUT-NDIAGANE", Household.strike_off_date.is_(None))
            .order_by(Person.enrolment_date.desc(), Person.member_no)
            .limit(1)
        ).one()
    return [
        ("covered", "NDIA-00140", "2025-06-30"),
        ("waiting", recent.member_no, (recent.enrolment_date + timedelta(days=1)).isoformat()),
        ("struck off", struck.member_no, (struck.strike_off_date + timedelta(days=1)).isoformat()),
    ]


def test_fhir_eligibility_agrees_with_eligibility_json(app, client, world):
    seen = set()
    for label, member_no, day in _members(app):
        page = client.get(f"/schemes/MUT-NDIAGANE/eligibility.json?member_no={member_no}&on={day}",
                          headers=world["officer"]).get_json()  # fmt: skip
        request = eligibility_request({"reference": f"Patient/{person_id(app, member_no)}"}, day)
        answer = client.post(f"{FHIR}/CoverageEligibilityRequest", json=request, headers=world["officer"] | JSON)

        assert answer.status_code == 201, answer.get_data(as_text=True)
        resource = answer.get_json()
        validate(resource)
        insurance = resource["insurance"][0]
        assert insurance["inforce"] is page["covered"], label
        items = {i["productOrService"]["coding"][0]["code"]: i for i in insurance.get("item", [])}
        assert list(items) == [b["code"] for b in page["benefits"]], label
        for b in page["benefits"]:
            item = items[b["code"]]
            assert item["excluded"] is (not b["waiting_over"]), (label, b["code"])
            money = {x["type"]["coding"][0]["code"]: x for x in item.get("benefit", [])}
            if b["ceiling_per_year"] is not None:
                assert Decimal(str(money["benefit"]["allowedMoney"]["value"])) == Decimal(b["ceiling_per_year"])
                assert Decimal(str(money["benefit"]["usedMoney"]["value"])) == Decimal(b["used"])
            if b["max_cases"] is not None:
                assert money["visit"]["allowedUnsignedInt"] == b["max_cases"]
                assert money["visit"]["usedUnsignedInt"] == b["cases"]
        assert ("disposition" in resource) is bool(page["reasons"])
        again = client.get(f"{FHIR}/CoverageEligibilityResponse?request={resource['id']}", headers=world["officer"])
        assert validate(again.get_json()).entry[0].resource.insurance[0].inforce is page["covered"]
        seen.add((label, page["covered"], any(not b["waiting_over"] for b in page["benefits"])))
    assert ("covered", True, False) in seen
    assert any(label == "waiting" and waiting for label, _c, waiting in seen)
    assert ("struck off", False, False) in {(label, c, False) for label, c, _w in seen if label == "struck off"}

    system = codes.MEMBER_SYSTEM.format(scheme="MUT-NDIAGANE")
    unknown = client.post(
        f"{FHIR}/CoverageEligibilityRequest",
        json=eligibility_request({"identifier": {"system": system, "value": "NDIA-99999"}}, "2025-06-30"),
        headers=world["officer"] | JSON,
    )
    page = client.get("/schemes/MUT-NDIAGANE/eligibility.json?member_no=NDIA-99999", headers=world["officer"])
    assert page.get_json()["found"] is False
    assert unknown.status_code == 404 and "NDIA-99999" in validate(unknown.get_json()).issue[0].diagnostics


def _fhir_claim(row: dict) -> dict:
    """A claims.csv row as the FHIR Claim a health facility's software sends."""
    system = codes.MEMBER_SYSTEM.format(scheme="MUT-NDIAGANE")
    claim = {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": codes.CLAIM_TYPE, "code": "professional"}]},
        "use": "claim",
        "identifier": [{"system": "urn:example:facility", "value": row["claim_ref"]}],
        "patient": {"identifier": {"system": system, "value": row["member_no"]}},
        "created": row["date_submitted"],
        "provider": {"identifier": {"value": row["provider_code"]}},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/1"}}],
        "item": [
            {
                "sequence": 1,
                "productOrService": {"coding": [{"code": row["benefit_code"]}]},
                "servicedDate": row["date_of_service"],
                "net": {"value": int(row["amount_claimed"]), "currency": "XOF"},
            }
        ],
        "total": {"value": int(row["amount_claimed"]), "currency": "XOF"},
    }
    if row["diagnosis_code"]:
        claim["diagnosis"] = [
            {"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"code": row["diagnosis_code"]}]}}
        ]
    return claim


def test_fhir_claims_get_the_forms_decisions_on_the_example(app, client, world):
    folder = EXAMPLES / "ndiagane"
    with (folder / "MUT-NDIAGANE" / "claims.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: (r["date_of_service"], r["date_submitted"], r["claim_ref"]))
    with (EXAMPLES / "ndiagane-expected" / "MUT-NDIAGANE" / "claims.csv").open(encoding="utf-8-sig") as handle:
        expected = {r["claim_ref"]: r for r in csv.DictReader(handle)}
    wrong = []
    for row in rows:
        answer = client.post(f"{FHIR}/Claim", json=_fhir_claim(row), headers=world["officer"] | JSON)
        assert answer.status_code == 201, (row["claim_ref"], answer.get_data(as_text=True))
        response = answer.get_json()
        validate(response)
        benefit = response["adjudication"][1]
        reasons = [a["reason"]["coding"][0]["code"] for a in response["adjudication"][2:]]
        got = (response["disposition"].split()[0], str(benefit["amount"]["value"]), ";".join(reasons))
        want = expected[row["claim_ref"]]
        if got != (want["status"], want["amount_approved"], want["reasons"]):
            wrong.append(f"{row['claim_ref']}: {got} != {(want['status'], want['amount_approved'], want['reasons'])}")
        for a in response["adjudication"][2:]:
            code = a["reason"]["coding"][0]["code"]
            openimis = codes.REASON_TO_OPENIMIS.get(code) if want["status"] == "REJECTED" else 0
            if openimis is not None:
                assert a["reason"]["coding"][1]["code"] == str(openimis)
    assert not wrong, "\n".join(wrong)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Claim)) == len(rows)


BAD = [
    ("malformed JSON", b'{"resourceType": "Claim", ', 400, "not valid JSON"),
    ("wrong resourceType", json.dumps({"resourceType": "Patient"}).encode(), 400, "Expected a Claim"),
    ("an amount with decimals the currency has not", None, 422, "more decimals than XOF"),
    ("an amount as text", None, 400, "must be a number"),
    ("an unknown patient id", None, 404, "no such patient"),
    ("an oversized body", b'{"resourceType": "Claim", "x": "' + b"x" * 300_000 + b'"}', 413, "larger"),
]


@pytest.mark.parametrize(("name", "body", "status", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_claims_get_an_operation_outcome_and_write_nothing(app, client, world, name, body, status, words):
    row = {"claim_ref": "X-1", "member_no": "NDIA-00140", "provider_code": "CS-NDIAGANE", "benefit_code": "OPD",
           "date_of_service": "2025-06-02", "date_submitted": "2025-06-03", "amount_claimed": "1500",
           "diagnosis_code": ""}  # fmt: skip
    claim = _fhir_claim(row)
    if body is None:
        if "decimals" in name:
            claim["item"][0]["net"]["value"] = Decimal("1500.5")
            claim["total"]["value"] = Decimal("1500.5")
        elif "text" in name:
            claim["item"][0]["net"]["value"] = "1500"
        else:
            claim["patient"] = {"reference": "Patient/999999"}
        body = json.dumps(claim, default=str).replace('"1500.5"', "1500.5").encode()

    answer = client.post(f"{FHIR}/Claim", data=body, headers=world["officer"] | JSON)

    assert answer.status_code == status, answer.get_data(as_text=True)
    outcome = validate(answer.get_json())
    assert words.lower() in " ".join(i.diagnostics for i in outcome.issue).lower()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


def test_a_token_in_the_address_and_no_token_are_refused_as_operation_outcomes(app, client, world):
    secret = world["officer"]["Authorization"].split()[1]

    in_address = client.get(f"{FHIR}/Patient?identifier=NDIA-00140&access_token={secret}")
    without = client.get(f"{FHIR}/Patient?identifier=NDIA-00140")

    assert in_address.status_code == 400 and validate(in_address.get_json())
    assert without.status_code == 401 and validate(without.get_json()).issue[0].code == "login"


def test_scope_holds_for_fhir(app, client, world):
    pid = person_id(app, "NDIA-00140")
    request = eligibility_request({"reference": f"Patient/{pid}"}, "2025-06-30")
    claim = _fhir_claim({"claim_ref": "X-1", "member_no": "NDIA-00140", "provider_code": "CS-NDIAGANE",
                         "benefit_code": "OPD", "date_of_service": "2025-06-02", "date_submitted": "2025-06-03",
                         "amount_claimed": "1500", "diagnosis_code": ""})  # fmt: skip
    calls = [
        ("GET", f"{FHIR}/Patient/{pid}", None),
        ("GET", f"{FHIR}/Patient?identifier=NDIA-00140", None),
        ("GET", f"{FHIR}/Coverage?beneficiary=Patient/{pid}", None),
        ("POST", f"{FHIR}/CoverageEligibilityRequest", request),
        ("POST", f"{FHIR}/Claim", claim),
    ]
    for method, url, body in calls:
        elsewhere = client.open(url, method=method, json=body, headers=world["elsewhere"])
        reviewer = client.open(url, method=method, json=body, headers=world["reviewer"])
        assert elsewhere.status_code in (404, 200), url
        if elsewhere.status_code == 200:
            assert elsewhere.get_json()["total"] == 0, url  # a search finds nothing of another scheme
        assert "NDIA-00140" not in elsewhere.get_data(as_text=True), url
        assert reviewer.status_code == 403, url
        validate(reviewer.get_json())
        if elsewhere.status_code != 200:
            validate(elsewhere.get_json())
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Claim)) == 0
