"""Claims screens: access (a federation reviewer never reaches a claim), eligibility page and JSON, the claim
form and the JSON API deciding at once, the claim page with its checks, overrides, queue, payment batches."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.claims import messages, rules, services
from mhi.claims.models import Claim, ClaimDecision, PaymentBatch
from mhi.core import clock
from mhi.schemes.models import Provider, Tariff
from tests.claims.claim_helpers import make_household
from tests.factories import login, make_federation, make_scheme, make_user, records


@pytest.fixture
def world(app):
    """Scheme A (federation F1) with a provider and a covered household, scheme B, and users."""
    with records(app) as session:
        f1 = make_federation(session, "F1")
        a = make_scheme(session, "MUT-A", federation=f1)
        b = make_scheme(session, "MUT-B", federation=f1)
        for scheme in (a, b):
            provider = Provider(scheme_id=scheme.id, code="CS", name="Centre de santé", contract_from=date(2024, 1, 1))
            session.add(provider)
            session.flush()
            session.add(
                Tariff(
                    provider_id=provider.id,
                    effective_from=provider.contract_from,
                    benefit_code="OPD",
                    amount=Decimal(4000),
                )
            )
        make_household(session, a, "H-1", [("A-1", "head"), ("A-2", "child")])
        make_household(session, b, "H-9", [("B-1", "head")])
        session.commit()
        users = {
            "officer": make_user(session, "claims_officer", scheme=a),
            "clerk": make_user(session, "clerk", scheme=a),
            "reviewer": make_user(session, "federation_reviewer", federation=f1),
            "auditor": make_user(session, "auditor", scheme=a),
        }
        return {"a": a, "b": b, "users": users}


@pytest.fixture
def officer(client, world):
    """A client signed in as scheme A's claims officer."""
    login(client, world["users"]["officer"])
    return client


def post_claim(client, **overrides):
    """The claim form with two bill lines (1000 + 2000) for A-1, OPD at CS, saved and submitted at once."""
    data = {
        "action": "submit",
        "claim_ref": "F-1",
        "member_no": "A-1",
        "benefit_code": "OPD",
        "provider_code": "CS",
        "date_of_service": "2025-03-01",
        "date_submitted": "2025-03-02",
        "diagnosis_code": "J06.9",
        "lines-0-item": "Consultation",
        "lines-0-amount": "1000",
        "lines-1-item": "Drugs",
        "lines-1-amount": "2000",
    }
    data.update(overrides)
    return client.post("/schemes/MUT-A/claims/new", data={k: v for k, v in data.items() if v is not None})


def stored(app, ref="F-1"):
    """The stored claim with this ref, with its decisions loaded."""
    with records(app) as session:
        claim = session.scalar(select(Claim).where(Claim.claim_ref == ref))
        if claim is not None:
            claim.decisions  # noqa: B018 - load them before the session closes
            claim.lines  # noqa: B018
        return claim


URLS = [
    "/schemes/MUT-A/eligibility?member_no=A-1",
    "/schemes/MUT-A/eligibility.json?member_no=A-1",
    "/schemes/MUT-A/providers",
    "/schemes/MUT-A/providers/CS",
    "/schemes/MUT-A/claims",
    "/schemes/MUT-A/claims/new",
    "/schemes/MUT-A/batches",
]


@pytest.mark.parametrize("url", URLS)
def test_a_federation_reviewer_never_reaches_claims(client, world, url):
    login(client, world["users"]["reviewer"])
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", URLS)
def test_another_schemes_pages_answer_404(client, world, url):
    login(client, world["users"]["officer"])
    assert client.get(url.replace("MUT-A", "MUT-B")).status_code == 404


def test_a_claim_of_another_scheme_answers_404(app, client, world):
    with records(app) as session:
        scheme_b = session.get(type(world["b"]), world["b"].id)
        services.decide_and_store(
            session,
            scheme_b,
            [services.ClaimEntry("B-C1", "B-1", "CS", "OPD", date(2025, 3, 1), date(2025, 3, 1), Decimal(100))],
            source="form",
            actor=None,
            recorded_on=date(2026, 1, 1),
        )
        session.commit()
        claim_id = session.scalar(select(Claim.id))
    login(client, world["users"]["officer"])
    assert client.get(f"/schemes/MUT-B/claims/{claim_id}").status_code == 404
    assert client.get(f"/schemes/MUT-A/claims/{claim_id}").status_code == 404


def test_a_clerk_may_not_enter_claims(client, world):
    login(client, world["users"]["clerk"])
    assert client.get("/schemes/MUT-A/claims/new").status_code == 403
    assert client.get("/schemes/MUT-A/eligibility?member_no=A-1").status_code == 403


