"""Settlement arithmetic of the guarantee pool (pooling.md), hand-worked cases and the Ndiagane example."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mhi.pooling.rules import (
    PoolTerms,
    SchemeFigures,
    StopLossLayer,
    XolLayer,
    settle,
    share_out,
    terms_from_json,
    to_json,
    xol_amount,
)

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"
EXAMPLES = SPEC / "examples"
D = Decimal


def figures(code: str, earned: str, claims: list[str]) -> SchemeFigures:
    """A scheme whose claims_incurred is the sum of its claim amounts."""
    amounts = [D(amount) for amount in claims]
    return SchemeFigures(code, D(earned), sum(amounts, D(0)), amounts)


def test_short_pool_pays_excess_of_loss_first_then_stop_loss_from_what_is_left():
    """Σ XoL 3001 > available 2500: shares rounded down (833 + 1666), the 1 left goes to stop-loss."""
    terms = PoolTerms(
        contribution_rate=D("0.10"),
        excess_of_loss=XolLayer(threshold=D("1000"), share=D("0.5")),
        stop_loss=StopLossLayer(attachment_ratio=D("0.8"), share=D("0.5")),
    )
    schemes = [
        # B first: the settlement orders schemes by code whatever the input order.
        figures("B", "5000", ["2000", "4000", "1001"]),  # XoL 500 + 1500 + round(0.5) = 2001
        figures("A", "10000", ["3000", "500"]),  # XoL 1000
    ]
    result = settle(terms, D("1000"), schemes, "XOF")
    a, b = result.schemes
    assert [a.code, b.code] == ["A", "B"]
    assert (result.contributions, result.available) == (D(1500), D(2500))
    assert (a.pool_contribution, a.excess_of_loss_claim, a.retained_claims, a.stop_loss_claim) == (
        D(1000),
        D(1000),
        D(2500),
        D(0),
    )
    # retained 7001 − 2001 = 5000; stop-loss 0.5 · (5000 − 0.8 · 5000) = 500.
    assert (b.pool_contribution, b.excess_of_loss_claim, b.retained_claims, b.stop_loss_claim) == (
        D(500),
        D(2001),
        D(5000),
        D(500),
    )
    # 1000 · 2500 / 3001 = 833.05…, 2001 · 2500 / 3001 = 1666.94… → rounded down.
    assert (a.excess_of_loss_paid, b.excess_of_loss_paid) == (D(833), D(1666))
    assert (a.stop_loss_paid, b.stop_loss_paid) == (D(0), D(1))
    assert (a.paid, b.paid) == (D(833), D(1667))
    assert (a.net_effect, b.net_effect) == (D(-167), D(1167))
    assert (result.paid, result.closing_balance) == (D(2500), D(0))
    assert [(t.index, t.excess_of_loss) for t in b.triggering_claims] == [
        (0, D(500)),
        (1, D(1500)),
        (2, D(1)),
    ]


def test_rounding_differences_stay_in_the_pool():
    """Three stop-loss claims of 100 from 200: 66 each, 2 stay in the pool; no XoL layer gives 0."""
    terms = PoolTerms(contribution_rate=D("0"), stop_loss=StopLossLayer(attachment_ratio=D("0.8"), share=D("1")))
    schemes = [figures(code, "1000", ["900"]) for code in ("S1", "S2", "S3")]
    result = settle(terms, D("200"), schemes, "XOF")
    for line in result.schemes:
        assert line.excess_of_loss_claim == 0 and line.excess_of_loss_paid == 0
        assert line.triggering_claims == ()
        assert (line.stop_loss_claim, line.stop_loss_paid, line.paid) == (D(100), D(66), D(66))
    assert (result.paid, result.closing_balance) == (D(198), D(2))


def test_pool_with_enough_funds_pays_in_full():
    """Claims that fit the available balance are paid in full; the rest stays."""
    terms = PoolTerms(
        contribution_rate=D("0.05"),
        excess_of_loss=XolLayer(threshold=D("50000"), share=D("0.8"), limit=D("300000")),
        stop_loss=StopLossLayer(attachment_ratio=D("0.9"), share=D("0.5")),
    )
    result = settle(terms, D("1000000"), [figures("X", "1000000", ["400000", "20000"])], "XOF")
    (line,) = result.schemes
    assert line.excess_of_loss_claim == D(200000)  # capped at 0.8 · (300000 − 50000)
    assert line.retained_claims == D(220000)
    assert line.stop_loss_claim == 0
    assert line.paid == D(200000)
    assert result.closing_balance == D(1000000) + D(50000) - D(200000)


def test_no_layers_pay_nothing():
    """A pool without layers only collects."""
    result = settle(PoolTerms(contribution_rate=D("0.05")), D("0"), [figures("X", "1001", ["500000"])], "XOF")
    (line,) = result.schemes
    assert line.pool_contribution == D(50)  # 50.05 rounded half up
    assert (line.excess_of_loss_claim, line.stop_loss_claim, line.paid, line.net_effect) == (0, 0, 0, D(-50))
    assert result.closing_balance == D(50)


def test_empty_pool_pays_nothing_and_goes_negative_nowhere():
    """With nothing available the claims stand but nothing is paid."""
    terms = PoolTerms(contribution_rate=D("0"), excess_of_loss=XolLayer(threshold=D("10"), share=D("1")))
    result = settle(terms, D("0"), [figures("X", "100", ["50"])], "XOF")
    (line,) = result.schemes
    assert (line.excess_of_loss_claim, line.paid, result.closing_balance) == (D(40), D(0), D(0))


@pytest.mark.parametrize(
    ("amount", "layer", "currency", "expected"),
    [
        ("400000", XolLayer(D("50000"), D("0.8"), D("300000")), "XOF", "200000"),  # limit caps
        ("400000", XolLayer(D("50000"), D("0.8")), "XOF", "280000"),  # no limit, no cap
        ("250000", XolLayer(D("50000"), D("0.8"), D("300000")), "XOF", "160000"),  # under the limit
        ("50000", XolLayer(D("50000"), D("0.8")), "XOF", "0"),  # at the threshold
        ("1000", XolLayer(D("50000"), D("0.8")), "XOF", "0"),  # below it: max(0, …)
        ("50001", XolLayer(D("50000"), D("0.5")), "XOF", "1"),  # 0.5 rounds half up, per claim
        ("1000.05", XolLayer(D("1000"), D("0.5")), "INR", "0.03"),
        ("1000.05", None, "INR", "0.00"),
    ],
)
def test_xol_amount(amount, layer, currency, expected):
    """One claim's excess-of-loss amount, rounded as pooling.md's formula says."""
    assert str(xol_amount(D(amount), layer, currency)) == expected


def test_share_out_rounds_down_and_never_passes_the_funds():
    """Pro rata in INR cents, rounded down."""
    assert share_out([D("10.00"), D("20.00")], D("10.00"), "INR") == [D("3.33"), D("6.66")]
    assert share_out([D("10.00"), D("20.00")], D("-5.00"), "INR") == [D("0.00"), D("0.00")]
    assert share_out([D("10.00")], D("10.00"), "INR") == [D("10.00")]


def test_layers_refuse_meaningless_values():
    """A limit at or below the threshold or a share above 1 is refused rather than giving negative amounts."""
    with pytest.raises(ValueError):
        XolLayer(threshold=D("100"), share=D("0.5"), limit=D("100"))
    with pytest.raises(ValueError):
        StopLossLayer(attachment_ratio=D("0.8"), share=D("1.5"))
    with pytest.raises(ValueError):
        PoolTerms(contribution_rate=D("-0.01"))


def test_terms_from_json_reads_optional_layers_and_limit():
    """federation.json's pool: layers and limit optional (data-formats.md)."""
    terms = terms_from_json(
        {
            "contribution_rate": "0.05",
            "excess_of_loss": {"threshold": "50000", "share": "0.8", "limit": "300000"},
        }
    )
    assert terms == PoolTerms(D("0.05"), XolLayer(D("50000"), D("0.8"), D("300000")), None)
    assert terms_from_json({"contribution_rate": "0.05"}) == PoolTerms(D("0.05"))


