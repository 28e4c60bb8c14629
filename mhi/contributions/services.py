"""Contributions on the database: the rules engine's inputs bulk-loaded, the derived data refreshed, receipts
recorded and reversed, and a household's account on a day.

Owns: ``Household.exit_date``, ``Household.strike_off_date`` and the ``CoverageSpan`` rows, recomputed by
``refresh_households`` from the register and the receipts (members/models.py), so that "who is covered on D" is
SQL over spans. Receipts are append-only (contributions/models.py): a wrong one is cancelled by a reversing
counter-entry with the same date and the negated amount, which the engine reads as if it had never been paid
(contributions.md §5 walk, rules.py docstring). Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.util import identity_key

from mhi.contributions.models import CoverageSpan, Receipt, ReportHousehold, ReportPeriod
from mhi.contributions.rules import UNBOUNDED, HouseholdInput, Ledger, PersonDates, Programme, Terms, build_ledger
from mhi.contributions.stored import BuiltLedgers, build_ledgers, store_ledgers
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.db import lock_scheme_totals, one_of
from mhi.core.errors import UserError
from mhi.core.numbering import allocate_number, allocate_numbers
from mhi.core.reversal import reverse_entry
from mhi.core.tabular import bulk_insert
from mhi.core.validation import FieldError
from mhi.members.models import CategoryChange, Household, Person, ProductChange
from mhi.members.products import household_versions
from mhi.schemes.models import Product, ProductVersion, Scheme, SubsidyProgramme
from mhi.schemes.operators import OperatorError, usable_operator
from mhi.schemes.programmes import ProgrammeTerms
from mhi.schemes.versions import on_rules_changed

#: Imports of at least this many rows refresh the planner's statistics afterwards (``analyze``).
ANALYZE_ROWS = 1000
#: The stored ledgers' tables (contributions/stored.py), analysed with the tables an import filled.
LEDGER_TABLES = (ReportHousehold.__table__, ReportPeriod.__table__)
#: Households refreshed per batch: memory stays flat on a 100,000-household register.
CHUNK = 5000
METHODS = ("cash", "mobile_money", "bank")


class ContributionError(UserError):
    """A receipt or reversal that cannot be accepted; the message says why, ``field`` which input.

    ``message`` is an English template (marked with ``N_`` where it has parameters) and ``params`` its values:
    the view shows ``gettext(message, **params)`` in the reader's language.
    """


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a translation marker
    """Mark ``message`` for extraction; translated where it is shown."""
    return message


#: An operator's transaction id: what their statements print (letters, digits and . _ / : -).
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$")


# -- engine inputs -------------------------------------------------------------------------------------------


@dataclass
class _SchemeRules:
    """The scheme-wide part of every household's input, loaded once per refresh."""

    terms: dict[int, list[tuple[date, Terms]]]  # product id → effective-dated terms
    programmes: list[Programme]
    currency: str

    @property
    def fingerprint(self) -> str:
        """A digest of the rules every household's ledger depends on (stored with each ledger)."""
        # Categories sorted: a frozenset's order changes from one process to the next.
        programmes = [
            (p.code, p.valid_from, p.valid_to, [(t.effective_from, t.share, sorted(t.categories)) for t in p.terms])
            for p in self.programmes
        ]
        text = repr((self.currency, sorted(self.terms.items()), programmes))
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def _scheme_rules(session, scheme: Scheme) -> _SchemeRules:
    """Active product versions per product (effective-dated) and the programmes in scheme.json order."""
    versions = session.execute(
        select(ProductVersion)
        .join(Product, Product.id == ProductVersion.product_id)
        .where(Product.scheme_id == scheme.id, ProductVersion.status == "active")
        .order_by(ProductVersion.product_id, ProductVersion.effective_from)
    ).scalars()
    terms: dict[int, list[tuple[date, Terms]]] = defaultdict(list)
    for version in versions:
        terms[version.product_id].append(
            (
                version.effective_from,
                Terms(
                    basis=version.basis,
                    amount=version.amount,
                    period_months=version.period_months,
                    registration_fee=version.registration_fee or Decimal(0),
                    grace_days=version.grace_period_days or 0,
                    lapse_days=version.lapse_after_days,
                ),
            )
        )
    programmes = []
    for p in session.execute(
        select(SubsidyProgramme)
        .where(SubsidyProgramme.scheme_id == scheme.id)
        .order_by(SubsidyProgramme.position, SubsidyProgramme.id)
        .options(selectinload(SubsidyProgramme.terms))
    ).scalars():
        dated = tuple(ProgrammeTerms(t.effective_from, t.share, frozenset(t.categories or ())) for t in p.terms)
        if not dated:
            raise ContributionError(N_("programme %(code)s has no terms"), code=p.code)
        programmes.append(
            Programme(
                code=p.code,
                categories=dated[0].categories,
                share=dated[0].share,
                valid_from=p.valid_from,
                valid_to=p.valid_to,
                terms=dated,
            )
        )
    return _SchemeRules(dict(terms), programmes, scheme.currency)


