"""A small hand-worked scheme for the indicator tests, written through the models (no importers needed).

Scheme ``MUT-HAND`` (XOF), opening 2024-01-01 with a reserve of 100 000 and cash of 50 000, target population
100. Product ``YEAR``: 12 000 per household and year, registration fee 1 000, grace 30 days, lapse 60 days.
Programme ``IND`` pays half for ``indigent`` households. The report period is 2025-01-01..2025-06-30 (181 days).

    H1  standard, E 2025-01-01, head + spouse + child (child leaves 2025-06-01); pays 13 000 on E.
    H2  indigent, E 2025-01-01, head; pays its half, 500 + 6 000 = 6 500, on E.
    H3  standard, E 2025-03-01, head + child; never pays: struck off E + 60 = 2025-04-30.
    H4  standard, E 2024-01-01, head + spouse, a child from 2025-02-01; pays 13 000 on E and 12 000 on 2025-02-15
        (covered to 2025-01-30 in grace, uncovered 2025-01-31..02-14, then covered again).
    H5  standard, E 2024-01-01, head; pays 13 000 on E only: covered to 2025-01-30, struck off 2025-03-02.
    H6  standard, E 2025-06-01, head; pays only the registration fee 1 000 on E: never covered, owes 12 000.

Claims, expenses and subsidy receipts are listed in ``CLAIMS``, ``EXPENSES``, ``SUBSIDY_RECEIPTS``.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from mhi.claims.models import Claim
from mhi.contributions.models import Receipt
from mhi.contributions.services import refresh_households
from mhi.members.models import Household, Person
from mhi.schemes.models import Expense, Federation, Product, Scheme, SubsidyProgramme
from mhi.schemes.services import load_federation, load_scheme
from mhi.subsidies.models import SubsidyReceipt

D = Decimal
F = date(2025, 1, 1)
T = date(2025, 6, 30)


def scheme_document(code: str = "MUT-HAND", currency: str = "XOF", federation: str | None = None) -> dict:
    """scheme.json of the hand-worked scheme."""
    document = {
        "code": code,
        "name": f"Mutuelle {code}",
        "country": "SN",
        "currency": currency,
        "target_population": 100,
        "opening_date": "2024-01-01",
        "opening_reserve": "100000",
        "opening_cash": "50000",
        "products": [
            {
                "code": "YEAR",
                "name": "Paquet annuel",
                "contribution": {"basis": "household", "amount": "12000", "period": "year", "registration_fee": "1000"},
                "waiting_period_days": 0,
                "grace_period_days": 30,
                "lapse_after_days": 60,
                "benefits": [
                    {"code": "OPD", "name": "Consultation", "kind": "service", "coverage_rate": "0.8"},
                    {"code": "HOSP", "name": "Hospitalisation", "kind": "service", "coverage_rate": "0.7"},
                    {"code": "MAT", "name": "Accouchement", "kind": "service", "coverage_rate": "1"},
                ],
            }
        ],
        "subsidy_programmes": [
            {
                "code": "IND",
                "funder": "Etat",
                "categories": ["indigent"],
                "share": "0.5",
                "valid_from": "2024-01-01",
                "valid_to": None,
            }
        ],
        "providers": [],
    }
    if federation:
        document["federation"] = federation
    return document


def make_federation(session, code: str = "FED", currency: str = "XOF", pool: dict | None = None) -> Federation:
    """A federation loaded from a federation.json document."""
    document = {"code": code, "name": f"Union {code}", "currency": currency}
    if pool is not None:
        document["pool"] = pool
    load_federation(session, document, today=date(2024, 1, 1))
    session.flush()
    return session.scalar(select(Federation).where(Federation.code == code))


def load(session, code: str = "MUT-HAND", currency: str = "XOF", federation: str | None = None) -> Scheme:
    """Load the scheme set-up only (no households)."""
    load_scheme(session, scheme_document(code, currency, federation), today=date(2024, 1, 1))
    session.flush()
    return session.scalar(select(Scheme).where(Scheme.code == code))


_numbers = itertools.count(1)


def add_household(session, scheme: Scheme, ref: str, enrolment: date, persons, *, category: str = "standard"):
    """A household and its persons: ``persons`` = [(relation, enrolment, exit or None)], the head first."""
    product = session.scalar(select(Product).where(Product.scheme_id == scheme.id))
    household = Household(
        scheme_id=scheme.id, ref=ref, product_id=product.id, category=category, enrolment_date=enrolment
    )
    session.add(household)
    session.flush()
    for index, (relation, joined, left) in enumerate(persons):
        session.add(
            Person(
                scheme_id=scheme.id,
                household_id=household.id,
                member_no=f"{ref}-{index + 1}",
                first_name="Awa",
                last_name=f"Diop {ref}",
                sex="F",
                date_of_birth=date(1990, 1, 1),
                relation=relation,
                enrolment_date=joined,
                exit_date=left,
            )
        )
    session.flush()
    return household


def pay(session, household: Household, day: date, amount: int) -> None:
    """A contribution receipt."""
    session.add(
        Receipt(
            scheme_id=household.scheme_id,
            household_id=household.id,
            receipt_no=f"R{next(_numbers)}",
            date=day,
            amount=D(amount),
        )
    )


def add_claim(
    session,
    scheme: Scheme,
    ref: str,
    benefit: str,
    status: str,
    amount: int,
    service: date,
    submitted: date,
    paid: date | None = None,
) -> Claim:
    """A decided claim written directly (the indicators read only the decision in force)."""
    claim = Claim(
        scheme_id=scheme.id,
        claim_ref=ref,
        member_no="H1-1",
        benefit_code=benefit,
        date_of_service=service,
        date_submitted=submitted,
        recorded_on=submitted,
        amount_claimed=D(amount),
        status=status,
        amount_approved=D(amount) if status != "REJECTED" else D(0),
        paid_on=paid,
    )
    session.add(claim)
    return claim


#: (ref, benefit, status, amount approved, date of service, submitted, paid on)
CLAIMS = (
    ("C1", "OPD", "APPROVED", 2000, date(2025, 2, 1), date(2025, 2, 5), date(2025, 2, 20)),  # 15 days
    ("C2", "OPD", "REDUCED", 3000, date(2025, 3, 1), date(2025, 3, 2), date(2025, 4, 11)),  # 40 days
    ("C3", "HOSP", "APPROVED", 60000, date(2025, 6, 20), date(2025, 6, 25), None),  # outstanding at T
    ("C4", "OPD", "REJECTED", 4000, date(2025, 3, 30), date(2025, 4, 1), date(2025, 4, 5)),  # paid_on ignored
    ("C5", "HOSP", "APPROVED", 10000, date(2024, 12, 20), date(2025, 1, 5), date(2025, 1, 25)),  # 20 days
    ("C6", "OPD", "APPROVED", 1500, date(2025, 6, 28), date(2025, 7, 3), date(2025, 7, 10)),  # received after T
    ("C7", "OPD", "APPROVED", 1000, date(2024, 6, 1), date(2024, 6, 2), date(2024, 6, 30)),  # before the period
)
EXPENSES = (("E1", date(2025, 3, 15), 5000), ("E2", date(2024, 5, 1), 2000))
SUBSIDY_RECEIPTS = (("S1", date(2025, 3, 1), 4000), ("S0", date(2024, 12, 1), 1000))


def build_hand_scheme(session, code: str = "MUT-HAND", federation: str | None = None, currency: str = "XOF"):
    """The whole hand-worked scheme of the module docstring, derived data refreshed and committed."""
    scheme = load(session, code, currency, federation)
    h1 = add_household(
        session, scheme, "H1", F, [("head", F, None), ("spouse", F, None), ("child", F, date(2025, 6, 1))]
    )
    h2 = add_household(session, scheme, "H2", F, [("head", F, None)], category="indigent")
    march = date(2025, 3, 1)
    add_household(session, scheme, "H3", march, [("head", march, None), ("child", march, date(2025, 5, 1))])
    e24 = date(2024, 1, 1)
    h4 = add_household(
        session, scheme, "H4", e24, [("head", e24, None), ("spouse", e24, None), ("child", date(2025, 2, 1), None)]
    )
    h5 = add_household(session, scheme, "H5", e24, [("head", e24, None)])
    june = date(2025, 6, 1)
    h6 = add_household(session, scheme, "H6", june, [("head", june, None)])
    pay(session, h1, F, 13000)
    pay(session, h2, F, 6500)
    pay(session, h4, e24, 13000)
    pay(session, h4, date(2025, 2, 15), 12000)
    pay(session, h5, e24, 13000)
    pay(session, h6, june, 1000)
    for ref, benefit, status, amount, service, submitted, paid in CLAIMS:
        add_claim(session, scheme, ref, benefit, status, amount, service, submitted, paid)
    for ref, day, amount in EXPENSES:
        session.add(Expense(scheme_id=scheme.id, reference=ref, date=day, category="other", amount=D(amount)))
    programme = session.scalar(select(SubsidyProgramme).where(SubsidyProgramme.scheme_id == scheme.id))
    for ref, day, amount in SUBSIDY_RECEIPTS:
        session.add(
            SubsidyReceipt(scheme_id=scheme.id, programme_id=programme.id, reference=ref, date=day, amount=D(amount))
        )
    session.flush()
    refresh_households(session, scheme)
    session.commit()
    return scheme


def load_example_schemes(runner, folder) -> list[str]:
    """Load an example federation's schemes (members and contributions) through the command line, as a scheme
    manager would; returns the scheme codes."""
    codes = ["MUT-NDIAGANE", "MUT-POUT"]
    assert runner.invoke(args=["federation", "load", str(folder / "federation.json")]).exit_code == 0
    for code in codes:
        assert runner.invoke(args=["scheme", "load", str(folder / code / "scheme.json")]).exit_code == 0
        for what in ("members", "contributions"):
            result = runner.invoke(args=["import", what, "--scheme", code, str(folder / code / f"{what}.csv")])
            assert result.exit_code == 0, result.output
    return codes
