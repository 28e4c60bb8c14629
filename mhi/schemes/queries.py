"""Read side of scheme set-up: the lists and the detail pages load everything they show in a few queries
(eager loading, never a query per row)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from mhi.schemes.access import scheme_filter
from mhi.schemes.models import Benefit, Expense, Federation, Product, ProductVersion, Provider, Scheme


@dataclass
class BenefitRow:
    """One benefit code across a product's versions: its name and, per version, the benefit or None."""

    code: str
    name: str
    cells: list[Benefit | None]


@dataclass
class ProductMatrix:
    """A product with its versions side by side (oldest first) and one row per benefit code."""

    product: Product
    versions: list[ProductVersion]
    rows: list[BenefitRow]


def visible_schemes(session, user) -> list[Scheme]:
    """The schemes ``user`` may see, by code, with their federation."""
    query = (
        select(Scheme)
        .where(scheme_filter(Scheme.id, user))
        .options(selectinload(Scheme.federation))
        .order_by(Scheme.code)
    )
    return list(session.scalars(query))


def visible_federations(session, user) -> list[Federation]:
    """Every federation for an administrator, the reviewer's own federation otherwise."""
    query = select(Federation).options(selectinload(Federation.schemes)).order_by(Federation.code)
    if user.role != "admin":
        query = query.where(Federation.id == user.federation_id)
    return list(session.scalars(query))


def product_matrices(session, scheme: Scheme) -> list[ProductMatrix]:
    """Every product of ``scheme`` with every version and its benefits, in three queries."""
    products = session.scalars(
        select(Product)
        .where(Product.scheme_id == scheme.id)
        .options(selectinload(Product.versions).selectinload(ProductVersion.benefits))
        .order_by(Product.code)
    ).all()
    return [_matrix(product) for product in products]


def _matrix(product: Product) -> ProductMatrix:
    """Pivot a product's benefits: benefit codes in order of first appearance, one column per version."""
    versions = list(product.versions)
    names: dict[str, str] = {}
    for version in versions:
        for benefit in version.benefits:
            names.setdefault(benefit.code, benefit.name)
    by_version = [{b.code: b for b in version.benefits} for version in versions]
    rows = [BenefitRow(code, name, [found.get(code) for found in by_version]) for code, name in names.items()]
    return ProductMatrix(product, versions, rows)


def providers_with_tariffs(session, scheme: Scheme) -> list[Provider]:
    """The scheme's providers with their tariffs loaded."""
    return list(
        session.scalars(
            select(Provider)
            .where(Provider.scheme_id == scheme.id)
            .options(selectinload(Provider.tariffs))
            .order_by(Provider.code)
        )
    )


def service_benefit_codes(session, scheme: Scheme) -> list[str]:
    """The benefit codes of the scheme's service benefits (every version): those a tariff can cap."""
    return list(
        session.scalars(
            select(Benefit.code)
            .join(ProductVersion, Benefit.version_id == ProductVersion.id)
            .join(Product, ProductVersion.product_id == Product.id)
            .where(Product.scheme_id == scheme.id, Benefit.kind == "service")
            .distinct()
            .order_by(Benefit.code)
        )
    )


def expense_book(session, scheme: Scheme, date_from, date_to):
    """The expenses dated in [date_from, date_to] (reversals included, each with what it reverses) and the totals by
    category (SQL sums: a reversed expense and its reversal net to nothing)."""
    reversal = aliased(Expense)
    within = (Expense.scheme_id == scheme.id, Expense.date >= date_from, Expense.date <= date_to)
    rows = session.execute(
        select(Expense, reversal.reference)
        .outerjoin(reversal, reversal.reversal_of_id == Expense.id)
        .where(*within)
        .order_by(Expense.date.desc(), Expense.reference.desc())
    ).all()
    totals = dict(
        session.execute(
            select(Expense.category, func.sum(Expense.amount)).where(*within).group_by(Expense.category)
        ).all()
    )
    return rows, totals


def benefit_names(session, scheme_ids) -> dict[str, str]:
    """Benefit code → its name in the schemes' products (issue 16: a page or a document names a benefit, never
    only its code). The name of the latest active version wins when versions or products differ."""
    ids = list(scheme_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Benefit.code, Benefit.name)
        .join(ProductVersion, Benefit.version_id == ProductVersion.id)
        .join(Product, ProductVersion.product_id == Product.id)
        .where(Product.scheme_id.in_(ids), ProductVersion.status == "active")
        .order_by(ProductVersion.effective_from, ProductVersion.id)
    )
    return {code: name for code, name in rows if name}