@dataclass
class _Loaded:
    """One batch of households as the engine wants them, with the derived values currently stored."""

    inputs: dict[int, HouseholdInput]
    stored: dict[int, tuple[date | None, date | None]]  # id → (exit_date, strike_off_date)


def _load_batch(session, scheme: Scheme, rules: _SchemeRules, where: Callable, extra=None) -> _Loaded:
    """Five queries (households, persons, receipts, category and product changes) for the households that
    ``where(Household.id)`` selects; ``extra`` (household id → [(from_date, product id)]) adds product changes not
    stored yet, to check them (claims/product_changes.py)."""
    households = session.execute(
        select(
            Household.id,
            Household.enrolment_date,
            Household.category,
            Household.product_id,
            Household.exit_date,
            Household.strike_off_date,
        ).where(Household.scheme_id == scheme.id, where(Household.id))
    ).all()
    # The batch's own ids, without the scheme filter: a household id belongs to one scheme, and the planner then
    # takes the household_id indexes (with a scheme_id term beside it SQLite prefers the scheme's date index).
    ids = [row[0] for row in households]
    persons: dict[int, list[PersonDates]] = defaultdict(list)
    receipts: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    categories: dict[int, list[tuple[date, str]]] = defaultdict(list)
    products: dict[int, list[tuple[date, int]]] = defaultdict(list)
    if ids:
        for household_id, enrolment, exit_ in session.execute(
            select(Person.household_id, Person.enrolment_date, Person.exit_date).where(
                one_of(session, Person.household_id, ids)
            )
        ):
            persons[household_id].append(PersonDates(enrolment, exit_))
        for household_id, day, amount in session.execute(
            select(Receipt.household_id, Receipt.date, Receipt.amount).where(one_of(session, Receipt.household_id, ids))
        ):
            receipts[household_id].append((day, amount))
        for household_id, day, category in session.execute(
            select(CategoryChange.household_id, CategoryChange.from_date, CategoryChange.category).where(
                one_of(session, CategoryChange.household_id, ids)
            )
        ):
            categories[household_id].append((day, category))
        for household_id, day, product_id in session.execute(
            select(ProductChange.household_id, ProductChange.from_date, ProductChange.product_id)
            .where(one_of(session, ProductChange.household_id, ids))
            .order_by(ProductChange.household_id, ProductChange.from_date)
        ):
            products[household_id].append((day, product_id))
    inputs: dict[int, HouseholdInput] = {}
    stored: dict[int, tuple[date | None, date | None]] = {}
    for hid, enrolment, category, product_id, exit_date, strike_off in households:
        inputs[hid] = _household_input(
            rules,
            hid,
            enrolment,
            category,
            product_id,
            persons.get(hid, []),
            receipts.get(hid, []),
            categories.get(hid, ()),
            sorted([*products.get(hid, []), *(extra or {}).get(hid, [])]),
        )
        stored[hid] = (exit_date, strike_off)
    return _Loaded(inputs, stored)


def _household_input(
    rules: _SchemeRules,
    name,
    enrolment: date,
    category: str | None,
    product_id: int,
    persons: list[PersonDates],
    receipts: list[tuple[date, Decimal]],
    categories,
    changes: list[tuple[date, int]],
) -> HouseholdInput:
    """One household's engine input from its stored values (``_load_batch``) or from the values a register import
    is about to insert (``NewHouseholds``): ``name`` (its id or reference) names it in the error; ``changes`` its
    product changes (from_date, product id), sorted."""
    # The household's versions over time (members/products.py, the one "product on D").
    terms = household_versions(product_id, changes, rules.terms) if changes else rules.terms.get(product_id)
    if not terms:
        raise ContributionError(N_("household %(hid)s: its product has no active version"), hid=name)
    return HouseholdInput(
        enrolment=enrolment,
        category=category or "standard",
        persons=persons,
        receipts=receipts,
        terms=terms,
        programmes=rules.programmes,
        currency=rules.currency,
        category_changes=categories,
        product_changes=tuple(day for day, _ in changes),
    )