def test_eligibility_page_and_json(officer):
    page = officer.get("/schemes/MUT-A/eligibility?member_no=%20A-1%0A&on=2025-06-01").get_data(as_text=True)
    assert "Covered" in page and "A-2" in page and "Consultation" in page
    answer = officer.get("/schemes/MUT-A/eligibility.json?member_no=A-1&on=2025-06-01").get_json()
    assert answer["covered"] is True and answer["found"] is True
    assert [m["member_no"] for m in answer["members"]] == ["A-1", "A-2"]
    opd = next(b for b in answer["benefits"] if b["code"] == "OPD")
    assert opd == {
        "code": "OPD",
        "name": "Consultation",
        "kind": "service",
        "waiting_period_ends": "2024-03-31",
        "waiting_over": True,
        "ceiling_per_year": "20000",
        "used": "0",
        "remaining": "20000",
        "cases": 0,
        "max_cases": 10,
        "usable": True,
        "usable_from": "2024-03-31",
        "usable_until": None,
        "refusal": None,
    }
    assert answer["waiting_until"] is None
    unknown = officer.get("/schemes/MUT-A/eligibility.json?member_no=NOPE").get_json()
    assert unknown["found"] is False and unknown["covered"] is False
    assert officer.get("/schemes/MUT-A/eligibility.json").status_code == 400


def test_claim_form_decides_at_once_and_shows_every_check(app, officer):
    response = post_claim(officer)
    assert response.status_code == 302
    claim = stored(app)
    assert (claim.amount_claimed, claim.status, claim.amount_approved, claim.source) == (
        Decimal(3000),
        "APPROVED",
        Decimal(2400),
        "form",
    )
    assert [line.label for line in claim.lines] == ["Consultation", "Drugs"]
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    for code in rules.CHECK_CODES:
        assert code in page
    assert "Payable before the annual ceiling:" in page and "Consultation" in page


def test_claim_form_problems_are_shown_and_nothing_saved(app, officer):
    response = post_claim(officer, **{"lines-0-amount": "abc"})
    assert response.status_code == 200
    assert "Bill line 1, amount" in response.get_data(as_text=True)
    response = post_claim(
        officer, **{"lines-0-item": None, "lines-0-amount": None, "lines-1-item": None, "lines-1-amount": None}
    )
    assert "only a cash benefit may claim 0" in response.get_data(as_text=True)
    assert stored(app) is None


def test_claim_form_numbers_a_claim_without_reference(app, officer):
    assert post_claim(officer, claim_ref="").status_code == 302
    assert stored(app, f"CLM-{clock.today().year}-000001") is not None
    again = post_claim(officer, claim_ref=f"CLM-{clock.today().year}-000001")
    assert "already exists" in again.get_data(as_text=True)


def test_json_api(app, officer):
    body = {
        "claim_ref": "API-1",
        "member_no": "A-1",
        "provider_code": "CS",
        "benefit_code": "OPD",
        "date_of_service": "2025-03-01",
        "date_submitted": "2025-03-02",
        "lines": [{"label": "Consultation", "amount": "5000"}],
    }
    response = officer.post("/api/schemes/MUT-A/claims", json=body)
    assert response.status_code == 201
    answer = response.get_json()
    assert (answer["status"], answer["amount_claimed"], answer["amount_approved"], answer["reasons"]) == (
        "REDUCED",
        "5000",
        "3200",
        ["TARIFF_CAPPED"],
    )
    assert [c["code"] for c in answer["checks"]] == list(rules.CHECK_CODES)
    assert stored(app, "API-1").source == "api"
    assert officer.post("/api/schemes/MUT-A/claims", json=body).status_code == 409
    bad = officer.post("/api/schemes/MUT-A/claims", json={**body, "claim_ref": "API-2", "date_of_service": "x"})
    assert bad.status_code == 400 and "date_of_service" in bad.get_json()["errors"]
    cash = officer.post(
        "/api/schemes/MUT-A/claims",
        json={
            "claim_ref": "API-3",
            "member_no": "A-2",
            "benefit_code": "DEATH",
            "date_of_service": "2025-06-01",
            "date_submitted": "2025-06-02",
        },
    )
    assert cash.status_code == 201 and cash.get_json()["amount_approved"] == "50000"
    form_encoded = officer.post("/api/schemes/MUT-A/claims", data={"member_no": "A-1"})
    assert form_encoded.status_code == 415
    floats = officer.post(
        "/api/schemes/MUT-A/claims",
        data=json.dumps({**body, "claim_ref": "API-4", "lines": [], "amount_claimed": 12.5}),
        content_type="application/json",
    )
    assert floats.status_code == 400 and "amount_claimed" in floats.get_json()["errors"]


