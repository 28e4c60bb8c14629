"""contributions.csv (data-formats.md): receipts paid by households, validated as a whole, added in bulk.

``receipt_no`` is unique in the scheme; ``amount`` > 0 with no more decimals than the currency has; ``method``
``cash`` / ``mobile_money`` / ``bank`` (blank = cash). "Import behaviour": a receipt_no already stored with
identical values is ``unchanged``, with different values a ``conflict``; one bad row writes nothing. The affected
households' coverage is refreshed once, after the insert.
"""

from __future__ import annotations

from sqlalchemy import select

from mhi.contributions.models import CoverageSpan, Receipt
from mhi.contributions.services import ANALYZE_ROWS, LEDGER_TABLES, METHODS, analyze, refresh_households
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_
from mhi.core.tabular import (
    PREVIEW_ROWS,
    ImportResult,
    bulk_insert,
    import_event,
    new_rows,
    read_import_rows,
    stored_rows,
)
from mhi.core.validation import FieldError
from mhi.members.imports import import_categories, import_members, without_cycle_collection
from mhi.members.models import Household, Person

REQUIRED = ("receipt_no", "household_ref", "date", "amount")
OPTIONAL = ("method", "collector")
COMPARED = ("household_ref", "date", "amount", "method", "collector")


def _collector(value) -> str:
    """The collector's name, at most 120 characters."""
    text = (value or "").strip()
    if len(text) > 120:
        raise FieldError(N_("is longer than 120 characters"))
    return text


def import_contributions(
    session, scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> ImportResult:
    """Import contributions.csv rows into ``scheme``; nothing is written when any row is bad or ``dry_run``."""
    result = ImportResult("contributions")
    readers = {
        "receipt_no": lambda x: v.ref(x, "receipt number"),
        "household_ref": lambda x: v.ref(x, "household reference"),
        "date": v.day,
        "amount": lambda x: v.amount(x, scheme.currency, positive=True),
        "method": lambda x: v.choice(x, METHODS, "payment method") if x else "cash",
        "collector": _collector,
    }
    parsed = read_import_rows(
        result, header, rows, readers, required=REQUIRED, optional=OPTIONAL, key="receipt_no", file=file
    )
    if parsed is None:
        return result

    households = dict(
        (row.ref, row.id)
        for row in stored_rows(
            session,
            select(Household.ref, Household.id).where(Household.scheme_id == scheme.id),
            Household.ref,
            sorted({values["household_ref"] for _, values in parsed}),
        )
    )
    stored = {
        row.receipt_no: row._asdict()
        for row in stored_rows(
            session,
            select(
                Receipt.receipt_no,
                Household.ref.label("household_ref"),
                Receipt.date,
                Receipt.amount,
                Receipt.method,
                Receipt.collector,
            )
            .join(Household, Household.id == Receipt.household_id)
            .where(Receipt.scheme_id == scheme.id),
            Receipt.receipt_no,
            [values["receipt_no"] for _, values in parsed],
        )
    }
    to_add = [
        {**values, "household_id": households[values["household_ref"]]}
        for values in new_rows(
            result,
            parsed,
            stored,
            key="receipt_no",
            compared=COMPARED,
            file=file,
            known=(
                "household_ref",
                households,
                N_("household %(value)s is not in the register (import members first)"),
            ),
        )
    ]
    if result.problems:
        return result
    result.added = len(to_add)
    result.preview = [
        {k: values[k] for k in ("receipt_no", "household_ref", "date", "amount", "method", "collector")}
        for values in to_add[:PREVIEW_ROWS]
    ]
    if dry_run or not to_add:
        return result
    actor_id = getattr(actor, "id", None)
    bulk_insert(
        session,
        Receipt.__table__,
        [
            {
                "scheme_id": scheme.id,
                "household_id": values["household_id"],
                "receipt_no": values["receipt_no"],
                "date": values["date"],
                "amount": values["amount"],
                "method": values["method"],
                "collector": values["collector"],
                "reason": "",
                "created_by_id": actor_id,
            }
            for values in to_add
        ],
    )
    record(
        session,
        **import_event(
            scheme,
            result,
            actor=actor,
            action="contributions",
            file=file,
            total=sum(values["amount"] for values in to_add),
        ),
    )
    refresh_households(session, scheme, sorted({values["household_id"] for values in to_add}))
    if len(to_add) >= ANALYZE_ROWS:
        analyze(session, Receipt.__table__, CoverageSpan.__table__, *LEDGER_TABLES)
    result.written = True
    return result


def import_register(
    session,
    scheme,
    header,
    rows,
    *,
    dry_run: bool = False,
    actor=None,
    file: str = "members.csv",
    allow_duplicates: bool = True,
):
    """members.csv through ``members.imports.import_members``, then the derived rows of every household it
    wrote to — exit and strike-off dates, coverage spans, stored ledgers — in the same transaction (members
    cannot call contributions: it returns the households it touched and this caller refreshes them)."""
    with without_cycle_collection():
        result = import_members(
            session, scheme, header, rows, dry_run=dry_run, actor=actor, file=file, allow_duplicates=allow_duplicates
        )
        if result.written and result.touched:
            refresh_households(session, scheme, result.touched)
            if result.added >= ANALYZE_ROWS:
                analyze(session, Household.__table__, Person.__table__, CoverageSpan.__table__, *LEDGER_TABLES)
    return result


def import_category_changes(
    session, scheme, header, rows, *, dry_run: bool = False, actor=None, file: str = "categories.csv"
):
    """categories.csv through ``members.imports.import_categories``, then the coverage, strike-off and stored
    ledgers of every household it changed, in the same transaction (contributions.md §2 reads the category on
    each period's start)."""
    result = import_categories(session, scheme, header, rows, dry_run=dry_run, actor=actor, file=file)
    if result.written and result.touched:
        refresh_households(session, scheme, result.touched)
    return result
