"""A household made indigent from a date (the household page's dated category change, contributions.md §2: the
category on each period's start) is covered from that period without paying, at once: its stored coverage spans
and strike-off date follow in the same request."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from mhi.contributions.models import CoverageSpan
from mhi.contributions.services import ledger_for, record_receipt
from mhi.members.models import Household
from mhi.schemes.models import SubsidyProgramme
from tests.factories import login, make_scheme, make_user, records
from tests.members.helpers import enrol

E = date(2025, 1, 10)


def test_a_household_made_indigent_from_a_date_is_covered_from_that_period_without_paying(app, client):
    with records(app) as session:
        scheme = make_scheme(session)
        session.add(
            SubsidyProgramme(
                scheme_id=scheme.id, code="CMU-IND", funder="Etat", categories=["indigent"], share=Decimal(1),
                valid_from=date(2024, 1, 1), valid_to=None,
            )
        )  # fmt: skip
        session.commit()
        household = enrol(session, scheme, "H-1", E)  # head and child: 600 a month, fee 1000
        record_receipt(session, household, date=E, amount=Decimal(1000 + 3 * 600))  # paid to 2025-04-10
        session.commit()
        hid = household.id
        clerk = make_user(session, "clerk", scheme)
        ledger = ledger_for(session, household)
        assert not ledger.is_covered(date(2025, 6, 1))
        assert household.strike_off_date == date(2025, 10, 7)  # 2025-04-10 + 180 days
    login(client, clerk)
    answer = client.post(
        f"/schemes/MUT-A/households/{hid}/category",
        data={"category": "indigent", "from_date": "2025-04-10", "reason": "CMU list 2025"},
    )
    assert answer.status_code == 302
    with records(app) as session:
        household = session.get(Household, hid)
        assert household.strike_off_date is None
        spans = session.execute(select(CoverageSpan.start, CoverageSpan.end).where(CoverageSpan.household_id == hid))
        assert spans.all() == [(E, None)]  # covered from enrolment on, with no end: nothing more to pay
        ledger = ledger_for(session, household)
        assert ledger.is_covered(date(2025, 6, 1)) and ledger.is_covered(date(2026, 6, 1))
        periods = ledger.periods_until(date(2025, 6, 1))
        assert [p.member_due for p in periods] == [Decimal(600)] * 3 + [Decimal(0)] * 2
        assert ledger.arrears(date(2025, 6, 1)) == Decimal(0)
