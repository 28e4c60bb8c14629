"""One rule, one function: every screen that shows "arrears at T" agrees with ``Ledger.arrears`` for every
household of the ndiagane example on several days — the arrears list, the household page, the statement's
closing balance, the API's account of the household, and the report's stored ledgers (summed, and household by
household). The version in force
and the reasons for no cover are checked against their one function too."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mhi.cards.statement import statement_balance
from mhi.contributions.queries import household_page, households_in_arrears
from mhi.contributions.rules import not_covered_reason
from mhi.contributions.services import iter_ledgers
from mhi.core.dates import version_on
from mhi.members.models import Household
from mhi.reports import ledgers
from mhi.schemes.models import Scheme
from tests.api.helpers import bearer, token_for
from tests.conftest import EXAMPLES
from tests.factories import make_user

EXAMPLE = EXAMPLES / "ndiagane"
SCHEMES = ("MUT-NDIAGANE", "MUT-POUT")
DAYS = (date(2024, 12, 31), date(2025, 2, 15), date(2025, 6, 30), date(2025, 9, 1), date(2025, 12, 31))


@pytest.fixture
def example(runner, session):
    """Both example schemes with their members and contributions, loaded through the command line."""
    assert runner.invoke(args=["federation", "load", str(EXAMPLE / "federation.json")]).exit_code == 0
    for code in SCHEMES:
        folder = EXAMPLE / code
        assert runner.invoke(args=["scheme", "load", str(folder / "scheme.json")]).exit_code == 0
        for what in ("members", "contributions"):
            result = runner.invoke(args=["import", what, "--scheme", code, str(folder / f"{what}.csv")])
            assert result.exit_code == 0, result.output
    return [session.scalar(select(Scheme).where(Scheme.code == code)) for code in SCHEMES]


def test_arrears_agree_everywhere(app, client, session, example):
    owing_somewhere = 0
    for scheme in example:
        clerk = make_user(session, "clerk", scheme=scheme)
        session.commit()
        headers = bearer(token_for(app, clerk))
        engine = dict(iter_ledgers(session, scheme))
        households = {h.id: h for h in session.scalars(select(Household).where(Household.scheme_id == scheme.id))}
        assert set(engine) == set(households) and households
        for day in DAYS:
            truth = {hid: ledger.arrears(day) for hid, ledger in engine.items()}
            listed = {line.household_id: line.arrears for line in households_in_arrears(session, scheme, day)}
            assert listed == {hid: amount for hid, amount in truth.items() if amount > 0}, day
            assert ledgers.household_arrears(session, scheme, day) == listed, day
            assert ledgers.covers(session, scheme, day)  # kept by the imports: no report builds them
            report = ledgers.contribution_amounts(session, scheme, day, day, scheme.opening_date)
            assert report.arrears == sum(truth.values(), Decimal(0)), day
            for hid, household in households.items():
                account = household_page(session, household, day).account
                assert account.arrears == truth[hid], (household.ref, day)
                api = client.get(
                    f"/api/v1/schemes/{scheme.code}/households/{household.ref}/account?on={day}", headers=headers
                )
                assert api.status_code == 200, api.get_data(as_text=True)
                document = api.get_json()
                assert Decimal(document["arrears"]) == truth[hid], (household.ref, day)
                assert (document["status"], document["reason"]) == (account.status, account.reason)
                if engine[hid].status(day).reason not in ("exited", "struck_off"):
                    closing = statement_balance(account, household, date(day.year, 1, 1), day).closing
                    assert max(closing, Decimal(0)) == truth[hid], (household.ref, day)
            owing_somewhere += len(listed)
    assert owing_somewhere  # the example has households in arrears: the comparison is not of zeros


def test_status_reasons_follow_the_one_function(session, example):
    """The household page's status and reason are ``Ledger.status``; its reason is ``not_covered_reason``'s."""
    for scheme in example:
        for hid, ledger in iter_ledgers(session, scheme):
            household = session.get(Household, hid)
            for day in (ledger.enrolment.replace(day=1), *DAYS):
                status = ledger.status(day)
                account = household_page(session, household, day).account
                assert (account.status, account.reason, account.reason_date) == (
                    status.status,
                    status.reason,
                    status.reason_date,
                )
                assert (status.status != "not_covered") == ledger.is_covered(day)
                if status.status == "not_covered" and status.reason != "unpaid":
                    expected = not_covered_reason(day, ledger.enrolment, ledger.exit_date, ledger.strike_off_date, None)
                    assert (status.reason, status.reason_date) == expected


def test_version_on():
    dated = [(date(2025, 1, 1), "a"), (date(2025, 7, 1), "b"), (date(2026, 1, 1), "c")]
    pick = [
        version_on(dated, day, key=lambda item: item[0])[1]
        for day in (date(2024, 6, 1), date(2025, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2030, 1, 1))
    ]
    assert pick == ["a", "a", "a", "b", "c"]  # before the first date the first applies
    assert version_on([], date(2025, 1, 1)) is None
