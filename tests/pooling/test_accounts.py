"""The pool's money in the schemes' statements of accounts and in the federation's pool statement."""

from __future__ import annotations

from decimal import Decimal

from mhi.pooling import accounts, services
from mhi.reports import indicators as ind
from tests.factories import login, make_user, records
from tests.pooling.test_services import POOL
from tests.reports import builders
from tests.reports.builders import F, T

D = Decimal


def _federation(session):
    federation = builders.make_federation(session, "UMT", pool=POOL)
    builders.build_hand_scheme(session, "MUT-A", federation="UMT")
    builders.build_hand_scheme(session, "MUT-B", federation="UMT")
    session.refresh(federation)
    return federation


def test_a_draft_moves_no_money_a_closed_settlement_does(session):
    federation = _federation(session)
    scheme = federation.schemes[0]
    services.settle_pool(session, federation, F, T)
    session.commit()
    draft = accounts.scheme_accounts(session, scheme, F, T)
    assert draft.pool_lines == [] and len(draft.pending) == 1
    assert draft.result_after_pool == draft.result_before_pool

    settlement = services.settle_pool(session, federation, F, T, close=True)
    session.commit()
    line = settlement.result["schemes"]["MUT-A"]
    closed = accounts.scheme_accounts(session, scheme, F, T)
    figures = ind.scheme_indicators(session, scheme, F, T).indicators
    # Before the pool, the statement is indicators.md's net result, split into its parts.
    assert closed.result_before_pool == figures["net_result"]
    assert closed.member_contributions_earned + closed.subsidy_contributions_earned == figures["contributions_earned"]
    assert closed.pool_contributions == D(line["pool_contribution"])
    assert closed.pool_received == D(line["paid"])
    assert closed.result_after_pool == figures["net_result"] + D(line["net_effect"])


def test_the_pool_statement_balances(session):
    federation = _federation(session)
    settlement = services.settle_pool(session, federation, F, T, close=True)
    session.commit()
    statement = accounts.federation_pool_statement(session, federation, F, T)
    assert statement.opening_balance == D(POOL["opening_balance"])
    assert statement.closing_balance == settlement.closing_balance
    assert statement.opening_balance + statement.contributions - statement.paid == statement.closing_balance
    assert sorted(statement.by_scheme) == ["MUT-A", "MUT-B"]
    # A period in which no settlement ends has nothing to show.
    empty = accounts.federation_pool_statement(
        session, federation, F.replace(year=F.year - 3), T.replace(year=T.year - 3)
    )
    assert empty.settlements == [] and empty.opening_balance is None


def test_the_pages_show_the_result_after_pooling(app, client):
    with records(app) as session:
        federation = _federation(session)
        services.settle_pool(session, federation, F, T, close=True)
        session.commit()
        manager = make_user(session, "scheme_manager", scheme=federation.schemes[0])
        reviewer = make_user(session, "federation_reviewer", federation=federation)
    query = f"?kind=range&from={F.isoformat()}&to={T.isoformat()}"
    login(client, manager)
    page = client.get(f"/schemes/MUT-A/accounts{query}")
    assert page.status_code == 200
    assert "Result after the guarantee pool" in page.get_data(as_text=True)
    assert client.get(f"/schemes/MUT-B/accounts{query}").status_code == 404
    assert client.get(f"/federations/UMT/pool/statement{query}").status_code == 403
    client.post("/logout")
    login(client, reviewer)
    statement = client.get(f"/federations/UMT/pool/statement{query}")
    assert statement.status_code == 200
    assert "Closing balance" in statement.get_data(as_text=True)
