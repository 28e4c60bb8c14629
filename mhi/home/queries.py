"""Live figures of the dashboard, per scheme, each one grouped COUNT over every scheme shown (never a query
per scheme). Other features add their figures to ``FIGURES``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import distinct, func, or_, select

from mhi.claims.models import Claim
from mhi.contributions.models import CoverageSpan
from mhi.members.models import Household, Person


@dataclass(frozen=True)
class Figure:
    """One dashboard figure: its label, the permission needed to see it, and its query."""

    key: str
    label: object
    permission: str
    query: Callable[..., dict[int, int]]  # (session, scheme_ids, today) -> {scheme_id: value}


def households_in_register(session, scheme_ids: list[int], today: date) -> dict[int, int]:
    """Households that have not left (a household leaves when its last member does)."""
    rows = session.execute(
        select(Household.scheme_id, func.count())
        .where(Household.scheme_id.in_(scheme_ids), or_(Household.exit_date.is_(None), Household.exit_date > today))
        .group_by(Household.scheme_id)
    )
    return dict(rows.all())


def persons_in_register(session, scheme_ids: list[int], today: date) -> dict[int, int]:
    """Beneficiaries who have not left."""
    rows = session.execute(
        select(Person.scheme_id, func.count())
        .where(Person.scheme_id.in_(scheme_ids), or_(Person.exit_date.is_(None), Person.exit_date > today))
        .group_by(Person.scheme_id)
    )
    return dict(rows.all())


def households_covered_today(session, scheme_ids: list[int], today: date) -> dict[int, int]:
    """Households with a coverage span holding today: the sum of the stored coverage changes up to today
    (mhi/contributions/coverage_totals.py; a household's spans are disjoint, so this is the count of
    households), a few hundred rows per scheme instead of its spans."""
    from mhi.contributions.coverage_totals import covered_on

    return {
        scheme_id: households
        for scheme_id, [(households, _)] in covered_on(session, scheme_ids, [today]).items()
        if households
    }


def households_covered_today_by_scan(session, scheme_ids: list[int], today: date) -> dict[int, int]:
    """``households_covered_today`` from the spans (the reference of the tests)."""
    rows = session.execute(
        select(CoverageSpan.scheme_id, func.count(distinct(CoverageSpan.household_id)))
        .where(
            CoverageSpan.scheme_id.in_(scheme_ids),
            CoverageSpan.start <= today,
            or_(CoverageSpan.end.is_(None), CoverageSpan.end > today),
        )
        .group_by(CoverageSpan.scheme_id)
    )
    return dict(rows.all())


def households_about_to_lapse(session, scheme_ids: list[int], today: date) -> dict[int, int]:
    """Households whose strike-off date falls within the next 30 days: the collectors' first visits."""
    rows = session.execute(
        select(Household.scheme_id, func.count())
        .where(
            Household.scheme_id.in_(scheme_ids),
            Household.strike_off_date > today,
            Household.strike_off_date <= today + timedelta(days=30),
            or_(Household.exit_date.is_(None), Household.exit_date > today),
        )
        .group_by(Household.scheme_id)
    )
    return dict(rows.all())


def claims_awaiting_payment(session, scheme_ids: list[int], today: date) -> dict[int, int]:
    """Approved or reduced claims not yet paid: what the providers are waiting for."""
    rows = session.execute(
        select(Claim.scheme_id, func.count())
        .where(Claim.scheme_id.in_(scheme_ids), Claim.status.in_(("APPROVED", "REDUCED")), Claim.paid_on.is_(None))
        .group_by(Claim.scheme_id)
    )
    return dict(rows.all())


FIGURES: list[Figure] = [
    Figure("households", _l("Households in the register"), "account", households_in_register),
    Figure("persons", _l("Persons in the register"), "account", persons_in_register),
    Figure("covered", _l("Households covered today"), "account", households_covered_today),
    Figure("lapsing", _l("Households to be struck off within 30 days"), "register.read", households_about_to_lapse),
    Figure("unpaid_claims", _l("Approved claims awaiting payment"), "claims.read", claims_awaiting_payment),
]


def scheme_figures(session, scheme_ids: list[int], today: date, allowed: Callable[[str], bool]):
    """[(figure, {scheme_id: value})] for the figures the user may see; a scheme with no rows counts 0."""
    if not scheme_ids:
        return []
    return [(figure, figure.query(session, scheme_ids, today)) for figure in FIGURES if allowed(figure.permission)]
