"""Draft claims (issue 13): a claim typed in the form is a draft — saved, corrected, discarded or submitted — that no
figure, batch, export or ceiling sees until it is submitted, then decided exactly like a claim sent at once;
bills of any length; hospital stays; and the death allowance that records the death."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.claims import queries, services
from mhi.claims.models import Claim, ClaimDraft
from mhi.core import clock
from mhi.core.audit import AuditEvent
from mhi.members.models import Person
from mhi.schemes.models import Provider
from tests.claims import test_views
from tests.factories import records

# The claims screens' world (scheme A with CS, household H-1 = A-1 and A-2) and its signed-in claims officer.
world = test_views.world
officer = test_views.officer


def draft_form(**overrides) -> dict:
    """The claim form (two lines, 1000 + 2000, for A-1, OPD at CS) without a button: saved as a draft."""
    data = {
        "claim_ref": "",
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
    return {k: v for k, v in data.items() if v is not None}


def save(client, **overrides):
    """Post the form; the new draft's id from the redirect."""
    response = client.post("/schemes/MUT-A/claims/new", data=draft_form(**overrides))
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])


def counts(app) -> tuple[int, int]:
    """(claims, drafts) stored."""
    with records(app) as session:
        return session.scalar(select(func.count(Claim.id))), session.scalar(select(func.count(ClaimDraft.id)))


def draft_row(app, draft_id: int) -> ClaimDraft:
    """A draft with its lines loaded."""
    with records(app) as session:
        draft = session.get(ClaimDraft, draft_id)
        draft.lines  # noqa: B018 - load them before the session closes
        return draft


def audit_actions(app, entity: str, entity_id: int) -> list[str]:
    """The audit trail's actions on a record, oldest first."""
    with records(app) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
                .order_by(AuditEvent.id)
            )
        )


def test_a_typed_claim_is_saved_as_a_draft_without_a_decision(app, officer):
    draft_id = save(officer)
    assert counts(app) == (0, 1)
    draft = draft_row(app, draft_id)
    assert (draft.state, draft.claim_ref, draft.claim_id) == ("draft", "", None)
    assert [(line.label, line.amount) for line in draft.lines] == [("Consultation", 1000), ("Drugs", 2000)]
    page = officer.get(f"/schemes/MUT-A/claims/drafts/{draft_id}").get_data(as_text=True)
    for word in ("Edit", "Discard", "Submit for decision", "Not decided yet", "given when submitted"):
        assert word in page
    listed = officer.get("/schemes/MUT-A/claims/drafts").get_data(as_text=True)
    assert f"/claims/drafts/{draft_id}" in listed
    assert "1 draft waits to be submitted." in officer.get("/schemes/MUT-A/claims").get_data(as_text=True)
    assert audit_actions(app, "claim_draft", draft_id) == ["save_draft"]


def test_a_draft_is_in_no_export_batch_ceiling_or_figure(app, officer, world):
    save(officer, **{"lines-0-amount": "30000"})
    with records(app) as session:
        scheme = session.get(type(world["a"]), world["a"].id)
        assert queries.export_rows(session, scheme) == []
        provider = session.scalar(select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == "CS"))
        with pytest.raises(services.ClaimError):
            services.create_batch(session, provider, actor=None)
        history = services.history_for(session, scheme, ["A-1"], [2025])
        assert history.approved_total("A-1", "OPD", 2025) == 0 and history.cases("A-1", "OPD", 2025) == 0
    answer = officer.get("/schemes/MUT-A/eligibility.json?member_no=A-1&on=2025-06-01").get_json()
    opd = next(b for b in answer["benefits"] if b["code"] == "OPD")
    assert (opd["used"], opd["remaining"], opd["cases"]) == ("0", "20000", 0)


def test_a_draft_is_corrected_and_the_audit_keeps_what_it_said(app, officer):
    draft_id = save(officer)
    form = officer.get(f"/schemes/MUT-A/claims/drafts/{draft_id}/edit").get_data(as_text=True)
    assert 'value="Consultation"' in form and 'value="2000"' in form
    response = officer.post(
        f"/schemes/MUT-A/claims/drafts/{draft_id}/edit",
        data=draft_form(**{"lines-1-amount": "2500", "diagnosis_code": "A09"}),
    )
    assert response.status_code == 302
    draft = draft_row(app, draft_id)
    assert [line.amount for line in draft.lines] == [1000, 2500] and draft.diagnosis_code == "A09"
    assert counts(app) == (0, 1)
    assert audit_actions(app, "claim_draft", draft_id) == ["save_draft", "edit_draft"]
    with records(app) as session:
        edit = session.scalar(select(AuditEvent).where(AuditEvent.action == "edit_draft"))
        assert edit.before["diagnosis_code"] == "J06.9" and edit.after["diagnosis_code"] == "A09"
        assert (edit.before["lines"], edit.after["lines"]) == (
            "Consultation: 1000; Drugs: 2000",
            "Consultation: 1000; Drugs: 2500",
        )


