"""Read the ndiagane example files straight from CSV/JSON into rules inputs, and compute the §6 / indicators
figures with the pure engine (no database), so tests can compare them with ndiagane-expected."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from mhi.contributions.rules import (
    HouseholdInput,
    Ledger,
    PersonDates,
    Programme,
    Terms,
    build_ledger,
    round_exact_sum,
)
from mhi.core.money import money_str, ratio, round_ratio

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"
EXAMPLE = SPEC / "examples" / "ndiagane"
EXPECTED = SPEC / "examples" / "ndiagane-expected"
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass
class Household:
    """One household of the example: its persons and its ledger."""

    ref: str
    persons: list[PersonDates]
    members: dict[str, PersonDates]
    ledger: Ledger


def _optional_date(text: str) -> date | None:
    """A blank cell is no date."""
    return date.fromisoformat(text) if text.strip() else None


def load_scheme(code: str) -> tuple[dict, list[Household]]:
    """The scheme.json and one ``Household`` per household_ref of members.csv."""
    folder = EXAMPLE / code
    scheme = json.loads((folder / "scheme.json").read_text(encoding="utf-8-sig"))
    opening = date.fromisoformat(scheme["opening_date"])
    terms_by_product = {}
    for product in scheme["products"]:
        contribution = product["contribution"]
        terms_by_product[product["code"]] = Terms(
            basis=contribution["basis"],
            amount=Decimal(contribution["amount"]),
            period_months=PERIOD_MONTHS[contribution["period"]],
            registration_fee=Decimal(contribution.get("registration_fee") or "0"),
            grace_days=product.get("grace_period_days") or 0,
            lapse_days=product.get("lapse_after_days"),
        )
    programmes = [
        Programme(
            code=p["code"],
            categories=frozenset(p["categories"]),
            share=Decimal(p["share"]),
            valid_from=date.fromisoformat(p["valid_from"]),
            valid_to=_optional_date(p["valid_to"] or ""),
        )
        for p in scheme["subsidy_programmes"]
    ]
    members = defaultdict(list)
    with (folder / "members.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            members[row["household_ref"]].append(row)
    receipts = defaultdict(list)
    with (folder / "contributions.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            receipts[row["household_ref"]].append((date.fromisoformat(row["date"]), Decimal(row["amount"])))
    households = []
    for ref, rows in members.items():
        head = next(r for r in rows if r["relationship"] == "head")
        members_of = {
            r["member_no"]: PersonDates(date.fromisoformat(r["enrolment_date"]), _optional_date(r["exit_date"]))
            for r in rows
        }
        persons = list(members_of.values())
        h = HouseholdInput(
            enrolment=date.fromisoformat(head["enrolment_date"]),
            category=head["category"].strip() or "standard",
            persons=persons,
            receipts=receipts.get(ref, []),
            terms=[(opening, terms_by_product[head["product_code"]])],
            programmes=programmes,
            currency=scheme["currency"],
        )
        households.append(Household(ref, persons, members_of, build_ledger(h)))
    return scheme, households


def _covered_days(spans, start: date, end: date) -> int:
    """Days of the half-open spans inside [start, end)."""
    total = 0
    for lo, hi in spans:
        hi = end if hi is None else min(hi, end)
        total += max(0, (hi - max(lo, start)).days)
    return total


def indicators(code: str, date_from: date, date_to: date) -> dict:
    """The membership and contribution indicators of one scheme, in the JSON form of indicators.json."""
    scheme, households = load_scheme(code)
    currency = scheme["currency"]
    out = defaultdict(int)
    person_days = 0
    sums = defaultdict(Decimal)
    gross, member = [], []
    window_end = date_to + timedelta(days=1)
    for hh in households:
        ledger = hh.ledger
        out["households_covered_start"] += ledger.is_covered(date_from)
        out["households_covered_end"] += ledger.is_covered(date_to)
        out["beneficiaries_covered_start"] += sum(ledger.person_covered(p, date_from) for p in hh.persons)
        out["beneficiaries_covered_end"] += sum(ledger.person_covered(p, date_to) for p in hh.persons)
        out["new_households"] += date_from <= ledger.enrolment <= date_to
        out["new_beneficiaries"] += sum(date_from <= p.enrolment <= date_to for p in hh.persons)
        struck = ledger.strike_off_date
        out["households_struck_off"] += struck is not None and date_from <= struck <= date_to
        for person in hh.persons:
            person_days += _covered_days(ledger.person_coverage_spans(person), date_from, window_end)
        amounts = ledger.amounts(date_from, date_to)
        for key in (
            "contributions_expected",
            "period_dues_paid",
            "subsidies_due",
            "registration_fees",
            "contributions_collected",
        ):
            sums[key] += getattr(amounts, key)
        sums["arrears"] += amounts.arrears_at_T
        gross.append(amounts.earned_gross_fraction)
        member.append(amounts.earned_member_fraction)
    result = dict(out)
    result["exposure_years"] = round_ratio(ratio(person_days, 365))
    result["person_days"] = person_days
    for key, value in sums.items():
        result[key] = money_str(value, currency)
    result["contributions_earned"] = money_str(round_exact_sum(gross, currency), currency)
    result["member_contributions_earned"] = money_str(round_exact_sum(member, currency), currency)
    return result
