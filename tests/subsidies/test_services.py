"""Subsidy receipts (record, reverse) and the funders' statement, the latter checked on the ndiagane example
against ndiagane-expected (subsidies_due and subsidies_received for 2025)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mhi.schemes.models import Scheme, SubsidyProgramme
from mhi.subsidies.queries import programme_statement
from mhi.subsidies.services import SubsidyError, record_subsidy_receipt, reverse_subsidy_receipt
from tests.contributions.test_example_replay import EXPECTED, load_example
from tests.members.helpers import scheme_with_programme


def test_record_and_reverse(session):
    scheme = scheme_with_programme(session)
    programme = session.scalar(select(SubsidyProgramme))
    receipt = record_subsidy_receipt(
        session, scheme, programme=programme, reference="OV-1", date=date(2025, 2, 1), amount=Decimal(5000)
    )
    with pytest.raises(SubsidyError, match="already used"):
        record_subsidy_receipt(session, scheme, programme=programme, reference="OV-1", date=date(2025, 2, 1), amount=1)
    with pytest.raises(SubsidyError, match="reason is required"):
        reverse_subsidy_receipt(session, receipt, reason="")
    counter = reverse_subsidy_receipt(session, receipt, reason="paid twice")
    assert (counter.reference, counter.amount) == ("OV-1-R", Decimal(-5000))
    with pytest.raises(SubsidyError, match="already been reversed"):
        reverse_subsidy_receipt(session, receipt, reason="again")
    with pytest.raises(SubsidyError, match="itself a reversal"):
        reverse_subsidy_receipt(session, counter, reason="again")
    session.commit()


@pytest.mark.parametrize("code", ["MUT-NDIAGANE", "MUT-POUT"])
def test_statement_matches_expected_subsidies(app, runner, session, code):
    load_example(runner, session)
    expected = json.loads((EXPECTED / code / "indicators.json").read_text(encoding="utf-8"))["indicators"]
    scheme = session.scalar(select(Scheme).where(Scheme.code == code))
    statements = programme_statement(session, scheme, date(2025, 1, 1), date(2025, 12, 31), period="quarter")
    assert all(len(s.lines) == 4 for s in statements)
    assert sum(s.due for s in statements) == Decimal(expected["subsidies_due"])
    assert sum(s.received for s in statements) == Decimal(expected["subsidies_received"])
    for s in statements:
        owed = s.lines[-1].owed
        # Owed at the end = everything due since the start less everything received.
        whole = programme_statement(session, scheme, date(2024, 1, 1), date(2025, 12, 31), period="year")
        assert owed == next(w for w in whole if w.code == s.code).lines[-1].owed
        assert (
            owed == next(w for w in whole if w.code == s.code).due - next(w for w in whole if w.code == s.code).received
        )
