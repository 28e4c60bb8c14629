"""Facility accounts (issue 13): a health facility's desk bound to one provider checks eligibility, enters and
submits claims for its own provider only, sees those claims, their decisions and its payment batches — and
nothing else: another facility's claims answer 404 by any URL, the register, providers, letters, figures and
administration 403; the API and FHIR apply the same binding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mhi.auth.models import User
from mhi.auth.services import AccountError, create_user
from mhi.claims import services
from mhi.claims.models import Claim
from mhi.fhir import codes
from mhi.schemes.models import Provider, Tariff
from tests.api.helpers import bearer, token_for
from tests.claims.claim_helpers import make_household
from tests.factories import login, make_federation, make_scheme, make_user, records

PASSWORD = "Kaolack-Guichet-2026"


@pytest.fixture
def world(app):
    """Scheme A with providers CS and HR (a facility account each) and a covered household; scheme B with a CS."""
    with records(app) as session:
        f1 = make_federation(session, "F1")
        a = make_scheme(session, "MUT-A", federation=f1)
        b = make_scheme(session, "MUT-B", federation=f1)
        providers = {}
        for scheme, code in ((a, "CS"), (a, "HR"), (b, "CS")):
            provider = Provider(
                scheme_id=scheme.id, code=code, name=f"{code} {scheme.code}", contract_from=date(2024, 1, 1)
            )
            session.add(provider)
            session.flush()
            session.add(Tariff(provider_id=provider.id, benefit_code="OPD", amount=Decimal(4000)))
            providers[(scheme.code, code)] = provider
        make_household(session, a, "H-1", [("A-1", "head"), ("A-2", "child")])
        make_household(session, b, "H-9", [("B-1", "head")])
        session.commit()
        # One claim of each of scheme A's providers, and one of scheme B's.
        for scheme, ref, provider_code in ((a, "CS-1", "CS"), (a, "HR-1", "HR"), (b, "B-CS-1", "CS")):
            services.decide_and_store(
                session, scheme,
                [services.ClaimEntry(ref, "A-1" if scheme is a else "B-1", provider_code, "OPD", date(2025, 3, 1),
                                     date(2025, 3, 2), Decimal(1000))],
                source="form", actor=None, recorded_on=date(2025, 3, 2),
            )  # fmt: skip
        session.commit()
        cs_a = providers[("MUT-A", "CS")]
        services.create_batch(session, cs_a, actor=None)
        services.create_batch(session, providers[("MUT-A", "HR")], actor=None)
        session.commit()
        users = {
            "cs": make_user(session, "facility", provider=cs_a),
            "hr": make_user(session, "facility", provider=providers[("MUT-A", "HR")]),
            "officer": make_user(session, "claims_officer", scheme=a),
            "admin": make_user(session, "admin"),
        }
        ids = {
            ref: session.scalar(select(Claim.id).where(Claim.claim_ref == ref)) for ref in ("CS-1", "HR-1", "B-CS-1")
        }
        batches = {c.claim_ref: c.batch_id for c in session.scalars(select(Claim).where(Claim.batch_id.isnot(None)))}
    return {"a": a, "b": b, "users": users, "claims": ids, "batches": batches, "providers": providers}


@pytest.fixture
def desk(client, world):
    """A client signed in as the CS health centre's desk of scheme A."""
    login(client, world["users"]["cs"])
    return client


def post_claim(client, **overrides):
    """The claim form for A-1, OPD, one bill line of 3000."""
    data = {
        "claim_ref": "DESK-1",
        "member_no": "A-1",
        "benefit_code": "OPD",
        "provider_code": "CS",
        "date_of_service": "2025-03-01",
        "date_submitted": "2025-03-02",
        "lines-0-item": "Consultation",
        "lines-0-amount": "3000",
        "action": "submit",  # save and submit (a plain save keeps a draft)
    }
    data.update(overrides)
    return client.post("/schemes/MUT-A/claims/new", data={k: v for k, v in data.items() if v is not None})