def test_to_json_writes_currency_decimals_and_sorted_codes():
    """Amounts as strings with the currency's decimals; schemes keyed by code in sorted order."""
    terms = PoolTerms(contribution_rate=D("0.1"))
    result = settle(terms, D("5"), [figures("Z", "100", []), figures("A", "10.5", ["1.25"])], "INR")
    out = to_json(result, "FED", (date(2025, 1, 1), date(2025, 12, 31)))
    assert list(out["schemes"]) == ["A", "Z"]
    assert out["period"] == {"from": "2025-01-01", "to": "2025-12-31"}
    assert out["opening_balance"] == "5.00"
    assert out["contributions"] == "11.05"  # 1.05 + 10.00
    assert out["schemes"]["A"]["retained_claims"] == "1.25"
    assert set(out["schemes"]["A"]) == {
        "contributions_earned",
        "claims_incurred",
        "pool_contribution",
        "excess_of_loss_claim",
        "retained_claims",
        "stop_loss_claim",
        "excess_of_loss_paid",
        "stop_loss_paid",
        "paid",
        "net_effect",
    }


amounts = st.integers(min_value=0, max_value=2_000_000).map(D)


@settings(max_examples=60, deadline=None)
@given(
    schemes=st.lists(st.tuples(amounts, st.lists(amounts, max_size=6)), min_size=1, max_size=5),
    opening=amounts,
    rate=st.sampled_from([D("0"), D("0.02"), D("0.05"), D("0.2")]),
)
def test_results_are_never_negative_and_never_pass_the_funds(schemes, opening, rate):
    """Whatever the figures: nothing negative is paid, no claim is overpaid, the pool never goes below 0."""
    terms = PoolTerms(rate, XolLayer(D("50000"), D("0.7"), D("500000")), StopLossLayer(D("0.8"), D("0.5")))
    inputs = [SchemeFigures(f"S{i}", earned, sum(claims, D(0)), claims) for i, (earned, claims) in enumerate(schemes)]
    result = settle(terms, opening, inputs, "XOF")
    assert result.closing_balance >= 0
    assert result.paid == sum(line.paid for line in result.schemes)
    for line in result.schemes:
        for value in (line.excess_of_loss_claim, line.retained_claims, line.stop_loss_claim, line.paid):
            assert value >= 0
        assert 0 <= line.excess_of_loss_paid <= line.excess_of_loss_claim
        assert 0 <= line.stop_loss_paid <= line.stop_loss_claim


