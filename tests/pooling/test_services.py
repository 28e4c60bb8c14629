"""Pool settlements on the database: drafts recomputed, closing, refusals, and the balance carried forward."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.core.db import db
from mhi.pooling import services
from mhi.pooling.models import PoolSettlement
from mhi.reports import indicators as ind
from tests.reports import builders
from tests.reports.builders import F, T

D = Decimal
POOL = {
    "contribution_rate": "0.05",
    "opening_balance": "150000",
    "opening_date": "2024-01-01",
    "excess_of_loss": {"threshold": "50000", "share": "0.7"},
    "stop_loss": {"attachment_ratio": "0.8", "share": "0.5"},
}


@pytest.fixture
def federation(session):
    federation = builders.make_federation(session, "UMT", pool=POOL)
    builders.build_hand_scheme(session, "MUT-A", federation="UMT")
    builders.build_hand_scheme(session, "MUT-B", federation="UMT")
    session.refresh(federation)
    return federation


def test_draft_uses_the_reported_figures(session, federation):
    settlement = services.settle_pool(session, federation, F, T)
    document = services.settlement_json(settlement)
    assert settlement.status == "draft"
    assert list(document) == [
        "federation",
        "currency",
        "period",
        "opening_balance",
        "contributions",
        "available",
        "paid",
        "closing_balance",
        "schemes",
    ]
    report = ind.scheme_indicators(session, federation.schemes[0], F, T)
    line = document["schemes"]["MUT-A"]
    assert line["contributions_earned"] == "17852"
    assert line["claims_incurred"] == "66500"
    assert line["pool_contribution"] == "893"  # 5 % of 17 852
    # C3 (60 000 approved) is the only claim above the threshold: 0.7 · 10 000.
    assert line["excess_of_loss_claim"] == "7000"
    assert line["retained_claims"] == "59500"
    assert line["stop_loss_claim"] == str(round((D(59500) - D("0.8") * D(17852)) * D("0.5")))
    assert document["opening_balance"] == "150000"
    assert report.indicators["claims_incurred"] == D(66500)
    assert settlement.result[services.TRIGGERING] == [
        {"scheme": "MUT-A", "claim_ref": "C3", "amount_approved": "60000", "excess_of_loss": "7000"},
        {"scheme": "MUT-B", "claim_ref": "C3", "amount_approved": "60000", "excess_of_loss": "7000"},
    ]
    json.dumps(settlement.result)  # storable as is


def test_draft_is_replaced_when_recomputed(session, federation):
    first = services.settle_pool(session, federation, F, T)
    session.commit()
    scheme = federation.schemes[0]
    builders.add_claim(session, scheme, "C9", "HOSP", "APPROVED", 90000, date(2025, 5, 1), date(2025, 5, 2))
    session.commit()
    second = services.settle_pool(session, federation, F, T)
    session.commit()
    assert second.id == first.id
    assert session.scalar(select(func.count()).select_from(PoolSettlement)) == 1
    assert second.result["schemes"]["MUT-A"]["claims_incurred"] == "156500"


def test_close_then_closing_twice_is_refused(session, federation):
    closed = services.settle_pool(session, federation, F, T, close=True)
    session.commit()
    assert closed.status == "closed" and closed.closed_at is not None
    frozen = dict(closed.result)
    with pytest.raises(services.PoolError, match="already closed"):
        services.settle_pool(session, federation, F, T, close=True)
    session.rollback()
    # New claims do not move a closed settlement; a draft run shows the closed figures.
    builders.add_claim(session, federation.schemes[0], "C9", "HOSP", "APPROVED", 90000, date(2025, 5, 1), F)
    session.commit()
    again = services.settle_pool(session, federation, F, T)
    assert again.id == closed.id and again.status == "closed"
    assert again.result == frozen


def test_overlapping_closed_periods_are_refused(session, federation):
    services.settle_pool(session, federation, F, T, close=True)
    session.commit()
    with pytest.raises(services.PoolError, match="overlaps"):
        services.settle_pool(session, federation, date(2025, 6, 1), date(2025, 12, 31), close=True)
    with pytest.raises(services.PoolError, match="later settlement"):
        services.settle_pool(session, federation, date(2024, 1, 1), date(2024, 12, 31), close=True)
    # A draft over the closed period is still allowed (it can never be closed).
    draft = services.settle_pool(session, federation, date(2025, 6, 1), date(2025, 12, 31))
    assert draft.status == "draft"


def test_next_opening_balance_is_previous_closing(session, federation):
    first = services.settle_pool(session, federation, F, T, close=True)
    session.commit()
    second = services.settle_pool(session, federation, date(2025, 7, 1), date(2025, 12, 31))
    assert second.opening_balance == first.closing_balance
    assert second.result["opening_balance"] == first.result["closing_balance"]
    # A draft of the first period does not count: only closed settlements carry a balance forward.
    session.rollback()
    third_draft = services.settle_pool(session, federation, date(2026, 1, 1), date(2026, 6, 30))
    assert third_draft.opening_balance == first.closing_balance


def test_federation_without_pool_is_refused(session):
    federation = builders.make_federation(session, "NOPOOL")
    with pytest.raises(services.PoolError, match="no guarantee pool"):
        services.settle_pool(session, federation, F, T)


def test_cli_settle_json_and_close(app, runner, federation):
    db.session.commit()
    args = ["pool", "settle", "--federation", "UMT", "--from", "2025-01-01", "--to", "2025-06-30"]
    result = runner.invoke(args=[*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["federation"] == "UMT" and services.TRIGGERING not in document
    result = runner.invoke(args=[*args, "--close"])
    assert result.exit_code == 0, result.output
    assert "closed" in result.stdout
    result = runner.invoke(args=[*args, "--close"])
    assert result.exit_code == 1
    assert "already closed" in result.stderr
    assert (
        runner.invoke(
            args=["pool", "settle", "--federation", "NONE", "--from", "2025-01-01", "--to", "2025-06-30"]
        ).exit_code
        == 1
    )
