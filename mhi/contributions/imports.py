"""contributions.csv (data-formats.md): receipts paid by households, validated as a whole, added in bulk.

``receipt_no`` is unique in the scheme; ``amount`` > 0 with no more decimals than the currency has; ``method``
``cash`` / ``mobile_money`` / ``bank`` (blank = cash). "Import behaviour": a receipt_no already stored with
identical values is ``unchanged``, with different values a ``conflict``; one bad row writes nothing. The affected
households' coverage is refreshed once, after the insert.
"""

from __future__ import annotations

from sqlalchemy import select

from mhi.contributions.models import CoverageSpan, Receipt
from mhi.contributions.services import (
    ANALYZE_ROWS,
    LEDGER_TABLES,
    METHODS,
    NewHouseholds,
    analyze,
    refresh_households,
)
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.db import one_of
from mhi.core.errors import N_
from mhi.core.tabular import (
    PREVIEW_ROWS,
    ImportResult,
    chunked,
    import_event,
    new_rows,
    read_import_rows,
    without_cycle_collection,
)
from mhi.core.validation import FieldError
from mhi.members.imports import import_categories, import_members
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


def _remembered(reader):
    """``reader`` keeping the values it has read (immutable: dates, Decimals, texts): a year of receipts repeats
    a few hundred dates and amounts, each household's reference about eleven times (issue 17). A cell it refuses
    is read, and refused, again each time."""
    done: dict = {}

    def read(cell):
        try:
            return done[cell]
        except KeyError:
            value = done[cell] = reader(cell)
            return value

    return read


#: Keys per query when an import looks up what is stored: one array parameter on PostgreSQL (core/db.one_of),
#: an IN list elsewhere (under SQLite's limit on parameters).
KEYS_PER_QUERY = {"postgresql": 100_000}


def _with_keys(session, statement, key_column, keys) -> list:
    """The rows of ``statement`` (already restricted to the scheme) whose ``key_column`` is one of ``keys``, found
    through the column's index. Issue 17: a national register arrives as files, and reading the whole scheme
    for each file made every later file slower than the one before; each file's lookups now depend on the file."""
    size = KEYS_PER_QUERY.get(session.get_bind().dialect.name, 5000)
    rows: list = []
    for part in chunked(sorted(set(keys)), size):
        rows.extend(session.execute(statement.where(one_of(session, key_column, part))))
    return rows


def _stored_receipts(session, scheme, receipt_nos, households: dict[str, int]) -> dict[str, dict]:
    """The stored receipts among ``receipt_nos``, as dicts of the COMPARED columns by receipt number. The
    household's reference comes from ``households`` (the file's, ref → id) or, for a receipt stored on a household
    the file does not name (a conflict), from one more indexed query: no join that could scan the register."""
    found = _with_keys(
        session,
        select(
            Receipt.receipt_no, Receipt.household_id, Receipt.date, Receipt.amount, Receipt.method, Receipt.collector
        ).where(Receipt.scheme_id == scheme.id),
        Receipt.receipt_no,
        receipt_nos,
    )
    if not found:
        return {}
    refs = {household_id: ref for ref, household_id in households.items()}
    others = {row.household_id for row in found} - refs.keys()
    if others:
        refs.update(
            (row.id, row.ref) for row in _with_keys(session, select(Household.id, Household.ref), Household.id, others)
        )
    return {
        row.receipt_no: {
            "receipt_no": row.receipt_no,
            "household_ref": refs[row.household_id],
            "date": row.date,
            "amount": row.amount,
            "method": row.method,
            "collector": row.collector,
        }
        for row in found
    }


def import_contributions(
    session, scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> ImportResult:
    """Import contributions.csv rows into ``scheme``; nothing is written when any row is bad or ``dry_run``.

    The cycle collector is paused, as for the members import (``without_cycle_collection``): a file of receipts
    makes hundreds of thousands of acyclic rows, and a batch's ledgers are held while its receipts are copied."""
    with without_cycle_collection():
        return _import_contributions(session, scheme, header, rows, dry_run=dry_run, actor=actor, file=file)


def _import_contributions(session, scheme, header, rows, *, dry_run: bool, actor, file) -> ImportResult:
    result = ImportResult("contributions")
    readers = {
        "receipt_no": lambda x: v.ref(x, "receipt number"),
        "household_ref": _remembered(lambda x: v.ref(x, "household reference")),
        "date": _remembered(v.day),
        "amount": _remembered(lambda x: v.amount(x, scheme.currency, positive=True)),
        "method": _remembered(lambda x: v.choice(x, METHODS, "payment method") if x else "cash"),
        "collector": _remembered(_collector),
    }
    parsed = read_import_rows(
        result, header, rows, readers, required=REQUIRED, optional=OPTIONAL, key="receipt_no", file=file
    )
    if parsed is None:
        return result

    households = dict(
        _with_keys(
            session,
            select(Household.ref, Household.id).where(Household.scheme_id == scheme.id),
            Household.ref,
            {values["household_ref"] for _, values in parsed},
        )
    )
    stored = _stored_receipts(session, scheme, [values["receipt_no"] for _, values in parsed], households)
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
    rows = [
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
    ]
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
    # The receipts are inserted by the refresh, batch by batch, while the engine runs on their households
    # (issue 17: the server's COPY on one core, the engine on the other).
    refresh_households(session, scheme, sorted({row["household_id"] for row in rows}), new_receipts=rows)
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
    cannot call contributions: it returns the stored households it touched and this caller refreshes them; the
    new households' rows are derived from the file's values as they are inserted, ``NewHouseholds``)."""
    with without_cycle_collection():
        result = import_members(
            session,
            scheme,
            header,
            rows,
            dry_run=dry_run,
            actor=actor,
            file=file,
            allow_duplicates=allow_duplicates,
            derive=NewHouseholds(session, scheme),
        )
        if result.written:
            if result.touched:  # stored households that gained people
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
