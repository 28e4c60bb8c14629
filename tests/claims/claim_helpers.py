"""Small builders for claims tests: a scheme loaded from a dict, households and persons written directly with
their coverage spans (so these tests do not depend on the members and contributions importers)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from mhi.auth.models import User
from mhi.claims.services import ClaimEntry
from mhi.contributions.models import CoverageSpan
from mhi.members.models import Household, Person
from mhi.schemes.models import Product, Provider, Scheme
from mhi.schemes.services import load_scheme

D = Decimal
RECORDED = date(2026, 1, 14)

SCHEME = {
    "code": "MUT-TEST",
    "name": "Mutuelle de test",
    "country": "SN",
    "currency": "XOF",
    "target_population": 1000,
    "opening_date": "2024-01-01",
    "products": [
        {
            "code": "BASE",
            "name": "Paquet de base",
            "contribution": {"basis": "person", "amount": "300", "period": "month"},
            "waiting_period_days": 30,
            "grace_period_days": 30,
            "lapse_after_days": 180,
            "submission_limit_days": 90,
            "benefits": [
                {
                    "code": "OPD",
                    "name": "Consultation",
                    "kind": "service",
                    "coverage_rate": "0.8",
                    "ceiling_per_case": "5000",
                    "ceiling_per_year": "6000",
                    "max_cases_per_year": 10,
                },
                {"code": "HOSP", "name": "Hospitalisation", "kind": "service", "coverage_rate": "0.7"},
                {"code": "DEATH", "name": "Allocation décès", "kind": "cash", "amount": "50000"},
            ],
        }
    ],
    "providers": [
        {
            "code": "CS",
            "name": "Centre de santé",
            "kind": "health_centre",
            "contract_from": "2024-01-01",
            "contract_to": None,
            "tariffs": {"OPD": "4000"},
        },
        {
            "code": "HR",
            "name": "Hôpital régional",
            "kind": "hospital",
            "contract_from": "2024-01-01",
            "contract_to": None,
            "tariffs": {},
        },
    ],
}


def make_scheme(session, code: str = "MUT-TEST") -> Scheme:
    """Load the test scheme (code overridable for a second scheme)."""
    load_scheme(session, {**SCHEME, "code": code}, today=date(2024, 1, 1))
    session.flush()
    return session.scalar(select(Scheme).where(Scheme.code == code))


def make_household(
    session,
    scheme: Scheme,
    ref: str,
    members: list[tuple[str, str]],
    *,
    enrolment: date = date(2024, 1, 1),
    spans: list[tuple[date, date | None]] = ((date(2024, 1, 1), None),),
    strike_off: date | None = None,
    exit_date: date | None = None,
) -> Household:
    """A household with persons ``[(member_no, relationship)]`` enrolled on ``enrolment`` and coverage spans."""
    product = session.scalar(select(Product).where(Product.scheme_id == scheme.id))
    household = Household(
        scheme_id=scheme.id,
        ref=ref,
        product_id=product.id,
        enrolment_date=enrolment,
        strike_off_date=strike_off,
        exit_date=exit_date,
    )
    session.add(household)
    session.flush()
    for index, (member_no, relation) in enumerate(members):
        session.add(
            Person(
                scheme_id=scheme.id,
                household_id=household.id,
                member_no=member_no,
                first_name=f"First{index}",
                last_name=ref,
                sex="F",
                date_of_birth=date(1990, 1, 1),
                relation=relation,
                enrolment_date=enrolment,
            )
        )
    for start, end in spans:
        session.add(CoverageSpan(scheme_id=scheme.id, household_id=household.id, start=start, end=end))
    session.flush()
    return household


def entry(ref: str, member_no: str = "M-1", *, benefit="OPD", provider="CS", service=date(2025, 3, 1), **kw):
    """A claim entry with sensible defaults."""
    return ClaimEntry(
        claim_ref=ref,
        member_no=member_no,
        provider_code=provider,
        benefit_code=benefit,
        date_of_service=service,
        date_submitted=kw.pop("submitted", service),
        amount_claimed=D(kw.pop("amount", "3000")),
        **kw,
    )


def provider(session, scheme, code: str) -> Provider:
    """A provider of the scheme by code."""
    return session.scalar(select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == code))


def make_user(session, role: str, scheme=None, federation=None, email=None) -> User:
    """A user with a role (no password checks: tests sign in through the session)."""
    user = User(
        email=email or f"{role}@example.org",
        name=role,
        role=role,
        scheme_id=scheme.id if scheme is not None else None,
        federation_id=federation.id if federation is not None else None,
        password_hash="x",
    )
    session.add(user)
    session.flush()
    return user
