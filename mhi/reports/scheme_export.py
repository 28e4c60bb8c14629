"""``export scheme`` (cli.md): a whole scheme as the folder of data-formats.md, every version and dated term
included, so that loading the folder into an empty database in the import order gives the same claims export and
the same indicators. Only reads.

What the files cannot carry is left out, and said so in docs/decisions.md: a reversed receipt, subsidy receipt or
expense is written as if it had never been (the pair nets to nothing in every figure); draft product versions;
guarantee letters; officers' overrides.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import aliased, selectinload

from mhi.claims.models import Claim
from mhi.contributions.models import Receipt
from mhi.core.money import money_str
from mhi.members.models import CategoryChange, Household, Person, ProductChange
from mhi.schemes.models import Expense, Product, ProductVersion, Provider, Scheme, SubsidyProgramme
from mhi.subsidies.models import SubsidyReceipt

PERIODS = {1: "month", 3: "quarter", 12: "year"}
MEMBER_COLUMNS = (
    "household_ref",
    "member_no",
    "first_name",
    "last_name",
    "sex",
    "date_of_birth",
    "relationship",
    "enrolment_date",
    "exit_date",
    "product_code",
    "category",
    "village",
    "phone",
    "national_id",
)
CLAIM_COLUMNS = (
    "claim_ref",
    "member_no",
    "provider_code",
    "benefit_code",
    "date_of_service",
    "date_submitted",
    "amount_claimed",
    "paid_on",
    "diagnosis_code",
)
FILES = (
    "scheme.json",
    "members.csv",
    "categories.csv",
    "product_changes.csv",
    "contributions.csv",
    "subsidy_receipts.csv",
    "claims.csv",
    "expenses.csv",
)


def _rate(value: Decimal) -> str:
    """A rate as scheme.json writes it: plain digits, no trailing zeros ("0.7", "1")."""
    text = format(value.normalize(), "f")
    return text


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _version_rules(version: ProductVersion, currency: str) -> dict:
    """A version's rule fields as scheme.json writes them (parse_scheme's inverse)."""
    out: dict = {
        "contribution": {
            "basis": version.basis,
            "amount": money_str(version.amount, currency),
            "period": PERIODS[version.period_months],
            "registration_fee": money_str(version.registration_fee, currency),
        },
        "waiting_period_days": version.waiting_period_days,
        "grace_period_days": version.grace_period_days,
    }
    for key in ("lapse_after_days", "submission_limit_days", "newborn_days"):
        if getattr(version, key) is not None:
            out[key] = getattr(version, key)
    benefits = []
    for b in version.benefits:
        item: dict = {"code": b.code, "name": b.name, "kind": b.kind}
        if b.coverage_rate is not None:
            item["coverage_rate"] = _rate(b.coverage_rate)
        for key in ("amount", "ceiling_per_case", "ceiling_per_year"):
            if getattr(b, key) is not None:
                item[key] = money_str(getattr(b, key), currency)
        for key in ("max_cases_per_year", "waiting_period_days", "sex", "min_age_years", "max_age_years"):
            if getattr(b, key) is not None:
                item[key] = getattr(b, key)
        benefits.append(item)
    out["benefits"] = benefits
    return out


def _money_map(tariffs: dict, currency: str) -> dict:
    return {code: money_str(amount, currency) for code, amount in sorted(tariffs.items())}


def scheme_document(session, scheme: Scheme) -> dict:
    """scheme.json with its history: products with ``versions``, programmes with ``terms``, providers with
    ``tariff_changes`` (data-formats.md "Dated rules inside scheme.json")."""
    currency = scheme.currency
    products = []
    for product in session.scalars(
        select(Product)
        .where(Product.scheme_id == scheme.id)
        .order_by(Product.code)
        .options(selectinload(Product.versions).selectinload(ProductVersion.benefits))
    ):
        active = [v for v in product.versions if v.status == "active"]
        if not active:
            continue
        item = {"code": product.code, "name": product.name, **_version_rules(active[0], currency)}
        if active[1:]:
            item["versions"] = [
                {"effective_from": v.effective_from.isoformat(), **_version_rules(v, currency)} for v in active[1:]
            ]
        products.append(item)
    programmes = []
    for programme in session.scalars(
        select(SubsidyProgramme)
        .where(SubsidyProgramme.scheme_id == scheme.id)
        .order_by(SubsidyProgramme.position, SubsidyProgramme.code)
        .options(selectinload(SubsidyProgramme.terms))
    ):
        first, *later = programme.terms
        item = {
            "code": programme.code,
            "funder": programme.funder,
            "categories": list(first.categories),
            "share": _rate(first.share),
            "valid_from": programme.valid_from.isoformat(),
            "valid_to": _day(programme.valid_to),
        }
        if later:
            item["terms"] = [
                {"from": t.effective_from.isoformat(), "share": _rate(t.share), "categories": list(t.categories)}
                for t in later
            ]
        programmes.append(item)
    providers = []
    for provider in session.scalars(
        select(Provider)
        .where(Provider.scheme_id == scheme.id)
        .order_by(Provider.code)
        .options(selectinload(Provider.tariffs))
    ):
        dated = provider.tariff_history()
        item = {
            "code": provider.code,
            "name": provider.name,
            "kind": provider.kind,
            "contract_from": provider.contract_from.isoformat(),
            "contract_to": _day(provider.contract_to),
            "tariffs": _money_map(dated[0][1] if dated else {}, currency),
        }
        if dated[1:]:
            item["tariff_changes"] = [
                {"from": day.isoformat(), "tariffs": _money_map(tariffs, currency)} for day, tariffs in dated[1:]
            ]
        providers.append(item)
    document = {
        "code": scheme.code,
        "name": scheme.name,
        "country": scheme.country,
        "currency": currency,
    }
    if scheme.federation is not None:
        document["federation"] = scheme.federation.code
    document.update(
        {
            "target_population": scheme.target_population,
            "opening_date": scheme.opening_date.isoformat(),
            "opening_reserve": money_str(scheme.opening_reserve, currency),
            "opening_cash": money_str(scheme.opening_cash, currency),
            "products": products,
            "subsidy_programmes": programmes,
            "providers": providers,
        }
    )
    return document


def federation_document(federation) -> dict:
    """federation.json of the scheme's federation, so the folder loads into an empty database (its pool's first
    rules: federation.json carries no history)."""
    document: dict = {"code": federation.code, "name": federation.name, "currency": federation.currency}
    if federation.pool_rules:
        rules = federation.pool_rules[0]
        cur = federation.currency
        pool: dict = {
            "contribution_rate": _rate(rules.contribution_rate),
            "opening_balance": money_str(rules.opening_balance, cur),
            "opening_date": rules.opening_date.isoformat(),
        }
        if rules.xol_threshold is not None:
            xol = {"threshold": money_str(rules.xol_threshold, cur), "share": _rate(rules.xol_share)}
            if rules.xol_limit is not None:
                xol["limit"] = money_str(rules.xol_limit, cur)
            pool["excess_of_loss"] = xol
        if rules.sl_attachment_ratio is not None:
            pool["stop_loss"] = {"attachment_ratio": _rate(rules.sl_attachment_ratio), "share": _rate(rules.sl_share)}
        document["pool"] = pool
    return document


def _csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _standing(model):
    """Rows of ``model`` that are neither a reversal nor reversed: what the figures count."""
    reversal = aliased(model)
    return model.reversal_of_id.is_(None) & ~select(reversal.id).where(reversal.reversal_of_id == model.id).exists()


def members_csv(session, scheme: Scheme) -> str:
    rows = session.execute(
        select(Person, Household.ref, Household.category, Product.code)
        .join(Household, Person.household_id == Household.id)
        .join(Product, Household.product_id == Product.id)
        .where(Person.scheme_id == scheme.id)
        .order_by(Household.ref, Person.relation != "head", Person.member_no)
    )
    out = []
    for person, ref, category, product_code in rows:
        head = person.relation == "head"
        out.append(
            (
                ref,
                person.member_no,
                person.first_name,
                person.last_name,
                person.sex,
                person.date_of_birth.isoformat(),
                person.relation,
                person.enrolment_date.isoformat(),
                _day(person.exit_date) or "",
                product_code if head else "",
                (category or "") if head else "",
                person.village,
                person.phone,
                person.national_id,
            )
        )
    return _csv(MEMBER_COLUMNS, out)


def categories_csv(session, scheme: Scheme) -> str:
    rows = session.execute(
        select(Household.ref, CategoryChange.category, CategoryChange.from_date)
        .join(Household, CategoryChange.household_id == Household.id)
        .where(CategoryChange.scheme_id == scheme.id)
        .order_by(Household.ref, CategoryChange.from_date)
    )
    return _csv(("household_ref", "category", "from_date"), ((r, c, d.isoformat()) for r, c, d in rows))


def product_changes_csv(session, scheme: Scheme) -> str:
    """product_changes.csv (docs/decisions.md "Product changes"): every household's dated product changes."""
    rows = session.execute(
        select(Household.ref, ProductChange.from_date, Product.code, ProductChange.reason)
        .join(Household, ProductChange.household_id == Household.id)
        .join(Product, ProductChange.product_id == Product.id)
        .where(ProductChange.scheme_id == scheme.id)
        .order_by(Household.ref, ProductChange.from_date)
    )
    return _csv(
        ("household_ref", "from_date", "product_code", "reason"),
        ((ref, d.isoformat(), code, reason) for ref, d, code, reason in rows),
    )