def test_a_discarded_draft_stays_and_is_never_decided(app, officer):
    draft_id = save(officer)
    url = f"/schemes/MUT-A/claims/drafts/{draft_id}"
    asked = officer.post(f"{url}/discard")
    assert asked.status_code == 200 and "confirmed" in asked.get_data(as_text=True)
    assert draft_row(app, draft_id).state == "draft"
    assert officer.post(f"{url}/discard", data={"confirmed": "yes"}).status_code == 302
    draft = draft_row(app, draft_id)
    assert draft.state == "discarded" and draft.closed_by_id is not None
    refused = officer.post(f"{url}/submit", follow_redirects=True).get_data(as_text=True)
    assert "This draft was discarded" in refused
    assert officer.get(f"{url}/edit").status_code == 302
    assert counts(app) == (0, 1)
    assert audit_actions(app, "claim_draft", draft_id) == ["save_draft", "discard"]
    assert f"/claims/drafts/{draft_id}" in officer.get("/schemes/MUT-A/claims/drafts?state=discarded").get_data(
        as_text=True
    )


def test_a_submitted_draft_is_decided_exactly_like_a_claim_sent_at_once(app, officer):
    draft_id = save(officer, claim_ref="DR-1")
    response = officer.post(f"/schemes/MUT-A/claims/drafts/{draft_id}/submit")
    assert response.status_code == 302 and "/claims/" in response.headers["Location"]
    direct = officer.post(
        "/api/schemes/MUT-A/claims",
        json={
            "claim_ref": "API-1",
            "member_no": "A-2",
            "provider_code": "CS",
            "benefit_code": "OPD",
            "date_of_service": "2025-03-01",
            "date_submitted": "2025-03-02",
            "diagnosis_code": "J06.9",
            "lines": [{"label": "Consultation", "amount": "1000"}, {"label": "Drugs", "amount": "2000"}],
        },
    )
    assert direct.status_code == 201
    with records(app) as session:
        typed = session.scalar(select(Claim).where(Claim.claim_ref == "DR-1"))
        sent = session.scalar(select(Claim).where(Claim.claim_ref == "API-1"))

        def decided(claim):
            checks = [(c["code"], c["passed"]) for c in claim.decisions[-1].checks]
            lines = [(line.label, line.amount) for line in claim.lines]
            return claim.status, claim.amount_claimed, claim.amount_approved, claim.reasons, checks, lines

        assert decided(typed) == decided(sent)
        assert (typed.status, typed.amount_approved, typed.source) == ("APPROVED", Decimal(2400), "form")
        draft = session.get(ClaimDraft, draft_id)
        assert (draft.state, draft.claim_id) == ("submitted", typed.id)
    assert audit_actions(app, "claim_draft", draft_id) == ["save_draft", "submit"]
    again = officer.post(f"/schemes/MUT-A/claims/drafts/{draft_id}/submit", follow_redirects=True)
    assert "already submitted" in again.get_data(as_text=True)
    assert counts(app) == (2, 1)


def test_a_draft_is_numbered_when_it_is_submitted(app, officer):
    first, second = save(officer), save(officer, member_no="A-2")
    officer.post(f"/schemes/MUT-A/claims/drafts/{second}/submit")
    officer.post(f"/schemes/MUT-A/claims/drafts/{first}/submit")
    year = clock.today().year
    with records(app) as session:
        refs = dict(
            session.execute(select(ClaimDraft.id, Claim.claim_ref).join(Claim, ClaimDraft.claim_id == Claim.id)).all()
        )
    assert refs == {second: f"CLM-{year}-000001", first: f"CLM-{year}-000002"}