def test_json_api_keeps_csrf(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        client.post(
            "/login",
            data={"email": world["users"]["officer"].email, "password": "correct horse 1", "csrf_token": token},
        )
        body = {
            "claim_ref": "API-9",
            "member_no": "A-1",
            "provider_code": "CS",
            "benefit_code": "OPD",
            "date_of_service": "2025-03-01",
            "date_submitted": "2025-03-02",
            "amount_claimed": "100",
        }
        assert client.post("/api/schemes/MUT-A/claims", json=body).status_code == 400
        ok = client.post("/api/schemes/MUT-A/claims", json=body, headers={"X-CSRFToken": token})
        assert ok.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_override_needs_a_reason_and_keeps_both_decisions(app, officer):
    post_claim(officer, member_no="NOBODY")
    claim = stored(app)
    assert claim.status == "REJECTED"
    url = f"/schemes/MUT-A/claims/{claim.id}/override"
    assert officer.get(url).status_code == 200
    refused = officer.post(url, data={"status": "APPROVED", "amount_approved": "1000", "reason": " "})
    assert refused.status_code == 200 and "Write why the decision changes." in refused.get_data(as_text=True)
    done = officer.post(url, data={"status": "APPROVED", "amount_approved": "1000", "reason": "Card misread"})
    assert done.status_code == 302
    claim = stored(app)
    assert (claim.status, claim.amount_approved, claim.overridden) == ("APPROVED", Decimal(1000), True)
    assert [d.kind for d in claim.decisions] == ["automatic", "override"]
    page = officer.get(f"/schemes/MUT-A/claims/{claim.id}").get_data(as_text=True)
    assert "Automatic decision" in page and "Card misread" in page and "superseded" in page


def test_an_auditor_reads_but_may_not_override(app, client, world):
    with records(app) as session:
        scheme = session.get(type(world["a"]), world["a"].id)
        result = services.decide_and_store(
            session,
            scheme,
            [services.ClaimEntry("C-1", "A-1", "CS", "OPD", date(2025, 3, 1), date(2025, 3, 1), Decimal(100))],
            source="form",
            actor=None,
            recorded_on=date(2026, 1, 1),
        )
        session.commit()
    login(client, world["users"]["auditor"])
    assert client.get(f"/schemes/MUT-A/claims/{result.claim_ids[0]}").status_code == 200
    assert client.get(f"/schemes/MUT-A/claims/{result.claim_ids[0]}/override").status_code == 403


def test_queue_puts_rejected_and_reduced_first_and_filters(app, officer):
    post_claim(officer, claim_ref="Q-1")
    post_claim(officer, claim_ref="Q-2", member_no="NOBODY")
    post_claim(officer, claim_ref="Q-3", **{"lines-0-amount": "9000"})
    page = officer.get("/schemes/MUT-A/claims").get_data(as_text=True)
    assert re.findall(r">(Q-\d)</a>", page) == ["Q-2", "Q-3", "Q-1"]
    rejected = officer.get("/schemes/MUT-A/claims?status=REJECTED").get_data(as_text=True)
    assert "Q-2" in rejected and "Q-1" not in rejected


def test_payment_batch_flow_and_pdf(app, officer):
    post_claim(officer, claim_ref="P-1")
    post_claim(officer, claim_ref="P-2", **{"lines-1-amount": "2500"})
    page = officer.get("/schemes/MUT-A/providers/CS").get_data(as_text=True)
    assert "Build a payment batch" in page
    response = officer.post("/schemes/MUT-A/providers/CS/batches")
    assert response.status_code == 302
    with records(app) as session:
        batch = session.scalar(select(PaymentBatch))
        batch_id, number = batch.id, batch.number
    assert officer.get(f"/schemes/MUT-A/batches/{batch_id}").status_code == 200
    pdf = officer.get(f"/schemes/MUT-A/batches/{batch_id}/batch.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    asked = officer.post(f"/schemes/MUT-A/batches/{batch_id}/paid", data={"paid_on": "2025-04-30"})
    assert asked.status_code == 200 and "This cannot be undone." in asked.get_data(as_text=True)
    assert 'name="paid_on" value="2025-04-30"' in asked.get_data(as_text=True)
    assert stored(app, "P-1").paid_on is None
    paid = {"paid_on": "2025-04-30", "confirmed": "yes"}
    assert officer.post(f"/schemes/MUT-A/batches/{batch_id}/paid", data=paid).status_code == 302
    assert stored(app, "P-1").paid_on == date(2025, 4, 30)
    listing = officer.get("/schemes/MUT-A/providers").get_data(as_text=True)
    assert "CS" in listing
    again = officer.post(
        f"/schemes/MUT-A/batches/{batch_id}/paid",
        data={"paid_on": "2025-05-30", "confirmed": "yes"},
        follow_redirects=True,
    )
    assert "cannot change" in again.get_data(as_text=True)
    assert number in officer.get("/schemes/MUT-A/batches").get_data(as_text=True)


def test_pdf_lists_the_claims_and_total(app, officer):
    pypdf = pytest.importorskip("pypdf")
    post_claim(officer, claim_ref="P-1")
    officer.post("/schemes/MUT-A/providers/CS/batches")
    with records(app) as session:
        batch_id = session.scalar(select(PaymentBatch.id))
    import io

    text = pypdf.PdfReader(io.BytesIO(officer.get(f"/schemes/MUT-A/batches/{batch_id}/batch.pdf").data)).pages[0]
    content = text.extract_text()
    assert "P-1" in content and "A-1" in content and "Total" in content


def test_every_check_message_is_marked_for_translation():
    expected = set(rules.MESSAGES.values()) | set(services.ELIGIBILITY_MESSAGES.values())
    assert set(messages.TRANSLATABLE) == expected


def test_decisions_are_counted(app, officer):
    post_claim(officer)
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(ClaimDecision)) == 1
