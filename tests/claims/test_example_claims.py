"""The ndiagane example decided without a database: claims.csv against ndiagane-expected, row by row.

Household coverage comes from mhi.contributions.rules (contributions.md §4); everything else from the files.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mhi.claims.rules import (
    BenefitRule,
    ClaimInput,
    History,
    PatientRule,
    ProductRule,
    ProviderRule,
    StaticContext,
    decide_batch,
)
from mhi.contributions.rules import HouseholdInput, PersonDates, Programme, Terms, build_ledger
from mhi.core.money import money_str

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec"
EXAMPLE = SPEC / "examples" / "ndiagane"
EXPECTED = SPEC / "examples" / "ndiagane-expected"
RECORDED_ON = date(2026, 1, 14)
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a UTF-8 CSV file (a BOM accepted, data-formats.md)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _optional_decimal(value: str | None) -> Decimal | None:
    """A scheme.json amount, or None when absent."""
    return None if value is None else Decimal(value)


def _product_rule(product: dict) -> ProductRule:
    """A scheme.json product as the claim checks see it."""
    benefits = {
        b["code"]: BenefitRule(
            code=b["code"],
            kind=b["kind"],
            coverage_rate=_optional_decimal(b.get("coverage_rate")),
            amount=_optional_decimal(b.get("amount")),
            ceiling_per_case=_optional_decimal(b.get("ceiling_per_case")),
            ceiling_per_year=_optional_decimal(b.get("ceiling_per_year")),
            max_cases_per_year=b.get("max_cases_per_year"),
            waiting_period_days=b.get("waiting_period_days"),
        )
        for b in product["benefits"]
    }
    return ProductRule(product["waiting_period_days"], product.get("submission_limit_days"), benefits)


def _terms(product: dict) -> Terms:
    """A scheme.json product's contribution terms for the coverage ledger."""
    contribution = product["contribution"]
    return Terms(
        basis=contribution["basis"],
        amount=Decimal(contribution["amount"]),
        period_months=PERIOD_MONTHS[contribution["period"]],
        registration_fee=Decimal(contribution.get("registration_fee") or "0"),
        grace_days=product.get("grace_period_days") or 0,
        lapse_days=product.get("lapse_after_days"),
    )


def load_scheme(folder: Path) -> tuple[StaticContext, list[ClaimInput], str]:
    """The context, the claims and the currency of one example scheme."""
    scheme = json.loads((folder / "scheme.json").read_text(encoding="utf-8"))
    currency = scheme["currency"]
    opening = date.fromisoformat(scheme["opening_date"])
    products = {p["code"]: _product_rule(p) for p in scheme["products"]}
    terms = {p["code"]: _terms(p) for p in scheme["products"]}
    programmes = [
        Programme(
            code=p["code"],
            categories=frozenset(p["categories"]),
            share=Decimal(p["share"]),
            valid_from=date.fromisoformat(p["valid_from"]),
            valid_to=date.fromisoformat(p["valid_to"]) if p.get("valid_to") else None,
        )
        for p in scheme["subsidy_programmes"]
    ]
    providers = {
        p["code"]: ProviderRule(
            code=p["code"],
            contract_from=date.fromisoformat(p["contract_from"]),
            contract_to=date.fromisoformat(p["contract_to"]) if p.get("contract_to") else None,
            tariffs={code: Decimal(amount) for code, amount in p["tariffs"].items()},
        )
        for p in scheme["providers"]
    }

    members = _read_csv(folder / "members.csv")
    by_household: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in members:
        by_household[row["household_ref"]].append(row)
    receipts: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    for row in _read_csv(folder / "contributions.csv"):
        receipts[row["household_ref"]].append((date.fromisoformat(row["date"]), Decimal(row["amount"])))

    ledgers = {}
    patients = {}
    for ref, rows in by_household.items():
        head = next(row for row in rows if row["relationship"] == "head")
        product = products[head["product_code"]]
        ledgers[ref] = build_ledger(
            HouseholdInput(
                enrolment=date.fromisoformat(head["enrolment_date"]),
                category=head["category"] or "standard",
                persons=[
                    PersonDates(
                        date.fromisoformat(row["enrolment_date"]),
                        date.fromisoformat(row["exit_date"]) if row["exit_date"] else None,
                    )
                    for row in rows
                ],
                receipts=receipts[ref],
                terms=[(opening, terms[head["product_code"]])],
                programmes=programmes,
                currency=currency,
            )
        )
        for row in rows:
            patients[row["member_no"]] = PatientRule(
                member_no=row["member_no"],
                enrolment_date=date.fromisoformat(row["enrolment_date"]),
                exit_date=date.fromisoformat(row["exit_date"]) if row["exit_date"] else None,
                household_key=ref,
                product_at=lambda day, product=product: product,
            )

    claims = [
        ClaimInput(
            claim_ref=row["claim_ref"],
            member_no=row["member_no"],
            provider_code=row["provider_code"] or None,
            benefit_code=row["benefit_code"],
            date_of_service=date.fromisoformat(row["date_of_service"]),
            date_submitted=date.fromisoformat(row["date_submitted"]),
            amount_claimed=Decimal(row["amount_claimed"]),
            recorded_on=RECORDED_ON,
        )
        for row in _read_csv(folder / "claims.csv")
    ]
    context = StaticContext(patients, providers, lambda key, day: ledgers[key].is_covered(day))
    return context, claims, currency


@pytest.mark.parametrize("scheme", ["MUT-NDIAGANE", "MUT-POUT"])
def test_example_claims_match_the_expected_export(scheme):
    context, claims, currency = load_scheme(EXAMPLE / scheme)
    decisions = decide_batch(claims, context, History(), currency)
    got = {
        claim.claim_ref: (
            decision.status,
            money_str(decision.amount_approved, currency),
            ";".join(decision.reasons),
        )
        for claim, decision in zip(claims, decisions, strict=True)
    }
    expected = {
        row["claim_ref"]: (row["status"], row["amount_approved"], row["reasons"])
        for row in _read_csv(EXPECTED / scheme / "claims.csv")
    }
    assert sorted(got) == sorted(expected)
    differences = {ref: (got[ref], expected[ref]) for ref in expected if got[ref] != expected[ref]}
    assert differences == {}
