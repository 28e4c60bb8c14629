"""Eligibility, claims, indicators and the federation report through /api/v1: the same answers as the pages'
JSON, decided by the same code, and a federation reviewer's token reaching no patient-level data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mhi.claims.models import Claim
from mhi.core.db import db
from tests.api.helpers import bearer, two_schemes
from tests.api.test_register import HOUSEHOLD


@pytest.fixture
def world(app, client):
    world = two_schemes(app)
    token = bearer(world["tokens"]["scheme_manager"])
    client.post("/api/v1/schemes/MUT-A/households", json=HOUSEHOLD, headers=token)
    client.post(
        "/api/v1/schemes/MUT-A/receipts", json={"household_ref": "H-001", "date": "2025-01-10", "amount": 20000},
        headers=token,
    )  # fmt: skip
    return world


CLAIM = {"member_no": "H-001-01", "benefit_code": "OPD", "provider_code": "CS-1", "date_of_service": "2025-05-02",
         "date_submitted": "2025-05-03", "lines": [{"label": "consultation", "amount": "1500"},
                                                   {"label": "drugs", "amount": 2000}]}  # fmt: skip


def test_eligibility_is_the_pages_answer(client, world):
    token = bearer(world["tokens"]["claims_officer"])
    for member, day in (("H-001-01", "2025-05-02"), ("H-001-02", "2025-02-01"), ("NOBODY", "2025-05-02")):
        api = client.get(f"/api/v1/schemes/MUT-A/eligibility?member_no={member}&on={day}", headers=token)
        page = client.get(f"/schemes/MUT-A/eligibility.json?member_no={member}&on={day}", headers=token)
        assert api.status_code == 200 and api.get_json() == page.get_json()
    assert api.get_json()["found"] is False


def test_a_claim_is_decided_read_and_listed(app, client, world):
    token = bearer(world["tokens"]["claims_officer"])

    made = client.post("/api/v1/schemes/MUT-A/claims", json=CLAIM | {"claim_ref": "CS-1/2025/0001"}, headers=token)
    ref = made.get_json()["claim_ref"]
    unknown = client.get("/api/v1/schemes/MUT-A/claims/CS-1/2025/9999", headers=token)
    read = client.get(f"/api/v1/schemes/MUT-A/claims/{ref}", headers=token)
    approved = client.get("/api/v1/schemes/MUT-A/claims?status=APPROVED", headers=token).get_json()
    rejected = client.get("/api/v1/schemes/MUT-A/claims?status=REJECTED", headers=token).get_json()
    bad_status = client.get("/api/v1/schemes/MUT-A/claims?status=PAID", headers=token)

    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert (body["status"], body["amount_claimed"], body["amount_approved"]) == ("APPROVED", "3500", "2800")
    assert [c["code"] for c in body["checks"]][:2] == ["UNKNOWN_MEMBER", "UNKNOWN_BENEFIT"]
    assert read.get_json() == body
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert client.get("/api/v1/no/such/address", headers=token).status_code == 404
    assert [c["claim_ref"] for c in approved["items"]] == [ref] and rejected["items"] == []
    assert bad_status.status_code == 400 and "status" in bad_status.get_json()["errors"]


def test_a_claim_with_a_float_or_a_used_reference_is_refused_and_not_written(app, client, world):
    token = bearer(world["tokens"]["claims_officer"])
    client.post("/api/v1/schemes/MUT-A/claims", json=CLAIM | {"claim_ref": "C-1"}, headers=token)

    floated = client.post(
        "/api/v1/schemes/MUT-A/claims",
        data=b'{"member_no": "H-001-01", "benefit_code": "OPD", "date_of_service": "2025-05-02", '
        b'"date_submitted": "2025-05-03", "amount_claimed": 1500.0}',
        headers=token | {"Content-Type": "application/json"},
    )
    twice = client.post("/api/v1/schemes/MUT-A/claims", json=CLAIM | {"claim_ref": "C-1"}, headers=token)
    not_a_sum = client.post("/api/v1/schemes/MUT-A/claims", json=CLAIM | {"amount_claimed": "10"}, headers=token)

    assert floated.status_code == 400 and "never floats" in floated.get_json()["detail"]
    assert twice.status_code == 409
    assert not_a_sum.status_code == 422 and "amount_claimed" in not_a_sum.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Claim)) == 1


def test_indicators_and_the_federation_report_are_the_pages_documents(client, world):
    manager = bearer(world["tokens"]["scheme_manager"])
    reviewer = bearer(world["tokens"]["federation_reviewer"])
    period = "kind=range&from=2025-01-01&to=2025-12-31"

    api = client.get(f"/api/v1/schemes/MUT-A/indicators?{period}", headers=manager)
    page = client.get(f"/schemes/MUT-A/indicators.json?{period}", headers=manager)
    report = client.get(f"/api/v1/federations/F1/report?{period}", headers=reviewer)
    report_page = client.get(f"/federations/F1/report.json?{period}", headers=reviewer)
    bad = client.get("/api/v1/schemes/MUT-A/indicators?kind=year&value=last", headers=manager)

    assert api.status_code == 200 and api.get_json() == page.get_json()
    assert report.status_code == 200 and report.get_json() == report_page.get_json()
    assert list(report.get_json()["schemes"]) == ["MUT-A"]
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    assert client.get("/api/v1/federations/F2/report", headers=reviewer).status_code == 404


def test_a_federation_reviewers_token_reaches_no_patient_level_data(client, world):
    reviewer = bearer(world["tokens"]["federation_reviewer"])

    for method, url in (
        ("GET", "/api/v1/schemes/MUT-A/households"),
        ("GET", "/api/v1/schemes/MUT-A/households/H-001"),
        ("GET", "/api/v1/schemes/MUT-A/persons?q=awa"),
        ("GET", "/api/v1/schemes/MUT-A/persons/H-001-01"),
        ("GET", "/api/v1/schemes/MUT-A/eligibility?member_no=H-001-01"),
        ("GET", "/api/v1/schemes/MUT-A/claims"),
        ("POST", "/api/v1/schemes/MUT-A/claims"),
        ("GET", "/schemes/MUT-A/eligibility.json?member_no=H-001-01"),
    ):
        answer = client.open(url, method=method, headers=reviewer, json=CLAIM if method == "POST" else None)
        assert answer.status_code == 403, url
        assert "Awa" not in answer.get_data(as_text=True)
    assert client.get("/api/v1/schemes/MUT-A/indicators", headers=reviewer).status_code == 200


def test_no_token_gets_401_never_a_redirect(client, world):
    for method, url in (("GET", "/api/v1/schemes/MUT-A/households"), ("POST", "/api/v1/schemes/MUT-A/claims"),
                        ("GET", "/api/v1/no/such/route")):  # fmt: skip
        answer = client.open(url, method=method)
        assert answer.status_code == 401 and "Location" not in answer.headers
        assert answer.mimetype == "application/problem+json"