class NewHouseholds:
    """The derived rows of the households a register import adds (``members.imports.import_members``'s
    ``derive``), computed from the file's own values instead of read back after the insert.

    ``before_insert`` runs the engine on the new households (no receipt, no category or product change yet: they
    are new) and puts their derived exit and strike-off dates in the rows about to be inserted; ``inserted``
    builds their coverage spans and stored-ledger rows (no database: the import runs it while the server ingests
    the households); ``write`` writes them. Same rows as ``refresh_households`` would write (the replay and import
    tests compare them), without what a refresh of stored households needs: no lock (no other transaction sees
    them yet), no reading back of what was just written, no UPDATE of the dates, nothing old to delete (issue 17:
    a tenth of a national members file's time)."""

    def __init__(self, session, scheme: Scheme) -> None:
        self.session = session
        self.scheme = scheme
        self.rules: _SchemeRules | None = None
        self.built: dict[str, tuple[HouseholdInput, Ledger]] = {}
        self.spans: list[dict] = []
        self.ledgers: BuiltLedgers | None = None

    def before_insert(self, households: list[dict], persons: dict[str, list[dict]]) -> None:
        """``households``: the Household rows to insert (ref, product_id, category, enrolment_date, …), given
        their ``exit_date`` and ``strike_off_date`` here; ``persons``: each household's Person values by ref."""
        rules = self.rules = _scheme_rules(self.session, self.scheme)
        shared: dict[tuple, Ledger] = {}
        for household in households:
            ref = household["ref"]
            h = _household_input(
                rules,
                ref,
                household["enrolment_date"],
                household["category"],
                household["product_id"],
                [PersonDates(p["enrolment_date"], p.get("exit_date")) for p in persons.get(ref, ())],
                [],
                (),
                [],
            )
            ledger = _shared_ledger(shared, h)
            household["exit_date"] = ledger.exit_date
            household["strike_off_date"] = ledger.strike_off_date
            self.built[ref] = (h, ledger)

    def inserted(self, ids: dict[str, int]) -> None:
        """Their spans and stored-ledger rows, given their ids (``ids``: ref → id); uses no database."""
        scheme_id = self.scheme.id
        spans = self.spans
        pairs = []
        for ref, (h, ledger) in self.built.items():
            hid = ids[ref]
            for start, end in ledger.coverage_spans():
                spans.append({"scheme_id": scheme_id, "household_id": hid, "start": start, "end": end})
            pairs.append((hid, (h, ledger)))
        stored = self.session.get_bind().dialect.name == "postgresql"
        self.ledgers = build_ledgers(scheme_id, pairs, rules=self.rules.fingerprint, stored=stored)

    def write(self) -> None:
        """Write what ``inserted`` built, once the households and their persons are in."""
        if self.ledgers is None:
            return
        lock_scheme_totals(self.session, self.scheme.id)
        store_ledgers(self.session, self.scheme, rules=self.rules.fingerprint, built=self.ledgers)
        bulk_insert(self.session, CoverageSpan.__table__, self.spans)


def _batches(session, scheme: Scheme, household_ids: Sequence[int] | None, chunk: int = CHUNK) -> Iterator[Callable]:
    """Filters selecting ``chunk`` households at a time: id ranges over the whole scheme, or the given ids."""
    if household_ids is None:
        ids = list(session.scalars(select(Household.id).where(Household.scheme_id == scheme.id).order_by(Household.id)))
        for i in range(0, len(ids), chunk):
            lo, hi = ids[i], ids[min(i + chunk, len(ids)) - 1]
            # A range (with the scheme filter beside it) is one index scan, whatever the number of ids.
            yield lambda column, lo=lo, hi=hi: column.between(lo, hi)
    else:
        ids = sorted(set(household_ids))
        for i in range(0, len(ids), chunk):
            part = ids[i : i + chunk]
            yield lambda column, part=part: one_of(session, column, part)


def household_inputs(session, scheme: Scheme, household_ids: Sequence[int] | None = None) -> dict[int, HouseholdInput]:
    """The engine's ``HouseholdInput`` of each household (all the scheme's when ``household_ids`` is None).

    Bulk-loaded: product versions and programmes once, then households, persons and receipts per batch of
    CHUNK households — never a query per household.
    """
    session.flush()
    rules = _scheme_rules(session, scheme)
    result: dict[int, HouseholdInput] = {}
    for where in _batches(session, scheme, household_ids):
        result.update(_load_batch(session, scheme, rules, where).inputs)
    return result


def inputs_with_product_changes(
    session, scheme: Scheme, extra: dict[int, list[tuple[date, int]]]
) -> tuple[dict[int, HouseholdInput], dict[int, list[tuple[date, Terms]]]]:
    """The ``HouseholdInput`` of the households of ``extra`` as if its product changes (household id →
    [(from_date, product id)]) were stored beside theirs, and the scheme's active terms by product id: what a
    product change is checked on before it is written (claims/product_changes.py)."""
    session.flush()
    rules = _scheme_rules(session, scheme)
    result: dict[int, HouseholdInput] = {}
    for where in _batches(session, scheme, list(extra)):
        result.update(_load_batch(session, scheme, rules, where, extra).inputs)
    return result, rules.terms


