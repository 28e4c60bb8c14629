"""The register, receipts and their refusals through /api/v1 with a token: the same services as the forms, one
error shape (problem details), nothing written on bad input, and the token's scheme scope."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.core.audit import AuditEvent
from mhi.core.db import db
from mhi.members.models import Household, Person
from tests.api.helpers import bearer, two_schemes

HOUSEHOLD = {
    "ref": "H-001",
    "product_code": "BASE",
    "village": "Ndiagane",
    "persons": [
        {"first_name": "Awa", "last_name": "Diop", "sex": "F", "date_of_birth": "1985-03-02",
         "relationship": "head", "enrolment_date": "2025-01-10", "phone": "+221 77 000 00 01"},
        {"first_name": "Modou", "last_name": "Diop", "sex": "M", "date_of_birth": "2015-07-01",
         "relationship": "child", "enrolment_date": "2025-01-10"},
    ],
}  # fmt: skip


@pytest.fixture
def world(app):
    return two_schemes(app)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(model)) for model in (Household, Person, Receipt)
        )


def test_enrol_read_list_and_correct_a_household(app, client, world):
    token = world["tokens"]["clerk"]

    made = client.post("/api/v1/schemes/MUT-A/households", json=HOUSEHOLD, headers=bearer(token))
    read = client.get("/api/v1/schemes/MUT-A/households/H-001", headers=bearer(token))
    listed = client.get("/api/v1/schemes/MUT-A/households?village=Ndiagane&per_page=1", headers=bearer(token))
    no_reason = client.patch("/api/v1/schemes/MUT-A/households/H-001", json={"village": "Pout"}, headers=bearer(token))
    corrected = client.patch(
        "/api/v1/schemes/MUT-A/households/H-001", json={"village": "Pout", "reason": "moved"}, headers=bearer(token)
    )

    assert made.status_code == 201, made.get_data(as_text=True)
    assert [p["member_no"] for p in made.get_json()["persons"]] == ["H-001-01", "H-001-02"]
    assert read.get_json()["persons"][0]["first_name"] == "Awa"
    assert listed.get_json() | {"items": None} == {"page": 1, "per_page": 1, "has_next": False, "items": None}
    assert listed.get_json()["items"][0]["ref"] == "H-001"
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["errors"]
    assert corrected.status_code == 200 and corrected.get_json()["village"] == "Pout"
    with app.app_context():
        row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "correct"))
        assert row.before == {"village": "Ndiagane"} and row.after == {"village": "Pout", "reason": "moved"}


def test_persons_search_add_and_correct(app, client, world):
    token = world["tokens"]["scheme_manager"]
    client.post("/api/v1/schemes/MUT-A/households", json=HOUSEHOLD, headers=bearer(token))
    baby = {"first_name": "Fatou", "last_name": "Diop", "sex": "F", "date_of_birth": "2025-05-01",
            "relationship": "child", "enrolment_date": "2025-05-03"}  # fmt: skip

    added = client.post("/api/v1/schemes/MUT-A/households/H-001/persons", json=baby, headers=bearer(token))
    found = client.get("/api/v1/schemes/MUT-A/persons?q=modou", headers=bearer(token)).get_json()
    page = client.get("/api/v1/schemes/MUT-A/persons?per_page=2", headers=bearer(token)).get_json()
    fixed = client.patch(
        "/api/v1/schemes/MUT-A/persons/H-001-02",
        json={"first_name": "Mamadou", "reason": "typo at enrolment"},
        headers=bearer(token),
    )
    refused = client.patch(
        "/api/v1/schemes/MUT-A/persons/H-001-02", json={"sex": "F", "reason": "?"}, headers=bearer(token)
    )

    assert added.status_code == 201 and added.get_json()["member_no"] == "H-001-03"
    assert [p["member_no"] for p in found["items"]] == ["H-001-02"]
    assert page["has_next"] is True and len(page["items"]) == 2
    assert fixed.get_json()["first_name"] == "Mamadou"
    assert client.get("/api/v1/schemes/MUT-A/persons?q=mamadou", headers=bearer(token)).get_json()["items"]
    assert refused.status_code == 400 and "sex" in refused.get_json()["errors"]


def test_receipts_are_recorded_and_reversed(app, client, world):
    token = world["tokens"]["clerk"]
    client.post("/api/v1/schemes/MUT-A/households", json=HOUSEHOLD, headers=bearer(token))

    paid = client.post(
        "/api/v1/schemes/MUT-A/receipts",
        json={"household_ref": "H-001", "date": "2025-01-10", "amount": "1600"},
        headers=bearer(token),
    )
    number = paid.get_json()["receipt_no"]
    reversed_ = client.post(
        f"/api/v1/schemes/MUT-A/receipts/{number}/reversal", json={"reason": "typed twice"}, headers=bearer(token)
    )
    again = client.post(
        f"/api/v1/schemes/MUT-A/receipts/{number}/reversal", json={"reason": "again"}, headers=bearer(token)
    )

    assert paid.status_code == 201 and paid.get_json()["amount"] == "1600"
    assert reversed_.status_code == 201
    assert reversed_.get_json() | {"receipt_no": None} == {
        "receipt_no": None, "household_ref": "H-001", "date": "2025-01-10", "amount": "-1600", "method": "cash",
        "collector": "", "reversal_of": number, "reason": "typed twice",
    }  # fmt: skip
    assert again.status_code == 422 and again.mimetype == "application/problem+json"
    assert counts(app) == (1, 2, 2)


BAD_BODIES = [
    ("malformed JSON", b'{"ref": "H-9", ', "application/json", 400, "not valid JSON"),
    ("a float amount", b'{"household_ref": "H-001", "date": "2025-01-10", "amount": 1600.5}', "application/json",
     400, "never floats"),
    ("not JSON", b"ref=H-9", "application/x-www-form-urlencoded", 415, "JSON"),
    ("a list", b"[]", "application/json", 400, "JSON object"),
    ("an unknown field", b'{"household_ref": "H-001", "date": "2025-01-10", "amount": "5", "rebate": "1"}',
     "application/json", 400, "not valid"),
    ("a missing field", b'{"household_ref": "H-001", "amount": "5"}', "application/json", 400, "not valid"),
    ("an oversized body", b'{"household_ref": "' + b"x" * 300_000 + b'"}', "application/json", 413, "larger"),
    ("an unknown household", b'{"household_ref": "NOPE", "date": "2025-01-10", "amount": "5"}',
     "application/json", 422, "refused"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "body", "mimetype", "status", "words"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_receipts_are_refused_with_problem_details_and_nothing_written(
    app, client, world, name, body, mimetype, status, words
):
    token = world["tokens"]["clerk"]
    client.post("/api/v1/schemes/MUT-A/households", json=HOUSEHOLD, headers=bearer(token))
    before = counts(app)

    answer = client.post(
        "/api/v1/schemes/MUT-A/receipts", data=body, headers=bearer(token, **{"Content-Type": mimetype})
    )

    assert answer.status_code == status, answer.get_data(as_text=True)
    problem = answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert set(problem) >= {"type", "title", "status", "detail"} and problem["status"] == status
    assert words in problem["detail"]
    assert counts(app) == before


def test_a_refused_enrolment_names_each_field_and_writes_nothing(app, client, world):
    token = world["tokens"]["clerk"]
    two_heads = json.loads(json.dumps(HOUSEHOLD))
    two_heads["persons"][1]["relationship"] = "head"
    bad_sex = json.loads(json.dumps(HOUSEHOLD))
    bad_sex["persons"][1]["sex"] = "X"

    refused = client.post("/api/v1/schemes/MUT-A/households", json=two_heads, headers=bearer(token))
    invalid = client.post("/api/v1/schemes/MUT-A/households", json=bad_sex, headers=bearer(token))

    assert refused.status_code == 422 and "exactly one head" in json.dumps(refused.get_json()["errors"])
    assert invalid.status_code == 400 and "persons[1].sex" in invalid.get_json()["errors"]
    assert counts(app) == (0, 0, 0)


def test_problems_are_in_the_callers_language(client, world):
    token = world["tokens"]["clerk"]

    answer = client.post(
        "/api/v1/schemes/MUT-A/receipts", data=b"{", headers=bearer(token, **{"Content-Type": "application/json",
                                                                               "Accept-Language": "fr"})
    )  # fmt: skip

    assert answer.get_json()["title"] == "Requête incorrecte"
    assert answer.get_json()["detail"] == "Le corps de la requête n'est pas du JSON valide."


def test_a_token_of_one_scheme_never_reaches_another(app, client, world):
    client.post("/api/v1/schemes/MUT-A/households", json=HOUSEHOLD, headers=bearer(world["tokens"]["clerk"]))
    other = bearer(world["other"])

    for url in (
        "/api/v1/schemes/MUT-A/households",
        "/api/v1/schemes/MUT-A/households/H-001",
        "/api/v1/schemes/MUT-A/persons/H-001-01",
        "/api/v1/schemes/MUT-A/persons?q=awa",
        "/api/v1/schemes/MUT-A/eligibility?member_no=H-001-01",
        "/api/v1/schemes/MUT-A/claims",
        "/api/v1/schemes/MUT-A/indicators",
    ):
        answer = client.get(url, headers=other)
        assert answer.status_code == 404, url
        assert "Awa" not in answer.get_data(as_text=True)
    refused = client.post(
        "/api/v1/schemes/MUT-A/receipts", json={"household_ref": "H-001", "date": "2025-01-10", "amount": "5"},
        headers=other,
    )  # fmt: skip
    assert refused.status_code == 404 and counts(app) == (1, 2, 0)
    assert client.get("/api/v1/schemes/MUT-B/households", headers=other).get_json()["items"] == []