def stored(app, ref: str) -> Claim | None:
    with records(app) as session:
        return session.scalar(select(Claim).where(Claim.claim_ref == ref))


# --------------------------------------------------------------------------------------------- what it may do


def test_the_desk_checks_eligibility_of_its_schemes_members(desk):
    page = desk.get("/schemes/MUT-A/eligibility?member_no=A-1&on=2025-06-01")
    assert page.status_code == 200 and "Consultation" in page.get_data(as_text=True)
    assert desk.get("/schemes/MUT-A/eligibility.json?member_no=A-1").get_json()["found"] is True
    # Another scheme's members are not its to check.
    assert desk.get("/schemes/MUT-B/eligibility?member_no=B-1").status_code == 404
    assert desk.get("/schemes/MUT-B/eligibility.json?member_no=B-1").status_code == 404


def test_the_claim_form_offers_only_its_own_provider(desk):
    page = desk.get("/schemes/MUT-A/claims/new").get_data(as_text=True)
    assert 'value="CS"' in page
    assert 'value="HR"' not in page and "none (cash benefit)" not in page


def test_a_claim_entered_by_the_desk_is_its_providers_whatever_is_sent(app, desk, world):
    answer = post_claim(desk, provider_code="HR")
    assert answer.status_code == 302
    claim = stored(app, "DESK-1")
    assert claim.provider_id == world["providers"][("MUT-A", "CS")].id and claim.provider_code == "CS"
    page = desk.get(answer.headers["Location"]).get_data(as_text=True)
    assert "DESK-1" in page and claim.status.lower() in page.lower()
    # Left blank, the provider is its own too.
    post_claim(desk, claim_ref="DESK-2", provider_code="")
    assert stored(app, "DESK-2").provider_code == "CS"


def test_the_queue_and_payments_show_its_own_claims_only(desk, world):
    queue = desk.get("/schemes/MUT-A/claims").get_data(as_text=True)
    assert "CS-1" in queue and "HR-1" not in queue
    # A filter naming another provider does not widen it.
    assert "HR-1" not in desk.get("/schemes/MUT-A/claims?provider=HR").get_data(as_text=True)
    batches = desk.get("/schemes/MUT-A/batches").get_data(as_text=True)
    assert "CS MUT-A" in batches and "HR MUT-A" not in batches
    assert desk.get(f"/schemes/MUT-A/batches/{world['batches']['CS-1']}").status_code == 200
    assert desk.get(f"/schemes/MUT-A/batches/{world['batches']['CS-1']}/batch.pdf").status_code == 200
    detail = desk.get(f"/schemes/MUT-A/claims/{world['claims']['CS-1']}").get_data(as_text=True)
    assert "Automatic decision" in detail
    assert "Override the decision" not in detail and "/providers/CS" not in detail


# ------------------------------------------------------------------------------------------ what it may not do


def test_another_facilitys_claims_and_batches_answer_404_by_url(desk, world):
    hr_claim, hr_batch = world["claims"]["HR-1"], world["batches"]["HR-1"]
    assert desk.get(f"/schemes/MUT-A/claims/{hr_claim}").status_code == 404
    assert desk.get(f"/schemes/MUT-A/batches/{hr_batch}").status_code == 404
    assert desk.get(f"/schemes/MUT-A/batches/{hr_batch}/batch.pdf").status_code == 404
    assert desk.post(f"/schemes/MUT-A/claims/{hr_claim}/attachments").status_code == 404
    assert desk.get(f"/schemes/MUT-A/claims/{hr_claim}/attachments/1").status_code == 404
    # Scheme B's CS is another facility with the same code.
    b_claim = world["claims"]["B-CS-1"]
    assert desk.get(f"/schemes/MUT-B/claims/{b_claim}").status_code == 404
    assert desk.get(f"/schemes/MUT-A/claims/{b_claim}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/schemes/MUT-A/households",
        "/schemes/MUT-A/contributions",
        "/schemes/MUT-A/providers",
        "/schemes/MUT-A/providers/CS",
        "/schemes/MUT-A/letters",
        "/schemes/MUT-A/letters/new",
        "/schemes/MUT-A/indicators",
        "/schemes/MUT-A/claims/upload",
        "/admin/users",
        "/audit",
    ],
)
def test_nothing_else_is_open_to_the_desk(desk, url):
    assert desk.get(url).status_code in (403, 404)