def test_a_service_benefit_needs_its_provider_to_be_submitted(app, officer):
    draft_id = save(officer, provider_code="")
    assert draft_row(app, draft_id).provider_code == ""
    page = officer.post(f"/schemes/MUT-A/claims/drafts/{draft_id}/submit", follow_redirects=True)
    assert "give the provider before submitting the claim" in page.get_data(as_text=True)
    assert draft_row(app, draft_id).state == "draft" and counts(app) == (0, 1)
    # Save and submit at once: refused beside the provider field, nothing written at all.
    at_once = officer.post("/schemes/MUT-A/claims/new", data=draft_form(provider_code="", action="submit"))
    assert at_once.status_code == 200 and "give the provider" in at_once.get_data(as_text=True)
    assert counts(app) == (0, 1)
    # A cash benefit needs none.
    cash = officer.post(
        "/schemes/MUT-A/claims/new",
        data=draft_form(
            benefit_code="DEATH", provider_code="", action="submit",
            **{"lines-0-item": None, "lines-0-amount": None, "lines-1-item": None, "lines-1-amount": None},
        ),
    )  # fmt: skip
    assert cash.status_code == 302 and counts(app) == (1, 2)


@pytest.mark.parametrize("amount", ["0", "-500"])
def test_a_bill_line_of_zero_or_less_is_refused_and_nothing_written(app, officer, amount):
    for action in ("save", "submit"):
        response = officer.post(
            "/schemes/MUT-A/claims/new", data=draft_form(action=action, **{"lines-1-amount": amount})
        )
        assert response.status_code == 200 and "Bill line 2, amount" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_bills_have_as_many_lines_as_needed_within_the_cap(app, officer):
    # "Add a line" re-renders the form with one more empty line and writes nothing.
    more = officer.post("/schemes/MUT-A/claims/new", data=draft_form(action="add_line"))
    page = more.get_data(as_text=True)
    assert more.status_code == 200 and 'name="lines-4-item"' in page and 'value="Drugs"' in page
    assert counts(app) == (0, 0)
    lines = {f"lines-{i}-item": f"Item {i}" for i in range(25)} | {f"lines-{i}-amount": "100" for i in range(25)}
    draft_id = save(officer, **lines)
    assert len(draft_row(app, draft_id).lines) == 25
    app.config["MHI_MAX_CLAIM_LINES"] = 25
    try:
        full = officer.post("/schemes/MUT-A/claims/new", data=draft_form(action="add_line", **lines))
        assert "A claim has at most 25 bill lines." in full.get_data(as_text=True)
        over = {f"lines-{i}-item": f"Item {i}" for i in range(26)} | {f"lines-{i}-amount": "100" for i in range(26)}
        refused = officer.post("/schemes/MUT-A/claims/new", data=draft_form(**over))
        assert refused.status_code == 200 and "at most 25 bill lines" in refused.get_data(as_text=True)
    finally:
        app.config["MHI_MAX_CLAIM_LINES"] = 200
    assert counts(app) == (0, 1)


def test_a_hospital_stay_has_admission_and_discharge_dates(app, officer):
    bad = officer.post(
        "/schemes/MUT-A/claims/new", data=draft_form(benefit_code="HOSP", discharge_date="2025-02-27", action="submit")
    )
    assert bad.status_code == 200 and "before the admission day" in bad.get_data(as_text=True)
    assert counts(app) == (0, 0)
    draft_id = save(officer, claim_ref="ST-1", benefit_code="HOSP", discharge_date="2025-03-04")
    assert "Hospital stay" in officer.get(f"/schemes/MUT-A/claims/drafts/{draft_id}").get_data(as_text=True)
    response = officer.post(f"/schemes/MUT-A/claims/drafts/{draft_id}/submit")
    with records(app) as session:
        claim = session.scalar(select(Claim).where(Claim.claim_ref == "ST-1"))
        assert (claim.date_of_service, claim.discharge_date) == (date(2025, 3, 1), date(2025, 3, 4))
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hospital stay" in page
    document = officer.get("/api/v1/schemes/MUT-A/claims/ST-1")
    assert document.status_code == 200 and document.get_json()["discharge_date"] == "2025-03-04"


def death_form(ref: str, day: str) -> dict:
    """A death allowance for A-2 typed and submitted at once."""
    return draft_form(
        claim_ref=ref, member_no="A-2", benefit_code="DEATH", provider_code="", date_of_service=day,
        date_submitted=day, diagnosis_code="", action="submit",
        **{"lines-0-item": None, "lines-0-amount": None, "lines-1-item": None, "lines-1-amount": None},
    )  # fmt: skip