def iter_inputs(
    session, scheme: Scheme, household_ids: Sequence[int] | None = None, *, chunk: int = CHUNK
) -> Iterator[tuple[str, dict[int, HouseholdInput]]]:
    """The rules' fingerprint and one batch of ``HouseholdInput`` at a time (all the scheme's households when
    ``household_ids`` is None): for the stored ledgers' repair (reports/ledgers.refresh)."""
    session.flush()
    rules = _scheme_rules(session, scheme)
    for where in _batches(session, scheme, household_ids, chunk):
        yield rules.fingerprint, _load_batch(session, scheme, rules, where).inputs


def iter_ledgers(session, scheme: Scheme, household_ids: Sequence[int] | None = None) -> Iterator[tuple[int, Ledger]]:
    """(household id, ledger) for the scheme's households, batch by batch (memory stays flat)."""
    session.flush()
    rules = _scheme_rules(session, scheme)
    for where in _batches(session, scheme, household_ids):
        for hid, h in _load_batch(session, scheme, rules, where).inputs.items():
            yield hid, build_ledger(h)


def refresh_households(
    session, scheme: Scheme, household_ids: Sequence[int] | None = None, *, new_receipts: list[dict] | None = None
) -> int:
    """Recompute the derived data of the households (all the scheme's when None): exit and strike-off dates,
    coverage spans. Returns how many households were refreshed.

    Called by every write that changes a household's persons or receipts (members/models.py docstring).

    ``new_receipts`` (the receipts import): Receipt rows not inserted yet, of households among
    ``household_ids``. Each batch's households are locked and loaded first, the batch's new receipts added to
    their inputs in Python, then inserted by a COPY during which the engine runs (``bulk_insert``'s
    ``meanwhile``): the server ingests the receipts on one core while Python builds the ledgers on the other
    (issue 17), instead of reading back what it has just written.
    """
    session.flush()
    lock_scheme_totals(session, scheme.id)  # before the households and any total row (core/db.py)
    rules = _scheme_rules(session, scheme)
    pending: dict[int, list[dict]] = defaultdict(list)
    for row in new_receipts or ():
        pending[row["household_id"]].append(row)
    count = 0
    for where in _batches(session, scheme, household_ids):
        lock_households(session, scheme, where)
        batch = _load_batch(session, scheme, rules, where)
        if batch.inputs:
            session.execute(
                delete(CoverageSpan)
                .where(one_of(session, CoverageSpan.household_id, batch.inputs))
                .execution_options(synchronize_session=False)
            )
        if new_receipts is None:
            _write_derived(session, scheme, batch, rules.fingerprint)
        else:
            rows = _add_receipts(batch, pending)
            built: list = []
            bulk_insert(
                session, Receipt.__table__, rows, meanwhile=lambda batch=batch, built=built: built.extend(_built(batch))
            )
            _write_derived(session, scheme, batch, rules.fingerprint, built)
        count += len(batch.inputs)
    if pending:
        # Every new receipt belongs to a household of ``household_ids``: none may be left out of the insert.
        raise RuntimeError(f"receipts of households outside the refresh: {sorted(pending)[:10]}")
    return count


def _add_receipts(batch: _Loaded, pending: dict[int, list[dict]]) -> list[dict]:
    """Add the pending receipts of the batch's households to their inputs (amounts as the database gives them
    back: the Money type's round trip, so the inputs equal what a reload would read); returns those rows, taken
    out of ``pending``."""
    money = Receipt.__table__.c.amount.type
    stored: dict[Decimal, Decimal] = {}
    rows: list[dict] = []
    for hid, h in batch.inputs.items():
        mine = pending.pop(hid, None)
        if not mine:
            continue
        added = []
        for row in mine:
            amount = row["amount"]
            back = stored.get(amount)
            if back is None:
                back = stored[amount] = money.process_result_value(money.process_bind_param(amount, None), None)
            added.append((row["date"], back))
        h.receipts = [*h.receipts, *added]
        rows.extend(mine)
    return rows


def _built(batch: _Loaded) -> Iterator[tuple[int, HouseholdInput, Ledger]]:
    """The engine over a batch: (household id, input, ledger), a ledger shared by equal inputs."""
    shared: dict[tuple, Ledger] = {}
    for hid, h in batch.inputs.items():
        yield hid, h, _shared_ledger(shared, h)


def refresh_scheme(session, scheme: Scheme) -> int:
    """After a change of the scheme's contribution rules (a new product version, a subsidy programme changed):
    every household's derived rows, stored ledgers included, in the same transaction. Registered with
    ``schemes.services.on_rules_changed`` (schemes cannot import contributions)."""
    return refresh_households(session, scheme)


on_rules_changed(refresh_scheme)