def test_the_desk_may_not_override_a_decision(desk, world):
    url = f"/schemes/MUT-A/claims/{world['claims']['CS-1']}/override"
    assert desk.get(url).status_code == 403
    assert desk.post(url, data={"status": "APPROVED", "amount_approved": "1", "reason": "x"}).status_code == 403


def test_the_scheme_menu_lists_only_the_desks_pages(desk):
    page = desk.get("/schemes/MUT-A/claims").get_data(as_text=True)
    menu = page.split('class="scheme-nav"')[1].split("</nav>")[0]
    assert "/eligibility" in menu and "/claims" in menu and "/batches" in menu
    assert "/households" not in menu and "/providers" not in menu and "/indicators" not in menu


# ------------------------------------------------------------------------------------------- API and FHIR


def test_api_token_of_a_desk_lists_and_reads_its_own_claims_only(app, client, world):
    headers = bearer(token_for(app, world["users"]["cs"]))
    listed = client.get("/api/v1/schemes/MUT-A/claims", headers=headers).get_json()
    refs = {item["claim_ref"] for item in listed["items"]}
    assert refs == {"CS-1"}
    assert client.get("/api/v1/schemes/MUT-A/claims/CS-1", headers=headers).status_code == 200
    assert client.get("/api/v1/schemes/MUT-A/claims/HR-1", headers=headers).status_code == 404
    assert client.get("/api/v1/schemes/MUT-B/claims/B-CS-1", headers=headers).status_code == 404
    assert client.get("/api/v1/schemes/MUT-A/eligibility?member_no=A-1", headers=headers).status_code == 200
    assert client.get("/api/v1/schemes/MUT-A/households", headers=headers).status_code == 403


CLAIM_JSON = {
    "member_no": "A-1",
    "benefit_code": "OPD",
    "date_of_service": "2025-03-01",
    "date_submitted": "2025-03-02",
    "amount_claimed": "2000",
}


@pytest.mark.parametrize("path", ["/api/v1/schemes/MUT-A/claims", "/api/schemes/MUT-A/claims"])
def test_api_claims_of_a_desk_are_for_its_provider(app, client, world, path):
    headers = bearer(token_for(app, world["users"]["cs"]))
    refused = client.post(path, json=CLAIM_JSON | {"claim_ref": "API-HR", "provider_code": "HR"}, headers=headers)
    assert refused.status_code in (400, 422)
    assert "own provider (CS)" in refused.get_data(as_text=True)
    assert stored(app, "API-HR") is None
    made = client.post(path, json=CLAIM_JSON | {"claim_ref": "API-OWN"}, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert stored(app, "API-OWN").provider_code == "CS"


def test_fhir_claims_of_a_desk_are_for_its_provider(app, client, world):
    headers = bearer(token_for(app, world["users"]["cs"]), **{"Content-Type": "application/fhir+json"})
    claim = {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"system": codes.CLAIM_TYPE, "code": "professional"}]},
        "use": "claim",
        "identifier": [{"system": "urn:example:facility", "value": "FHIR-HR"}],
        "patient": {"identifier": {"system": codes.MEMBER_SYSTEM.format(scheme="MUT-A"), "value": "A-1"}},
        "created": "2025-03-02",
        "provider": {"identifier": {"value": "HR"}},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/1"}}],
        "item": [
            {
                "sequence": 1,
                "productOrService": {"coding": [{"code": "OPD"}]},
                "servicedDate": "2025-03-01",
                "net": {"value": 2000, "currency": "XOF"},
            }
        ],
    }
    assert client.post("/fhir/r4/Claim", json=claim, headers=headers).status_code == 422
    assert stored(app, "FHIR-HR") is None
    claim["provider"] = {"identifier": {"value": "CS"}}
    assert client.post("/fhir/r4/Claim", json=claim, headers=headers).status_code == 201
    assert stored(app, "FHIR-HR").provider_code == "CS"


