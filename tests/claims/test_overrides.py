"""Override controls (issue 13): never above the amount claimed or the benefit's ceilings; above the scheme's
four-eyes amount a second officer approves before any batch may pay it; both people and reasons are kept."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mhi.claims.models import ClaimDecision
from mhi.claims.services import ClaimError, approve_override, create_batch, override_decision, submit_claim
from tests.claims.claim_helpers import entry, make_household, make_scheme, provider
from tests.factories import login, make_user, records

D = Decimal


@pytest.fixture
def world(session):
    scheme = make_scheme(session)
    make_household(session, scheme, "H-1", [("M-1", "head")])
    scheme.settings = {"override_approval_above": "3000"}
    officers = [make_user(session, "claims_officer", scheme) for _ in range(2)]
    session.commit()
    return scheme, officers


def typed(session, scheme, ref, amount, **kw):
    return submit_claim(session, scheme, entry(ref, amount=amount, provider="HR", **kw), source="form", actor=None,
                        recorded_on=date(2025, 6, 1))  # fmt: skip


def test_an_override_above_the_bill_or_the_ceilings_is_refused(session, world):
    scheme, (first, _) = world
    claim = typed(session, scheme, "C-1", "1500", benefit="HOSP", service=date(2025, 3, 1))
    with pytest.raises(ClaimError, match="at most 1500"):
        override_decision(session, claim, status="APPROVED", amount_approved="99999", reason="typo?", actor=first)
    # OPD: ceiling per case 5,000, per year 6,000; a first claim of 4,000 paid leaves 2,000 for this one.
    typed(session, scheme, "C-2", "5000", service=date(2025, 3, 2))
    other = typed(session, scheme, "C-3", "9000", service=date(2025, 3, 3))
    assert other.amount_approved == D(2000)
    with pytest.raises(ClaimError, match="at most 2000"):
        override_decision(session, other, status="APPROVED", amount_approved="2500", reason="kind", actor=first)
    with pytest.raises(ClaimError, match="written reason"):
        override_decision(session, other, status="APPROVED", amount_approved="1000", reason=" ", actor=first)
    override_decision(session, other, status="REDUCED", amount_approved="1500", reason="agreed", actor=first)
    assert other.amount_approved == D(1500) and not other.awaiting_approval


def test_four_eyes_above_the_schemes_amount(session, world):
    scheme, (first, second) = world
    claim = typed(session, scheme, "C-1", "5000", benefit="HOSP", service=date(2025, 3, 1))  # 70 % → 3,500
    override_decision(session, claim, status="APPROVED", amount_approved="5000", reason="hardship", actor=first)
    assert claim.awaiting_approval
    hr = provider(session, scheme, "HR")
    with pytest.raises(ClaimError, match="no approved unpaid claims"):
        create_batch(session, hr, actor=first)
    with pytest.raises(ClaimError, match="second officer"):
        approve_override(session, claim, note="fine", actor=first)
    with pytest.raises(ClaimError, match="written reason"):
        approve_override(session, claim, note="", actor=second)
    approve_override(session, claim, note="checked the hospital bill", actor=second)
    decision = session.scalar(select(ClaimDecision).where(ClaimDecision.kind == "override"))
    assert (decision.actor_id, decision.note) == (first.id, "hardship")
    assert (decision.approved_by_id, decision.approval_note) == (second.id, "checked the hospital bill")
    assert create_batch(session, hr, actor=first).claims == [claim]
    with pytest.raises(ClaimError):
        approve_override(session, claim, note="again", actor=second)


def test_an_override_at_or_below_the_amount_needs_no_second_officer(session, world):
    scheme, (first, _) = world
    claim = typed(session, scheme, "C-1", "5000", benefit="HOSP", service=date(2025, 3, 1))
    override_decision(session, claim, status="APPROVED", amount_approved="3000", reason="agreed", actor=first)
    assert not claim.awaiting_approval


def test_the_approval_on_screen(app, client):
    with records(app) as session:
        scheme = make_scheme(session)
        make_household(session, scheme, "H-1", [("M-1", "head")])
        scheme.settings = {"override_approval_above": "1000"}
        first, second = (make_user(session, "claims_officer", scheme) for _ in range(2))
        claim = typed(session, scheme, "C-1", "5000", benefit="HOSP", service=date(2025, 3, 1))
        session.commit()
        claim_id = claim.id
    login(client, first)
    url = f"/schemes/MUT-TEST/claims/{claim_id}"
    assert client.post(url + "/override", data={"status": "APPROVED", "amount_approved": "4000",
                                                "reason": "hardship"}).status_code == 302  # fmt: skip
    assert b"a second officer must approve it" in client.get(url).data
    client.post(url + "/approve", data={"note": "me again"})
    with records(app) as session:
        assert session.scalar(select(ClaimDecision.approved_by_id).where(ClaimDecision.kind == "override")) is None
    other = app.test_client()
    login(other, second)
    assert other.post(url + "/approve", data={"note": "bill seen"}).status_code == 302
    with records(app) as session:
        assert (
            session.scalar(select(ClaimDecision.approval_note).where(ClaimDecision.kind == "override")) == "bill seen"
        )
