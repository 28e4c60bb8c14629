"""Claims on the database: deciding and storing, overrides, payment batches and eligibility."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select

from mhi.claims.models import Claim, ClaimDecision, ClaimLine
from mhi.claims.services import (
    ClaimError,
    create_batch,
    decide_and_store,
    eligibility,
    mark_batch_paid,
    override_decision,
    remove_from_batch,
)
from mhi.core.audit import AuditEvent
from tests.claims.claim_helpers import RECORDED, D, entry, make_household, make_scheme, provider


@pytest.fixture
def scheme(session):
    """The test scheme with one covered household of two (M-1 head, M-2 child)."""
    scheme = make_scheme(session)
    make_household(session, scheme, "H-1", [("M-1", "head"), ("M-2", "child")])
    return scheme


def store(session, scheme, *entries, source="form"):
    """Decide and store entries as recorded on RECORDED."""
    return decide_and_store(session, scheme, list(entries), source=source, actor=None, recorded_on=RECORDED)


def test_a_claim_is_stored_with_its_decision_checks_and_lines(session, scheme):
    result = store(
        session, scheme, entry("C-1", amount="3000", lines=(("Consultation", D("1000")), ("Drugs", D("2000"))))
    )
    claim = session.get(Claim, result.claim_ids[0])
    assert (claim.status, claim.amount_approved, claim.reasons) == ("APPROVED", D("2400"), "")
    assert claim.person_id is not None and claim.provider_id == provider(session, scheme, "CS").id
    assert [(line.label, line.amount) for line in claim.lines] == [("Consultation", D("1000")), ("Drugs", D("2000"))]
    [decision] = claim.decisions
    assert decision.kind == "automatic" and decision.seq == 1
    assert [c["code"] for c in decision.checks][:2] == ["UNKNOWN_MEMBER", "UNKNOWN_BENEFIT"]
    assert all(c["passed"] is True for c in decision.checks)
    ceiling = decision.checks[-1]
    assert ceiling["params"] == {"remaining": "6000", "ceiling": "6000", "amount": "2400"}
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "decide")) == 1


def test_unknown_member_is_a_decision_with_raw_codes_kept(session, scheme):
    result = store(session, scheme, entry("C-1", member_no="NOBODY", provider="XX"))
    claim = session.get(Claim, result.claim_ids[0])
    assert (claim.status, claim.reasons, claim.person_id, claim.provider_code) == (
        "REJECTED",
        "UNKNOWN_MEMBER",
        None,
        "XX",
    )
    assert [c["passed"] for c in claim.decisions[0].checks][1:] == [None] * 12


def test_paid_on_is_ignored_on_a_rejected_claim_and_counted(session, scheme):
    result = store(
        session,
        scheme,
        entry("C-1", paid_on=date(2025, 3, 20)),
        entry("C-2", paid_on=date(2025, 3, 20)),  # same bill again: DUPLICATE
    )
    first, second = (session.get(Claim, i) for i in result.claim_ids)
    assert (first.status, first.paid_on) == ("APPROVED", date(2025, 3, 20))
    assert (second.status, second.reasons, second.paid_on) == ("REJECTED", "DUPLICATE", None)
    assert result.paid_on_ignored == 1


def test_a_later_batch_sees_stored_claims_for_duplicates_and_the_annual_ceiling(session, scheme):
    store(session, scheme, entry("C-1", amount="5000"))  # 4000 after the tariff → 3200
    later = store(
        session,
        scheme,
        entry("C-2", amount="5000"),  # the same bill: DUPLICATE
        entry("C-3", amount="4000", service=date(2025, 4, 1)),  # 3200 asked, 2800 left of 6000
        entry("C-4", amount="1000", service=date(2025, 5, 1)),  # ceiling used up
        entry("C-5", amount="1000", service=date(2026, 1, 2), submitted=date(2026, 1, 2)),  # a new year
    )
    got = [(c.status, c.amount_approved, c.reasons) for c in (session.get(Claim, i) for i in later.claim_ids)]
    assert got == [
        ("REJECTED", D(0), "DUPLICATE"),
        ("REDUCED", D("2800"), "CEILING_PER_YEAR"),
        ("REJECTED", D(0), "CEILING_PER_YEAR"),
        ("APPROVED", D("800"), ""),  # the ceiling is per calendar year
    ]


def test_cash_benefit_pays_its_fixed_amount(session, scheme):
    result = store(session, scheme, entry("C-1", benefit="DEATH", provider=None, amount="0"))
    claim = session.get(Claim, result.claim_ids[0])
    assert (claim.status, claim.amount_approved, claim.amount_claimed) == ("APPROVED", D("50000"), D(0))


def test_loading_is_a_fixed_number_of_queries_whatever_the_batch_size(app, session, scheme):
    def count_queries(entries):
        statements = []

        def listener(conn, cursor, statement, params, context, executemany):
            statements.append(statement)

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", listener)
        try:
            store(session, scheme, *entries)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    few = count_queries([entry(f"A-{i}", amount=str(100 + i)) for i in range(3)])
    many = count_queries([entry(f"B-{i}", amount=str(200 + i)) for i in range(60)])
    assert few == many


def test_override_keeps_both_decisions_and_is_audited(session, scheme):
    result = store(session, scheme, entry("C-1", member_no="M-2", service=date(2024, 1, 15)))
    claim = session.get(Claim, result.claim_ids[0])
    assert claim.reasons == "WAITING_PERIOD"
    override_decision(
        session, claim, status="APPROVED", amount_approved=D("2400"), reason="Emergency: waived", actor=None
    )
    assert (claim.status, claim.amount_approved, claim.reasons, claim.overridden) == (
        "APPROVED",
        D("2400"),
        "",
        True,
    )
    decisions = list(session.scalars(select(ClaimDecision).where(ClaimDecision.claim_id == claim.id).order_by("seq")))
    assert [(d.seq, d.kind, d.status, d.note) for d in decisions] == [
        (1, "automatic", "REJECTED", ""),
        (2, "override", "APPROVED", "Emergency: waived"),
    ]
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "override"))
    assert audit.before["status"] == "REJECTED" and audit.after["status"] == "APPROVED"


@pytest.mark.parametrize(
    ("status", "amount", "reason", "message"),
    [
        ("APPROVED", "1000", "  ", "written reason"),
        ("APPROVED", "0", "ok", "more than 0"),
        ("REJECTED", "100", "ok", "must be 0"),
        ("MAYBE", "0", "ok", "not a decision"),
        ("APPROVED", "10.5", "ok", "decimals"),
    ],
)
def test_override_refused(session, scheme, status, amount, reason, message):
    result = store(session, scheme, entry("C-1"))
    claim = session.get(Claim, result.claim_ids[0])
    with pytest.raises(ClaimError, match=message):
        override_decision(session, claim, status=status, amount_approved=D(amount), reason=reason, actor=None)
    assert claim.status == "APPROVED" and len(claim.decisions) == 1


def test_payment_batch_flow(session, scheme):
    result = store(
        session,
        scheme,
        entry("C-1", amount="1000"),
        entry("C-2", amount="2000"),
        entry("C-3", member_no="NOBODY"),
        entry("C-4", provider="HR", benefit="HOSP", amount="10000"),
    )
    cs = provider(session, scheme, "CS")
    batch = create_batch(session, cs, actor=None)
    assert batch.number == "CS-0001"
    assert sorted(c.claim_ref for c in batch.claims) == ["C-1", "C-2"]
    with pytest.raises(ClaimError, match="no approved unpaid"):
        create_batch(session, cs, actor=None)
    c2 = session.get(Claim, result.claim_ids[1])
    remove_from_batch(session, batch, c2, actor=None)
    mark_batch_paid(session, batch, date(2025, 4, 30), actor=None)
    assert batch.status == "paid"
    assert session.get(Claim, result.claim_ids[0]).paid_on == date(2025, 4, 30)
    assert c2.paid_on is None
    with pytest.raises(ClaimError, match="already paid"):
        mark_batch_paid(session, batch, date(2025, 5, 1), actor=None)
    with pytest.raises(ClaimError, match="paid"):
        override_decision(
            session,
            session.get(Claim, result.claim_ids[0]),
            status="REJECTED",
            amount_approved=0,
            reason="x",
            actor=None,
        )
    second = create_batch(session, cs, [c2.id], actor=None)
    assert second.number == "CS-0002"
    with pytest.raises(ClaimError, match="not approved unpaid"):
        create_batch(session, provider(session, scheme, "HR"), [c2.id], actor=None)
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "payment_batch")))
    assert actions.count("create") == 2 and "paid" in actions


def test_eligibility_covered_with_benefits_left(session, scheme):
    store(session, scheme, entry("C-1", amount="5000"), entry("C-2", amount="2000", service=date(2025, 3, 2)))
    answer = eligibility(session, scheme, "M-1", date(2025, 6, 1))
    assert answer.found and answer.covered
    assert [(m.member_no, m.covered) for m in answer.members] == [("M-1", True), ("M-2", True)]
    opd = next(b for b in answer.benefits if b.code == "OPD")
    assert (opd.cases, opd.max_cases, opd.used, opd.remaining, opd.first_day, opd.waiting_over) == (
        2,
        10,
        D("4800"),
        D("1200"),
        date(2024, 1, 31),
        True,
    )
    hosp = next(b for b in answer.benefits if b.code == "HOSP")
    assert hosp.remaining is None and hosp.max_cases is None


def test_eligibility_says_why_not(session, scheme):
    make_household(
        session,
        scheme,
        "H-2",
        [("U-1", "head")],
        spans=[(date(2024, 1, 1), date(2024, 6, 1))],
    )
    make_household(session, scheme, "H-3", [("S-1", "head")], spans=[], strike_off=date(2024, 5, 1))
    make_household(session, scheme, "H-4", [("N-1", "head")], enrolment=date(2025, 1, 1), spans=[])
    unpaid = eligibility(session, scheme, "U-1", date(2024, 7, 1))
    assert not unpaid.covered
    assert unpaid.reasons == [("Contributions unpaid: not covered since %(day)s.", {"day": date(2024, 6, 1)})]
    struck = eligibility(session, scheme, "S-1", date(2024, 7, 1))
    assert struck.reasons[0][1] == {"day": date(2024, 5, 1)} and "struck off" in struck.reasons[0][0]
    early = eligibility(session, scheme, "N-1", date(2024, 7, 1))
    assert "Not enrolled yet" in early.reasons[0][0]
    waiting = eligibility(session, scheme, "N-1", date(2025, 1, 10))
    assert [b.waiting_over for b in waiting.benefits] == [False, False, False]
    unknown = eligibility(session, scheme, "ZZZ", date(2025, 1, 1))
    assert not unknown.found and not unknown.covered


def test_eligibility_of_a_person_who_left(session, scheme):
    household = make_household(session, scheme, "H-5", [("E-1", "head"), ("E-2", "spouse")])
    household.persons[1].exit_date = date(2025, 2, 1)
    session.flush()
    answer = eligibility(session, scheme, "E-2", date(2025, 3, 1))
    assert not answer.covered and answer.reasons == [("Left the scheme on %(exit)s.", {"exit": date(2025, 2, 1)})]
    assert [(m.member_no, m.covered) for m in answer.members] == [("E-1", True), ("E-2", False)]


def test_bill_lines_are_stored_only_when_given(session, scheme):
    store(session, scheme, entry("C-1"))
    assert session.scalar(select(func.count()).select_from(ClaimLine)) == 0


def test_checks_json_text_is_the_json_of_every_check(session, scheme):
    import json

    from mhi.claims.rules import ClaimInput, History, decide
    from mhi.claims.services import checks_json_text, load_context

    context = load_context(session, scheme)
    for member_no in ("M-1", 'say "hi"\\', "Zoë"):
        claim = ClaimInput("C-1", member_no, "CS", "OPD", date(2025, 3, 1), date(2025, 3, 2), D("3000"), RECORDED)
        decision = decide(claim, context, History(), "XOF")
        expected = [
            {
                "code": c.code,
                "passed": c.passed,
                "message": c.message,
                "params": {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in c.params.items()},
            }
            for c in decision.checks
        ]
        assert json.loads(checks_json_text(decision)) == expected


@pytest.mark.postgres_only
def test_two_transactions_never_double_spend_an_annual_ceiling(app, session, scheme):
    """On PostgreSQL the persons of a batch are locked before the history is read: the second transaction
    waits for the first and sees its claim (ceiling 6000: 3200 + 2800, not 3200 + 3200)."""
    import threading

    from sqlalchemy.orm import Session

    from mhi.schemes.models import Scheme

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: transactions are serialised already")
    session.commit()
    engine = session.get_bind()
    first_locked = threading.Event()
    results = {}

    def decide(name: str, claim, hold: float) -> None:
        with app.app_context(), Session(engine) as own:
            own_scheme = own.get(Scheme, scheme.id)
            stored = decide_and_store(own, own_scheme, [claim], source="api", actor=None, recorded_on=RECORDED)
            first_locked.set()
            threading.Event().wait(hold)  # keep the lock while the other transaction tries
            own.commit()
            results[name] = (stored.decisions[0].status, stored.decisions[0].amount_approved)

    one = threading.Thread(target=decide, args=("one", entry("T-1", amount="4000"), 0.5))
    one.start()
    first_locked.wait(5)
    two = threading.Thread(target=decide, args=("two", entry("T-2", amount="4000", service=date(2025, 3, 2)), 0))
    two.start()
    one.join(10)
    two.join(10)
    assert results == {"one": ("APPROVED", D("3200")), "two": ("REDUCED", D("2800"))}