# ------------------------------------------------------------------------------------------- the accounts


def test_a_facility_account_needs_its_provider(app, world):
    with records(app) as session:
        cs = session.get(Provider, world["providers"][("MUT-A", "CS")].id)
        with pytest.raises(AccountError, match="needs a provider"):
            create_user(session, "desk@example.org", "facility", PASSWORD)
        scheme_b = session.get(type(world["b"]), world["b"].id)
        with pytest.raises(AccountError, match="not a provider of scheme MUT-B"):
            create_user(session, "desk@example.org", "facility", PASSWORD, scheme=scheme_b, provider=cs)
        user = create_user(session, "desk@example.org", "facility", PASSWORD, provider=cs)
        assert (user.provider_id, user.scheme_id) == (cs.id, cs.scheme_id)
        # Another role is never bound to a provider, even when one is given.
        clerk = create_user(session, "clerk@example.org", "clerk", PASSWORD, scheme=cs.scheme, provider=cs)
        assert clerk.provider_id is None


@pytest.mark.parametrize("role, provider", [("facility", False), ("clerk", True)])
def test_the_database_binds_exactly_the_facility_accounts_to_a_provider(app, world, role, provider):
    with records(app) as session:
        session.add(
            User(
                email=f"{role}-x@example.org", role=role, password_hash="x", scheme_id=world["a"].id,
                provider_id=world["providers"][("MUT-A", "CS")].id if provider else None,
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_user_create_command_binds_the_provider(app, world):
    runner = app.test_cli_runner()
    args = ["user", "create", "desk@example.org", "--role", "facility"]
    missing = runner.invoke(args=args + ["--scheme", "MUT-A"], input=PASSWORD + "\n")
    assert missing.exit_code != 0 and "needs a provider" in missing.output
    ambiguous = runner.invoke(args=args + ["--provider", "CS"], input=PASSWORD + "\n")
    assert ambiguous.exit_code != 0 and "give --scheme" in ambiguous.output
    unknown = runner.invoke(args=args + ["--provider", "NOPE"], input=PASSWORD + "\n")
    assert unknown.exit_code != 0 and "no provider NOPE" in unknown.output
    made = runner.invoke(args=args + ["--provider", "HR"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    with records(app) as session:
        user = session.scalar(select(User).where(User.email == "desk@example.org"))
        assert user.provider_id == world["providers"][("MUT-A", "HR")].id and user.scheme_id == world["a"].id


def test_the_admin_form_asks_for_the_facility(app, client, world):
    login(client, world["users"]["admin"])
    form = {
        "email": "desk@example.org",
        "role": "facility",
        "scheme": 0,
        "federation": 0,
        "provider": 0,
        "locale": "",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    page = client.post("/admin/users/new", data=form).get_data(as_text=True)
    assert "Choose the health facility this person works for." in page
    wrong = client.post(
        "/admin/users/new", data=form | {"scheme": world["b"].id, "provider": world["providers"][("MUT-A", "CS")].id}
    )
    assert "not a provider of the chosen scheme" in wrong.get_data(as_text=True)
    assert client.get("/admin/users/new").status_code == 200
    made = client.post("/admin/users/new", data=form | {"provider": world["providers"][("MUT-A", "CS")].id})
    assert made.status_code == 302
    with records(app) as session:
        user = session.scalar(select(User).where(User.email == "desk@example.org"))
        assert user.provider_id == world["providers"][("MUT-A", "CS")].id and user.scheme_id == world["a"].id
    assert "MUT-A · CS" in client.get("/admin/users").get_data(as_text=True)