def analyze(session, *tables) -> None:
    """On PostgreSQL, refresh the planner's statistics of ``tables`` after a bulk load: this database may run
    without autovacuum, and a plan made for an empty table is slow on a full one (growth measurement)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE " + ", ".join(t.name for t in tables)))


def lock_households(session, scheme: Scheme, where: Callable) -> None:
    """On PostgreSQL, lock the households that ``where(Household.id)`` selects (in id order, so two refreshes
    never deadlock) before their persons and receipts are read.

    Two transactions refreshing one household (two clerks' receipts, a receipt and an import) then run one after
    the other and the second reads the first's receipt; without the lock each computes the spans from its own
    receipt only and the last to commit overwrites the other's coverage (a lost update). FOR NO KEY UPDATE:
    inserting a receipt or a person of the household (a foreign-key check) is not held up. SQLite has a single
    writer, which serialises the refreshes already.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        select(Household.id)
        .where(Household.scheme_id == scheme.id, where(Household.id))
        .order_by(Household.id)
        .with_for_update(key_share=True)
    ).all()


def _write_derived(session, scheme: Scheme, batch: _Loaded, rules: str, built: list | None = None) -> None:
    """Run the engine over a batch and write what changed: the households' dates, their (new) spans, their
    stored ledgers (contributions/stored.py).

    The engine runs inside the stored periods' COPY (``store_ledgers`` with an iterator): on PostgreSQL the
    server ingests a household's periods while Python builds the next ledger, two cores at work instead of one
    after the other (issue 17); the dates and spans the ledgers give are written once the COPY is done.
    ``built``: the ledgers already built (``_built``, while the receipts were being copied)."""
    changes: list[dict] = []
    spans: list[dict] = []

    def ledgers():
        for hid, h, ledger in _built(batch) if built is None else built:
            derived = (ledger.exit_date, ledger.strike_off_date)
            if derived != batch.stored[hid]:
                changes.append({"id": hid, "exit_date": derived[0], "strike_off_date": derived[1]})
            for start, end in ledger.coverage_spans():
                spans.append({"scheme_id": scheme.id, "household_id": hid, "start": start, "end": end})
            yield hid, (h, ledger)

    store_ledgers(session, scheme, ledgers(), rules=rules, ids=list(batch.inputs))
    if changes:
        _store_dates(session, changes)
        _expire_loaded(session, [c["id"] for c in changes])
    bulk_insert(session, CoverageSpan.__table__, spans)


def _store_dates(session, changes: list[dict]) -> None:
    """Write the households' derived exit and strike-off dates (``changes``: dicts of id, exit_date,
    strike_off_date). On PostgreSQL one UPDATE joined to the arrays of the values: an import changes the dates of
    nearly every household it touches, and an UPDATE a household (the ORM's executemany) cost about 25 µs of
    server and 60 µs of Python each (issue 17, the server's statement log); elsewhere the executemany."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(Household), changes)
        return
    session.execute(
        text(
            "UPDATE household SET exit_date = v.exit_date, strike_off_date = v.strike_off_date"
            " FROM unnest(CAST(:ids AS integer[]), CAST(:exits AS date[]), CAST(:strikes AS date[]))"
            " AS v(id, exit_date, strike_off_date) WHERE household.id = v.id"
        ),
        {
            "ids": [c["id"] for c in changes],
            "exits": [c["exit_date"] for c in changes],
            "strikes": [c["strike_off_date"] for c in changes],
        },
    )


def _shared_ledger(shared: dict[tuple, Ledger], h: HouseholdInput) -> Ledger:
    """``build_ledger(h)``, built once for households without receipts whose inputs are all equal (issue 17: a
    register import enrols hundreds of households on one campaign day, with the same members' dates; their
    ledgers are equal). The key is every field of the input, the scheme-wide terms and programmes by identity
    (one object per product for the whole refresh); a field that cannot be a key means no sharing."""
    if h.receipts:
        return build_ledger(h)
    parts = []
    for f in fields(h):
        value = getattr(h, f.name)
        if f.name in ("terms", "programmes"):
            parts.append(id(value))
        else:
            parts.append(tuple(value) if isinstance(value, list | tuple) else value)
    key = tuple(parts)
    try:
        ledger = shared.get(key)
    except TypeError:  # an unhashable input
        return build_ledger(h)
    if ledger is None:
        ledger = shared[key] = build_ledger(h)
    return ledger


def _expire_loaded(session, household_ids: list[int]) -> None:
    """Bulk updates bypass the identity map: households already loaded must re-read their derived dates. An
    import's session holds few objects and its batches thousands of ids: the smaller side is walked."""
    identity_map = session.identity_map
    if not identity_map:
        return
    if len(identity_map) < len(household_ids):
        wanted = set(household_ids)
        loaded = [obj for obj in identity_map.values() if isinstance(obj, Household) and obj.id in wanted]
    else:
        loaded = [identity_map.get(identity_key(Household, hid)) for hid in household_ids]
    for obj in loaded:
        if obj is not None:
            session.expire(obj, ["exit_date", "strike_off_date"])