def example_figures(scheme: str) -> SchemeFigures:
    """A scheme's 2025 figures from the example: indicators, approved amounts of the claims of the period.

    date_of_service comes from the input claims.csv, status and amount_approved from the expected export.
    """
    report = json.loads((EXAMPLES / "ndiagane-expected" / scheme / "indicators.json").read_text("utf-8"))
    with open(EXAMPLES / "ndiagane" / scheme / "claims.csv", encoding="utf-8-sig", newline="") as handle:
        service = {row["claim_ref"]: date.fromisoformat(row["date_of_service"]) for row in csv.DictReader(handle)}
    with open(EXAMPLES / "ndiagane-expected" / scheme / "claims.csv", encoding="utf-8", newline="") as handle:
        decided = list(csv.DictReader(handle))
    claim_amounts = [
        D(row["amount_approved"])
        for row in decided
        if row["status"] in ("APPROVED", "REDUCED")
        and date(2025, 1, 1) <= service[row["claim_ref"]] <= date(2025, 12, 31)
    ]
    indicators = report["indicators"]
    return SchemeFigures(scheme, D(indicators["contributions_earned"]), D(indicators["claims_incurred"]), claim_amounts)


def test_ndiagane_example_matches_expected_pool_json():
    """The worked example settles exactly as ndiagane-expected/pool.json, key by key."""
    federation = json.loads((EXAMPLES / "ndiagane" / "federation.json").read_text("utf-8"))
    expected = json.loads((EXAMPLES / "ndiagane-expected" / "pool.json").read_text("utf-8"))
    schemes = [example_figures("MUT-NDIAGANE"), example_figures("MUT-POUT")]
    for line in schemes:
        # The claims behind claims_incurred are exactly the ones the layer sees.
        assert sum(line.claim_amounts, D(0)) == line.claims_incurred
    # No earlier settlement: the balance at 2025-01-01 is the opening balance (pooling.md "The pool").
    result = settle(
        terms_from_json(federation["pool"]),
        D(federation["pool"]["opening_balance"]),
        schemes,
        federation["currency"],
    )
    actual = to_json(result, federation["code"], (date(2025, 1, 1), date(2025, 12, 31)))
    assert actual.keys() == expected.keys()
    for key in expected:
        if key != "schemes":
            assert actual[key] == expected[key], key
    assert actual["schemes"].keys() == expected["schemes"].keys()
    for code, lines in expected["schemes"].items():
        for key, value in lines.items():
            assert actual["schemes"][code][key] == value, (code, key)
    assert actual == expected
    # The excess-of-loss shares leave 1 franc, which the stop-loss layer then pays (examples/README.md).
    assert result.scheme("MUT-POUT").stop_loss_paid == D(1)