def contributions_csv(session, scheme: Scheme) -> str:
    rows = session.execute(
        select(Receipt.receipt_no, Household.ref, Receipt.date, Receipt.amount, Receipt.method, Receipt.collector)
        .join(Household, Receipt.household_id == Household.id)
        .where(Receipt.scheme_id == scheme.id, _standing(Receipt))
        .order_by(Receipt.date, Receipt.receipt_no)
    )
    return _csv(
        ("receipt_no", "household_ref", "date", "amount", "method", "collector"),
        ((no, ref, d.isoformat(), money_str(a, scheme.currency), m, c) for no, ref, d, a, m, c in rows),
    )


def subsidy_receipts_csv(session, scheme: Scheme) -> str:
    rows = session.execute(
        select(SubsidyReceipt.reference, SubsidyProgramme.code, SubsidyReceipt.date, SubsidyReceipt.amount)
        .join(SubsidyProgramme, SubsidyReceipt.programme_id == SubsidyProgramme.id)
        .where(SubsidyReceipt.scheme_id == scheme.id, _standing(SubsidyReceipt))
        .order_by(SubsidyReceipt.date, SubsidyReceipt.reference)
    )
    return _csv(
        ("reference", "programme_code", "date", "amount"),
        ((ref, code, d.isoformat(), money_str(a, scheme.currency)) for ref, code, d, a in rows),
    )