@pytest.fixture
def paid_up(app, world):
    """H-1 pays its contributions (registration and 30 months for two persons) on its enrolment day, so its
    coverage comes from the ledger: recording a death recomputes it from the receipts."""
    from mhi.contributions.services import record_receipt
    from mhi.members.models import Household

    with records(app) as session:
        household = session.scalar(select(Household).where(Household.ref == "H-1"))
        record_receipt(session, household, date=date(2024, 1, 1), amount=Decimal(19000))
        session.commit()


def test_an_approved_death_allowance_records_the_death(app, officer, paid_up):
    assert officer.post("/schemes/MUT-A/claims/new", data=death_form("D-1", "2025-06-01")).status_code == 302
    with records(app) as session:
        claim = session.scalar(select(Claim).where(Claim.claim_ref == "D-1"))
        person = session.scalar(select(Person).where(Person.member_no == "A-2"))
        assert (claim.status, claim.amount_approved) == ("APPROVED", Decimal(50000))
        assert (person.exit_date, person.exit_reason) == (date(2025, 6, 1), "death")
        exit_events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "person", AuditEvent.action == "exit")
        ).all()
        assert [e.after["reason"] for e in exit_events] == ["death"]
    # A second death claim is a duplicate, on the same day or an earlier one; a later one finds the person gone.
    for ref, day, reason in (
        ("D-2", "2025-06-01", "DUPLICATE"),
        ("D-3", "2025-05-20", "DUPLICATE"),
        ("D-4", "2025-06-20", "NOT_ENROLLED"),
    ):
        officer.post("/schemes/MUT-A/claims/new", data=death_form(ref, day))
        with records(app) as session:
            claim = session.scalar(select(Claim).where(Claim.claim_ref == ref))
            assert (claim.status, claim.reasons) == ("REJECTED", reason), ref
    # The eligibility desk sees the exit afterwards.
    answer = officer.get("/schemes/MUT-A/eligibility.json?member_no=A-2&on=2025-06-02").get_json()
    assert answer["covered"] is False and any("Left the scheme" in r for r in answer["reasons"])
    before = officer.get("/schemes/MUT-A/eligibility.json?member_no=A-2&on=2025-05-31").get_json()
    assert not any("Left the scheme" in r for r in before["reasons"])


def test_an_imported_death_claim_leaves_the_register_alone(app, world):
    with records(app) as session:
        scheme = session.get(type(world["a"]), world["a"].id)
        entry = services.ClaimEntry("I-1", "A-2", None, "DEATH", date(2025, 6, 1), date(2025, 6, 2), Decimal(0))
        result = services.decide_and_store(
            session, scheme, [entry], source="import", actor=None, recorded_on=date(2026, 1, 1)
        )
        assert result.decisions[0].status == "APPROVED"
        assert session.scalar(select(Person.exit_date).where(Person.member_no == "A-2")) is None
        session.commit()


def test_an_override_approving_a_death_allowance_records_the_death(app, officer, paid_up):
    # A death within the allowance's 180-day waiting period is rejected; an officer approves it with a reason.
    officer.post("/schemes/MUT-A/claims/new", data=death_form("D-9", "2024-01-15"))
    with records(app) as session:
        claim = session.scalar(select(Claim).where(Claim.claim_ref == "D-9"))
        assert claim.status == "REJECTED"
        claim_id = claim.id
    done = officer.post(
        f"/schemes/MUT-A/claims/{claim_id}/override",
        data={"status": "APPROVED", "amount_approved": "50000", "reason": "Décès attesté"},
    )
    assert done.status_code == 302
    with records(app) as session:
        person = session.scalar(select(Person).where(Person.member_no == "A-2"))
        assert (person.exit_date, person.exit_reason) == (date(2024, 1, 15), "death")


def test_a_death_allowance_sent_by_the_api_records_the_death_too(app, officer, paid_up):
    body = {"claim_ref": "API-D1", "member_no": "A-2", "benefit_code": "DEATH", "date_of_service": "2025-06-01",
            "date_submitted": "2025-06-02"}  # fmt: skip
    assert officer.post("/api/schemes/MUT-A/claims", json=body).status_code == 201
    with records(app) as session:
        person = session.scalar(select(Person).where(Person.member_no == "A-2"))
        assert (person.exit_date, person.exit_reason) == (date(2025, 6, 1), "death")
    again = officer.post(
        "/api/schemes/MUT-A/claims", json={**body, "claim_ref": "API-D2", "date_of_service": "2025-04-01"}
    )
    assert again.get_json()["reasons"] == ["DUPLICATE"]
