"""The stored claim totals (mhi/claims/totals.py) stay equal to a recount of the claims after every write path,
and the month-aligned claim figures read from them equal the scan's, window for window (issue 17)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, insert, select, text, update

from mhi.claims import totals
from mhi.claims.models import Claim
from mhi.claims.services import (
    ClaimError,
    create_batch,
    mark_batch_paid,
    override_decision,
    remove_from_batch,
    submit_claim,
)
from mhi.claims.totals import ClaimDelayTotal, ClaimMonthTotal, month_number
from mhi.reports import queries
from mhi.schemes.models import Scheme
from tests.claims.claim_helpers import entry, make_household, make_scheme, make_user, provider
from tests.conftest import EXAMPLES
from tests.replay.machinery import run

PAYABLE = ("APPROVED", "REDUCED")


def recount(session, scheme_id: int) -> tuple[dict, dict]:
    """The totals computed in Python from the claim rows (an oracle independent of the triggers' SQL)."""
    months: Counter = Counter()
    amounts: Counter = Counter()
    delays: Counter = Counter()
    for claim in session.scalars(select(Claim).where(Claim.scheme_id == scheme_id)):
        key = (
            claim.benefit_code,
            claim.status,
            month_number(claim.date_of_service),
            month_number(claim.date_submitted),
            month_number(claim.paid_on) if claim.paid_on else 0,
        )
        months[key] += 1
        amounts[key] += claim.amount_approved
        if claim.status in PAYABLE and claim.paid_on is not None:
            delays[(month_number(claim.paid_on), (claim.paid_on - claim.date_submitted).days)] += 1
    return ({k: (n, amounts[k]) for k, n in months.items()}, dict(delays))


def stored(session, scheme_id: int) -> tuple[dict, dict]:
    """The stored totals, rows whose counts have gone back to zero left out."""
    t, d = ClaimMonthTotal, ClaimDelayTotal
    months = {
        (r.benefit_code, r.status, r.service_month, r.submitted_month, r.paid_month): (r.claims, r.amount)
        for r in session.scalars(select(t).where(t.scheme_id == scheme_id))
        if r.claims or r.amount
    }
    delays = {
        (r.paid_month, r.delay_days): r.claims
        for r in session.scalars(select(d).where(d.scheme_id == scheme_id))
        if r.claims
    }
    return months, delays


def assert_totals_right(session, scheme_id: int) -> None:
    session.expire_all()
    assert stored(session, scheme_id) == recount(session, scheme_id)


def month_starts(first: date, last: date) -> list[date]:
    months, day = [], date(first.year, first.month, 1)
    while day <= last:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def assert_windows_match_scan(session, scheme_id: int) -> int:
    """For every month-aligned [F, T] over the claims' months (one either side), both opening dates, the figures
    from the totals equal the scan's; and the trend's monthly incurred. Returns the windows compared."""
    days = [
        day
        for row in session.execute(
            select(Claim.date_of_service, Claim.date_submitted, Claim.paid_on).where(Claim.scheme_id == scheme_id)
        )
        for day in row
        if day is not None
    ]
    if not days:
        return 0
    starts = month_starts(min(days) - timedelta(days=31), max(days) + timedelta(days=31))
    ends = [(s + timedelta(days=32)).replace(day=1) - timedelta(days=1) for s in starts]
    compared = 0
    for i, f in enumerate(starts):
        for t in ends[i:]:
            for opening in (starts[0], f):
                fast = queries.claim_totals_from_totals(session, scheme_id, f, t, opening)
                slow = queries.claim_totals_by_scan(session, scheme_id, f, t, opening)
                assert fast == slow, (f, t, opening)
                compared += 1
    months = list(zip(starts, ends, strict=True))
    assert queries.monthly_claims_incurred(session, scheme_id, months) == queries.monthly_claims_incurred_by_scan(
        session, scheme_id, months
    )
    return compared


def test_month_aligned_and_dispatch():
    assert queries.month_aligned(date(2025, 1, 1), date(2025, 12, 31))
    assert queries.month_aligned(date(2024, 2, 1), date(2024, 2, 29))
    assert not queries.month_aligned(date(2025, 1, 2), date(2025, 12, 31))
    assert not queries.month_aligned(date(2025, 1, 1), date(2025, 2, 28) - timedelta(days=1))


def test_examples_totals_equal_the_scan(app, runner, session):
    """Both example federations imported through the command line (claims CSV imports): totals right, and every
    month-aligned window of their claims agrees with the scan."""
    for folder, federation in (("ndiagane", "federation.json"), ("fatick", "federation.json")):
        example = EXAMPLES / folder
        run(runner, "federation", "load", str(example / federation))
        for scheme_folder in sorted(p for p in example.iterdir() if (p / "scheme.json").exists()):
            code = scheme_folder.name
            run(runner, "scheme", "load", str(scheme_folder / "scheme.json"))
            for what in ("members", "categories", "contributions", "claims"):
                path = scheme_folder / f"{what}.csv"
                if path.exists():
                    run(runner, "import", what, "--scheme", code, str(path))
    compared = 0
    for scheme in session.scalars(select(Scheme)):
        assert session.scalar(select(Claim.id).where(Claim.scheme_id == scheme.id).limit(1)) is not None
        assert_totals_right(session, scheme.id)
        compared += assert_windows_match_scan(session, scheme.id)
    assert compared > 100


def test_random_writes_keep_the_totals(session):
    """Random claims through the real write paths — submit, override, batch create/pay, removal from a batch,
    bulk ORM updates, a raw UPDATE and DELETE — with the totals checked after each step and the windows at the
    end."""
    rng = random.Random(17)
    scheme = make_scheme(session)
    other = make_scheme(session, "MUT-OTHER")
    for i in range(1, 6):
        make_household(session, scheme, f"H-{i}", [(f"M-{i}", "head")])
    make_household(session, other, "H-X", [("X-1", "head")])
    officer = make_user(session, "claims_officer", scheme)
    session.commit()
    claims = []
    for n in range(60):
        service = date(2024, 11, 1) + timedelta(days=rng.randrange(300))
        claims.append(
            submit_claim(
                session,
                scheme,
                entry(
                    f"R{n}",
                    f"M-{rng.randrange(1, 7)}",  # M-6 does not exist: a rejected claim
                    benefit=rng.choice(["OPD", "OPD", "HOSP", "XYZ"]),
                    provider=rng.choice(["CS", "HR"]),
                    service=service,
                    submitted=service + timedelta(days=rng.randrange(40)),
                    amount=str(rng.randrange(500, 4000)),
                ),
                source="form",
                actor=None,
                recorded_on=date(2025, 9, 1),
            )
        )
    submit_claim(session, other, entry("O1", "X-1"), source="api", actor=None, recorded_on=date(2025, 9, 1))
    session.commit()
    assert_totals_right(session, scheme.id)
    assert_totals_right(session, other.id)

    overridden = 0
    for claim in rng.sample(claims, 20):
        status = rng.choice(["APPROVED", "REDUCED", "REJECTED"])
        amount = "0" if status == "REJECTED" else str(min(claim.amount_claimed, Decimal(rng.randrange(100, 3000))))
        try:
            override_decision(session, claim, status=status, amount_approved=amount, reason="test", actor=officer)
        except ClaimError:  # above what the ceilings leave: refused, nothing written
            session.rollback()
            continue
        session.commit()
        overridden += 1
    assert overridden >= 5
    assert_totals_right(session, scheme.id)

    for code in ("CS", "HR"):
        unpaid = session.scalars(
            select(Claim.id).where(
                Claim.scheme_id == scheme.id,
                Claim.provider_code == code,
                Claim.status.in_(PAYABLE),
                Claim.paid_on.is_(None),
                Claim.awaiting_approval.is_(False),
            )
        ).all()
        if not unpaid:
            continue
        batch = create_batch(session, provider(session, scheme, code), unpaid, actor=officer)
        session.commit()
        if len(batch.claims) > 1:
            remove_from_batch(session, batch, batch.claims[0], actor=officer)
        mark_batch_paid(session, batch, date(2025, 8, 15) if code == "CS" else date(2025, 10, 3), actor=officer)
        session.commit()
        assert_totals_right(session, scheme.id)

    # A payment reversed in bulk (ORM update statement), a raw UPDATE that moves dates, a benefit recoded, and
    # deletions: none of them goes through a service, all are counted.
    paid = session.scalars(select(Claim.id).where(Claim.paid_on.is_not(None)).limit(3)).all()
    session.execute(update(Claim).where(Claim.id.in_(paid)).values(paid_on=None, batch_id=None))
    session.execute(text("UPDATE claim SET date_submitted = date_of_service WHERE claim_ref IN ('R1', 'R2', 'R3')"))
    session.execute(update(Claim).where(Claim.claim_ref == "R4").values(benefit_code="OPD2", reasons="recoded"))
    session.execute(update(Claim).where(Claim.claim_ref == "R5").values(reasons="only the reasons"))
    rows = [
        {
            "scheme_id": scheme.id,
            "claim_ref": f"B{n}",
            "member_no": "M-1",
            "benefit_code": "OPD",
            "date_of_service": date(2025, 1, 10 + n),
            "date_submitted": date(2025, 2, 1),
            "recorded_on": date(2025, 2, 1),
            "amount_claimed": Decimal(1000),
            "status": "APPROVED",
            "amount_approved": Decimal("999.5"),
            "paid_on": date(2025, 2, 20),
        }
        for n in range(3)
    ]
    session.execute(insert(Claim), rows)  # a bulk insert, as the imports write
    session.flush()
    assert_totals_right(session, scheme.id)
    session.execute(delete(Claim).where(Claim.claim_ref.in_(["B0", "B1"])))
    session.commit()
    assert_totals_right(session, scheme.id)
    assert_totals_right(session, other.id)
    assert assert_windows_match_scan(session, scheme.id) > 100

    # The repair path recounts to the same rows (and drops the zero rows).
    session.execute(text("UPDATE claim_month_total SET claims = claims + 5"))
    totals.rebuild(session, scheme.id)
    session.commit()
    assert_totals_right(session, scheme.id)
    assert session.scalar(select(ClaimMonthTotal).where(ClaimMonthTotal.claims == 0)) is None