def claims_csv(session, scheme: Scheme) -> str:
    """Claims as received, in the order one file decides them (date_of_service, date_submitted, claim_ref)."""
    rows = session.execute(
        select(
            Claim.claim_ref,
            Claim.member_no,
            Claim.provider_code,
            Claim.benefit_code,
            Claim.date_of_service,
            Claim.date_submitted,
            Claim.amount_claimed,
            Claim.paid_on,
            Claim.diagnosis_code,
        )
        .where(Claim.scheme_id == scheme.id)
        .order_by(Claim.date_of_service, Claim.date_submitted, Claim.claim_ref)
    )
    return _csv(
        CLAIM_COLUMNS,
        (
            (ref, member, provider or "", benefit, dos.isoformat(), sub.isoformat(), money_str(amt, scheme.currency))
            + (_day(paid) or "", diagnosis or "")
            for ref, member, provider, benefit, dos, sub, amt, paid, diagnosis in rows
        ),
    )


def expenses_csv(session, scheme: Scheme) -> str:
    rows = session.execute(
        select(Expense.reference, Expense.date, Expense.category, Expense.amount, Expense.description)
        .where(Expense.scheme_id == scheme.id, _standing(Expense))
        .order_by(Expense.date, Expense.reference)
    )
    return _csv(
        ("reference", "date", "category", "amount", "description"),
        ((ref, d.isoformat(), cat, money_str(a, scheme.currency), text) for ref, d, cat, a, text in rows),
    )


def scheme_files(session, scheme: Scheme) -> dict[str, str]:
    """Every file of the export by name, as text (UTF-8 when written)."""
    files = {
        "scheme.json": json.dumps(scheme_document(session, scheme), ensure_ascii=False, indent=2) + "\n",
        "members.csv": members_csv(session, scheme),
        "categories.csv": categories_csv(session, scheme),
        "product_changes.csv": product_changes_csv(session, scheme),
        "contributions.csv": contributions_csv(session, scheme),
        "subsidy_receipts.csv": subsidy_receipts_csv(session, scheme),
        "claims.csv": claims_csv(session, scheme),
        "expenses.csv": expenses_csv(session, scheme),
    }
    if scheme.federation is not None:
        files["federation.json"] = (
            json.dumps(federation_document(scheme.federation), ensure_ascii=False, indent=2) + "\n"
        )
    return files


def write_folder(files: dict[str, str], folder: Path) -> None:
    """Write the export into ``folder`` (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")


def zip_bytes(files: dict[str, str], folder_name: str) -> bytes:
    """The same files as a ZIP, inside one folder named after the scheme."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(f"{folder_name}/{name}", text.encode("utf-8"))
    return buffer.getvalue()