def ledger_for(session, household: Household) -> Ledger:
    """The engine's ledger of one household."""
    scheme = session.get(Scheme, household.scheme_id)
    inputs = household_inputs(session, scheme, [household.id])
    return build_ledger(inputs[household.id])


# -- receipts ------------------------------------------------------------------------------------------------


def _next_receipt_no(session, scheme_id: int, year: int) -> str:
    """The next automatic number of the year, ``R-2026-000123``, from the scheme's receipt counter
    (core/numbering.py: safe when two clerks save at once; numbers typed by hand are skipped)."""
    return allocate_number(
        session,
        scheme_id=scheme_id,
        kind="receipt",
        scope=str(year),
        render=lambda n: f"R-{year}-{n:06d}",
        unique=(Receipt.receipt_no, Receipt.scheme_id == scheme_id),
    )


def receipt_numbers(session, scheme_id: int, days: Sequence[date]) -> list[str]:
    """Automatic numbers for receipts dated ``days`` (in that order), from each year's counter in one allocation
    per year (core/numbering.py), for a service that adds many receipts at once."""
    by_year: dict[int, list[int]] = defaultdict(list)
    for index, day in enumerate(days):
        by_year[day.year].append(index)
    numbers: list[str] = [""] * len(days)
    for year in sorted(by_year):
        allocated = allocate_numbers(
            session,
            scheme_id=scheme_id,
            kind="receipt",
            scope=str(year),
            render=lambda n, year=year: f"R-{year}-{n:06d}",
            unique=(Receipt.receipt_no, Receipt.scheme_id == scheme_id),
            count=len(by_year[year]),
        )
        for index, number in zip(by_year[year], allocated, strict=True):
            numbers[index] = number
    return numbers


def _check_receipt(household: Household, currency: str, amount, method: str, day) -> tuple[Decimal, str, date]:
    """The typed amount, method and date of a new receipt, or ContributionError naming the field."""
    try:
        value = v.amount(amount, currency, positive=True)
    except FieldError as exc:
        raise ContributionError.of(exc, "amount") from exc
    try:
        method = v.choice(method or "cash", METHODS, "payment method")
    except FieldError as exc:
        raise ContributionError.of(exc, "method") from exc
    try:
        day = v.day(day)
    except FieldError as exc:
        raise ContributionError.of(exc, "date") from exc
    return value, method, day


def check_payment_source(session, scheme: Scheme, method: str, operator: str | None, transaction_id: str | None):
    """(method, operator, transaction id) of a new receipt: cash has neither operator nor transaction id; an
    operator's payment names an operator of the scheme (its method wins) and its transaction id, which must not
    have paid a receipt already. ContributionError naming the field otherwise."""
    operator = (operator or "").strip() or None
    transaction_id = (transaction_id or "").strip() or None
    if operator is None:
        if transaction_id is not None:
            raise ContributionError(N_("A transaction id needs its operator."), "operator")
        return method, None, None
    try:
        known = usable_operator(session, scheme, operator)
    except OperatorError as exc:
        raise ContributionError(exc.message, "operator", **exc.params) from exc
    if method == "cash":
        method = known.method
    if method != known.method:
        raise ContributionError(
            N_("Operator %(operator)s is not a %(method)s operator."), "method", operator=operator, method=method
        )
    if transaction_id is None:
        raise ContributionError(N_("The operator's transaction id is required."), "transaction_id")
    if not TRANSACTION_ID.match(transaction_id):
        raise ContributionError(
            N_("%(tx)s is not a transaction id (letters, digits and . _ / : -, at most 64)."),
            "transaction_id",
            tx=transaction_id,
        )
    _refuse_used_transaction(session, scheme, operator, transaction_id)
    return method, operator, transaction_id


def _refuse_used_transaction(session, scheme: Scheme, operator: str, transaction_id: str) -> None:
    """ContributionError when (operator, transaction id) already paid a receipt of the scheme."""
    used = session.scalar(
        select(Receipt.receipt_no).where(
            Receipt.scheme_id == scheme.id, Receipt.operator == operator, Receipt.transaction_id == transaction_id
        )
    )
    if used is not None:
        raise ContributionError(
            N_("Transaction %(tx)s of %(operator)s is already recorded, as receipt %(no)s."),
            "transaction_id",
            tx=transaction_id,
            operator=operator,
            no=used,
        )


