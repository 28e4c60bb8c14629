"""The ndiagane example (examples/README.md) recomputed with the pure rules engine, straight from the CSV and
JSON files, against ndiagane-expected/<scheme>/indicators.json for 2025-01-01..2025-12-31."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import pytest

from tests.contributions.example_harness import EXAMPLE, EXPECTED, indicators, load_scheme

F, T = date(2025, 1, 1), date(2025, 12, 31)
SCHEMES = ["MUT-NDIAGANE", "MUT-POUT"]
KEYS = [
    "households_covered_start",
    "households_covered_end",
    "beneficiaries_covered_start",
    "beneficiaries_covered_end",
    "new_households",
    "new_beneficiaries",
    "households_struck_off",
    "exposure_years",
    "contributions_expected",
    "period_dues_paid",
    "contributions_earned",
    "member_contributions_earned",
    "subsidies_due",
    "registration_fees",
    "arrears",
    "contributions_collected",
]


@pytest.fixture(scope="module", params=SCHEMES)
def computed(request):
    """The indicators the engine gives for one scheme, with the expected ones."""
    expected = json.loads((EXPECTED / request.param / "indicators.json").read_text(encoding="utf-8"))
    return request.param, indicators(request.param, F, T), expected["indicators"]


@pytest.mark.parametrize("key", KEYS)
def test_indicator_matches_expected(computed, key):
    """Every membership and contribution figure matches the expected output exactly."""
    scheme, got, expected = computed
    assert got[key] == expected[key], f"{scheme} {key}"


def test_utilisation_uses_the_same_person_days(computed):
    """utilization_per_1000 comes from the exact covered person-days; ours reproduce it (indicators.md)."""
    scheme, got, _ = computed
    expected = json.loads((EXPECTED / scheme / "indicators.json").read_text(encoding="utf-8"))
    for code, benefit in expected["benefits"].items():
        if benefit["cases"]:
            value = round(1000 * benefit["cases"] * 365 / got["person_days"], 4)
            assert value == benefit["utilization_per_1000"], code


# edge_cases.txt households
STRIKE_OFF_CASES = [
    ("MUT-NDIAGANE", "NDIA-0010", "on"),
    ("MUT-NDIAGANE", "NDIA-0026", "before"),
    ("MUT-POUT", "POUT-0012", "on"),
    ("MUT-POUT", "POUT-0020", "before"),
]


def _households(scheme):
    """The example households of ``scheme`` by reference."""
    return {hh.ref: hh for hh in load_scheme(scheme)[1]}


def _receipt_dates(scheme, ref):
    """The dates of a household's receipts in contributions.csv."""
    with (EXAMPLE / scheme / "contributions.csv").open(encoding="utf-8-sig", newline="") as handle:
        return sorted(date.fromisoformat(r["date"]) for r in csv.DictReader(handle) if r["household_ref"] == ref)


@pytest.mark.parametrize(("scheme", "ref", "when"), STRIKE_OFF_CASES)
def test_comeback_receipt_on_or_before_strike_off(scheme, ref, when):
    """A comeback receipt on X + L is too late (struck off that day); the day before it is in time."""
    ledger = _households(scheme)[ref].ledger
    dates = _receipt_dates(scheme, ref)
    if when == "on":
        assert ledger.strike_off_date in dates
        # It pays nothing: C stops before it.
        assert ledger.C(ledger.strike_off_date) == ledger.C(ledger.strike_off_date - timedelta(days=1))
    else:
        # The in-time comeback moved the strike-off date past it.
        assert ledger.strike_off_date is None or all(
            d < ledger.strike_off_date for d in dates if d <= date(2025, 12, 31)
        )
        assert any(ledger.is_covered(d) for d in dates)


@pytest.mark.parametrize(("scheme", "ref"), [("MUT-NDIAGANE", "NDIA-0075"), ("MUT-POUT", "POUT-0009")])
def test_left_while_behind_is_not_struck_off(scheme, ref):
    """A household whose members all left before its strike-off date is not struck off (§5)."""
    ledger = _households(scheme)[ref].ledger
    assert ledger.exit_date is not None
    assert ledger.strike_off_date is None


def _claims(scheme):
    """Input claims and their expected decisions, by claim_ref."""
    with (EXAMPLE / scheme / "claims.csv").open(encoding="utf-8-sig", newline="") as handle:
        inputs = {r["claim_ref"]: r for r in csv.DictReader(handle)}
    with (EXPECTED / scheme / "claims.csv").open(encoding="utf-8-sig", newline="") as handle:
        decided = {r["claim_ref"]: r for r in csv.DictReader(handle)}
    return inputs, decided


def _edge_claims(scheme, label):
    """claim_refs of edge_cases.txt whose description starts with ``label``."""
    rows = (EXAMPLE / "edge_cases.txt").read_text(encoding="utf-8").splitlines()
    return [
        parts[1]
        for parts in (r.split("\t") for r in rows if not r.startswith("#"))
        if parts[0] == scheme and parts[2].startswith(label)
    ]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_coverage_boundaries_of_the_edge_claims(scheme):
    """The "last covered day" / "first uncovered day" claims sit exactly on our coverage boundary."""
    households = load_scheme(scheme)[1]
    by_member = {no: (hh, person) for hh in households for no, person in hh.members.items()}
    inputs, decided = _claims(scheme)
    checked = 0
    for ref in _edge_claims(scheme, "coverage: last covered day"):
        hh, person = by_member[inputs[ref]["member_no"]]
        day = date.fromisoformat(inputs[ref]["date_of_service"])
        assert hh.ledger.person_covered(person, day), ref
        assert not hh.ledger.person_covered(person, day + timedelta(days=1)), ref
        checked += 1
    for ref in _edge_claims(scheme, "coverage: first uncovered day"):
        hh, person = by_member[inputs[ref]["member_no"]]
        day = date.fromisoformat(inputs[ref]["date_of_service"])
        assert not hh.ledger.person_covered(person, day), ref
        assert hh.ledger.person_covered(person, day - timedelta(days=1)), ref
        assert "NOT_COVERED" in decided[ref]["reasons"] or decided[ref]["status"] == "REJECTED", ref
        checked += 1
    for ref in _edge_claims(scheme, "on the strike-off day"):
        hh, _ = by_member[inputs[ref]["member_no"]]
        assert hh.ledger.strike_off_date == date.fromisoformat(inputs[ref]["date_of_service"]), ref
        checked += 1
    assert checked >= 10