def record_receipt(
    session,
    household: Household,
    *,
    receipt_no: str | None = None,
    date: date,
    amount: Decimal,
    method: str = "cash",
    collector: str = "",
    operator: str | None = None,
    transaction_id: str | None = None,
    actor=None,
    refresh: bool = True,
) -> Receipt:
    """Record money paid by ``household``; numbered ``R-<year>-NNNNNN`` when ``receipt_no`` is None.

    Automatic numbers come from the scheme's counter (core/numbering.py), safe when two clerks save at once; a
    typed number already used is refused. A payment through an operator carries the operator's code and
    transaction id; the pair pays one receipt of the scheme only (checked here, and by the unique constraint
    when two clerks save it at once). Refreshes the household's coverage (unless ``refresh`` is False: a caller
    recording many receipts refreshes their households once); flushes only.
    """
    scheme = session.get(Scheme, household.scheme_id)
    value, method, day = _check_receipt(household, scheme.currency, amount, method, date)
    method, operator, transaction_id = check_payment_source(session, scheme, method, operator, transaction_id)
    collector = (collector or "").strip()[:120]
    if receipt_no is not None:
        try:
            receipt_no = v.ref(receipt_no, "receipt number")
        except FieldError as exc:
            raise ContributionError.of(exc, "receipt_no") from exc
        exists = session.scalar(
            select(Receipt.id).where(Receipt.scheme_id == scheme.id, Receipt.receipt_no == receipt_no)
        )
        if exists is not None:
            raise ContributionError(
                N_("receipt number %(receipt_no)s is already used in this scheme"), "receipt_no", receipt_no=receipt_no
            )
    receipt = Receipt(
        scheme_id=scheme.id,
        household_id=household.id,
        receipt_no=receipt_no if receipt_no is not None else _next_receipt_no(session, scheme.id, day.year),
        date=day,
        amount=value,
        method=method,
        collector=collector,
        operator=operator,
        transaction_id=transaction_id,
        created_by_id=getattr(actor, "id", None),
    )
    try:
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError as exc:
        if operator is not None:
            _refuse_used_transaction(session, scheme, operator, transaction_id)  # another clerk saved it
        # Otherwise only a number typed by hand can collide (another clerk saved it meanwhile): automatic
        # numbers come from the counter, which skips every stored one.
        raise ContributionError(
            N_("receipt number %(receipt_no)s is already used in this scheme"),
            "receipt_no",
            receipt_no=receipt.receipt_no,
        ) from exc
    record(
        session,
        actor=actor,
        entity="receipt",
        entity_id=receipt.id,
        scheme_id=scheme.id,
        action="record",
        after={
            "receipt_no": receipt.receipt_no,
            "household": household.ref,
            "date": day,
            "amount": value,
            "method": method,
            "collector": collector,
            "operator": operator,
            "transaction_id": transaction_id,
        },
    )
    if refresh:
        refresh_households(session, scheme, [household.id])
    return receipt


def reverse_receipt(session, receipt: Receipt, *, reason: str, actor=None) -> Receipt:
    """Cancel ``receipt`` by a counter-entry (same date, negated amount, number ``<original>-R``, the reason).

    A reversal cannot itself be reversed and a receipt is reversed at most once (the unique reversal_of_id
    makes that hold under concurrency too). Nothing is deleted. Refreshes the household; flushes only.
    """
    counter = reverse_entry(
        session,
        receipt,
        number="receipt_no",
        copied=("household_id", "method", "collector"),
        reason=reason,
        actor=actor,
        error=ContributionError,
        entity="receipt",
        check_number_free=True,
        audit_amount=True,
    )
    refresh_households(session, session.get(Scheme, receipt.scheme_id), [receipt.household_id])
    return counter


# -- the household's account ---------------------------------------------------------------------------------


@dataclass
class PeriodLine:
    """One due period as the household page shows it (contributions.md §1–§3)."""

    k: int
    start: date
    end: date
    persons: int
    gross: Decimal
    subsidy: Decimal
    subsidies: tuple[tuple[str, Decimal], ...]
    member_due: Decimal
    paid: Decimal  # how much of member_due the receipts (as of the day) have paid
    status: str  # "paid" | "partly_paid" | "unpaid"
    upcoming: bool  # starts after the day


@dataclass
class ReceiptLine:
    """One receipt with the flags the page needs."""

    id: int
    receipt_no: str
    date: date
    amount: Decimal
    method: str
    collector: str
    operator: str | None
    transaction_id: str | None
    reason: str
    is_reversal: bool
    reversed_by: str | None
    refund_or_reenrol: bool  # contributions.md §3: dated on/after strike-off, pays nothing


@dataclass
class Account:
    """What the household page shows on ``on``."""

    on: date
    currency: str
    status: str  # "covered" | "grace" | "not_covered"
    # When not covered, Ledger.status's reason: "not_enrolled" | "unpaid" | "struck_off" | "exited"
    reason: str | None
    reason_date: date | None  # enrols on / unpaid since (E when never paid) / struck off on / exited on
    covered_until: date | None  # last day of cover at the current payments (None = no end, or not covered)
    paid_until: date | None
    paid_until_unbounded: bool
    next_due_amount: Decimal | None
    next_due_date: date | None
    arrears: Decimal
    registration_fee: Decimal  # the member part r
    paid_total: Decimal  # C(on)
    strike_off_date: date | None
    exit_date: date | None
    periods: list[PeriodLine] = field(default_factory=list)
    receipts: list[ReceiptLine] = field(default_factory=list)


def household_account(session, household: Household, on: date) -> Account:
    """The household's coverage status, dues, periods and receipts on ``on`` (contributions.md §1–§5)."""
    scheme = session.get(Scheme, household.scheme_id)
    return household_accounts(session, scheme, [household.id], on)[household.id]


def household_accounts(session, scheme: Scheme, household_ids: Sequence[int], on: date) -> dict[int, Account]:
    """``household_account`` of many households of ``scheme`` at once (statement runs): the engine's inputs
    bulk-loaded (``household_inputs``) and every receipt in one query — never a query per household."""
    inputs = household_inputs(session, scheme, household_ids)
    receipts: dict[int, list[Receipt]] = defaultdict(list)
    ids = sorted(inputs)
    for start in range(0, len(ids), CHUNK):
        for receipt in session.scalars(
            select(Receipt)
            .where(Receipt.household_id.in_(ids[start : start + CHUNK]))
            .order_by(Receipt.household_id, Receipt.date, Receipt.id)
        ):
            receipts[receipt.household_id].append(receipt)
    accounts = {}
    for hid, h in inputs.items():
        ledger = build_ledger(h)
        accounts[hid] = _account(ledger, on, _receipt_lines(receipts.get(hid, []), ledger.strike_off_date))
    return accounts


def _account(ledger: Ledger, on: date, receipts: list[ReceiptLine]) -> Account:
    """The account on ``on`` from the household's ledger and its receipt lines."""
    r, _ = ledger.registration_split
    paid = ledger.C(on)
    paid_until = ledger.paid_until(on)
    cover = ledger.status(on)
    gone = any(d is not None and d <= on for d in (ledger.exit_date, ledger.strike_off_date))

    horizon = on
    if paid_until is not None and paid_until is not UNBOUNDED and paid_until > on:
        horizon = paid_until  # prepaid periods, and the next one due
    periods = ledger.periods_until(horizon)
    lines: list[PeriodLine] = []
    remaining = paid - r
    next_amount = next_date = None
    cumulative = r
    for p in periods:
        cumulative += p.member_due
        toward = max(Decimal(0), min(remaining, p.member_due))
        if remaining >= p.member_due:
            state = "paid"
        elif remaining > 0:
            state = "partly_paid"
        else:
            state = "unpaid"
        if state != "paid" and next_date is None and not gone:
            next_amount, next_date = cumulative - paid, p.start
        remaining -= p.member_due
        lines.append(
            PeriodLine(
                k=p.k,
                start=p.start,
                end=p.end,
                persons=p.persons,
                gross=p.gross,
                subsidy=sum((s for _, s in p.subsidies), Decimal(0)),
                subsidies=p.subsidies,
                member_due=p.member_due,
                paid=toward,
                status=state,
                upcoming=p.start > on,
            )
        )
    if next_date is None and not gone and paid < r:
        next_amount, next_date = r - paid, ledger.enrolment
    return Account(
        on=on,
        currency=ledger.currency,
        status=cover.status,
        reason=cover.reason,
        reason_date=cover.reason_date,
        covered_until=cover.covered_until,
        paid_until=None if paid_until is UNBOUNDED else paid_until,
        paid_until_unbounded=paid_until is UNBOUNDED,
        next_due_amount=next_amount,
        next_due_date=next_date,
        arrears=ledger.arrears(on),
        registration_fee=r,
        paid_total=paid,
        strike_off_date=ledger.strike_off_date,
        exit_date=ledger.exit_date,
        periods=lines,
        receipts=receipts,
    )


def _receipt_lines(rows: list[Receipt], strike_off: date | None) -> list[ReceiptLine]:
    """A household's receipts (in date order), reversals paired with what they cancel."""
    reversed_by = {r.reversal_of_id: r.receipt_no for r in rows if r.reversal_of_id is not None}
    lines = []
    for r in rows:
        is_reversal = r.reversal_of_id is not None
        late = strike_off is not None and r.date >= strike_off and not is_reversal and r.id not in reversed_by
        lines.append(
            ReceiptLine(
                id=r.id,
                receipt_no=r.receipt_no,
                date=r.date,
                amount=r.amount,
                method=r.method,
                collector=r.collector,
                operator=r.operator,
                transaction_id=r.transaction_id,
                reason=r.reason,
                is_reversal=is_reversal,
                reversed_by=reversed_by.get(r.id),
                refund_or_reenrol=late,
            )
        )
    return lines
