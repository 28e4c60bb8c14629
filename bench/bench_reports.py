"""Reports at 1,000,000 households in one scheme (issue 17): build the register reproducibly, then time the reports
and each of their parts.

``--build`` empties the database, runs the growth run's load of 100,000 households (bench_growth.run_size: the
members and a year of receipts through the application's importers, 10 claims per household-year by COPY and a
1,000-household sister scheme in the same federation), then copies the big scheme's rows nine more times in SQL
(``INSERT … SELECT``: ids offset, references and other unique keys suffixed) so that one scheme holds 1,000,000
households, resets the sequences and runs ``VACUUM ANALYZE``. The copy is generic: every table with rows of the
scheme (a ``scheme_id`` column) and every table hanging from those (a foreign key, or a ``<table>_id`` column
as for report_period, which has no foreign key) is copied. ``--refresh`` runs the application's repair path
(``flask report refresh-ledgers``: ``ledgers.refresh``) over the copied scheme, timed, so that a table of derived
totals added later is filled by the application rather than by this script.

``--measure`` times, each twice (wall and CPU: this process + the PostgreSQL backends, read from /proc), the
scheme report for a year, a month and a quarter, the federation report for a year, the 24-month trend, and each
part of a report alone, and prints a markdown table with the load average.

    MHI_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/mhi_bench_1m .venv/bin/python \
        bench/bench_reports.py --build --refresh --measure      # ~30 min on 2 cores: 100,000 households x 10
    … bench/bench_reports.py --measure                          # time the register already there
    … bench/bench_reports.py --build --households 2000 --copies 9   # a small register (try the copy first)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_growth import Cost, _ticks, run_size, uptime  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from mhi import create_app, normalise_database_url  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.reports import indicators as ind  # noqa: E402
from mhi.reports import ledgers, queries, services  # noqa: E402
from mhi.schemes.models import Federation, Scheme  # noqa: E402

SEED = 20261204
#: The growth run's scheme (bench_register.SCHEME) and federation, and the table the copy starts from.
SCHEME_CODE, FEDERATION_CODE, ROOT = "BENCH", "GROW", "household"
TEXT_TYPES = ("character varying", "text", "character")


def load(app, households: int, seed: int) -> None:
    """The growth run's load of ``households`` (bench_growth.run_size: it empties the schema first)."""
    folder = Path(tempfile.mkdtemp(prefix="mhi-reports-"))
    try:
        lines = run_size(app, households, seed, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    width = max(len(name) for name, _ in lines)
    print(f"\ngrowth run's load, {households:,} households")
    for name, value in lines:
        print(f"  {name.ljust(width)}  {value}", flush=True)


# -- the copy ------------------------------------------------------------------------------------------------


@dataclass
class Table:
    """What the copy needs to know of one table, read from PostgreSQL's catalog."""

    name: str
    columns: list[str]
    text_columns: set[str]
    serial: str | None  # the column filled by a sequence (its own id), offset by the copy
    has_scheme: bool
    #: column -> (referenced table, referenced column): the declared foreign keys, and ``<table>_id`` columns
    #: without one (report_period.household_id has no foreign key, docs/decisions.md)
    references: dict[str, tuple[str, str]] = field(default_factory=dict)
    unique: list[list[str]] = field(default_factory=list)  # unique indexes other than the primary key


def catalog(session) -> dict[str, Table]:
    """Every table of the public schema with its columns, sequence-filled id, references and unique keys."""
    tables: dict[str, Table] = {}
    rows = session.execute(
        text(
            "SELECT table_name, column_name, data_type, coalesce(column_default, '') LIKE 'nextval(%' "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
    ).all()
    for name, column, kind, serial in rows:
        table = tables.setdefault(name, Table(name, [], set(), None, False))
        table.columns.append(column)
        if kind in TEXT_TYPES:
            table.text_columns.add(column)
        if serial:
            table.serial = column
        if column == "scheme_id":
            table.has_scheme = True
    foreign = session.execute(
        text(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, b.attname "
            "FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND c.connamespace = 'public'::regnamespace"
        )
    ).all()
    for name, column, target, target_column in foreign:
        tables[name].references[column] = (target, target_column)
    for table in tables.values():
        for column in table.columns:
            if column.endswith("_id") and column not in table.references and column[:-3] in tables:
                target = tables[column[:-3]]
                if target.serial:
                    table.references[column] = (target.name, target.serial)
    unique = session.execute(
        text(
            "SELECT i.indrelid::regclass::text, array_agg(a.attname ORDER BY k.ord) "
            "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "JOIN pg_class c ON c.oid = i.indrelid "
            "WHERE i.indisunique AND NOT i.indisprimary AND c.relnamespace = 'public'::regnamespace "
            "GROUP BY i.indexrelid, i.indrelid"
        )
    ).all()
    for name, columns in unique:
        tables[name].unique.append(list(columns))
    return tables


def register_tables(tables: dict[str, Table]) -> list[Table]:
    """The tables of a scheme's register, parents first: the households and every table referring to one of
    them (directly or through another: persons, receipts, coverage spans, stored ledgers, claims through the
    persons, category changes…). The scheme's set-up (products, providers, programmes) is shared, not copied."""
    chosen = [tables[ROOT]]
    names = {ROOT}
    grown = True
    while grown:
        grown = False
        for table in sorted(tables.values(), key=lambda t: t.name):
            if table.name not in names and any(target in names for target, _ in table.references.values()):
                chosen.append(table)
                names.add(table.name)
                grown = True
    return chosen


def _rows_of_scheme(tables: dict[str, Table], copied: set[str], table: Table, scheme_id: int) -> str:
    """A WHERE clause choosing ``table``'s rows of the scheme (through a parent when it has no scheme_id)."""
    if table.has_scheme:
        return f"{table.name}.scheme_id = {scheme_id}"
    for column, (target, target_column) in table.references.items():
        if target in copied and target != table.name:
            parent = tables[target]
            return (
                f"{table.name}.{column} IN (SELECT {target_column} FROM {target} "
                f"WHERE {_rows_of_scheme(tables, copied, parent, scheme_id)})"
            )
    raise SystemExit(f"{table.name}: no way to tell the scheme's rows")


@dataclass
class Plan:
    """How one table is copied: the expression of each column for copy ``k`` and the rows copied."""

    table: Table
    expressions: list[str]
    where: str
    suffixed: list[str]


def plan_copy(session, tables: dict[str, Table], scheme_id: int) -> tuple[list[Plan], dict[str, int]]:
    """Each register table's copy: its own id and every reference to a copied table offset by the referenced
    table's largest id times k (so the copies' ids never meet the originals' nor each other's), the last text
    column of each unique key without an offset column suffixed '-c<k>' (a household's ref, a member number, a
    receipt number, a claim reference, a mobile-money transaction id), and the text columns of the same names
    elsewhere (a claim's member number) suffixed alike. Only the original rows are read (ids up to the largest
    before the copy)."""
    chosen = register_tables(tables)
    names = {table.name for table in chosen}
    offsets = {}
    for table in chosen:
        if table.serial:
            offsets[table.name] = session.scalar(text(f"SELECT coalesce(max({table.serial}), 0) FROM {table.name}"))
    # Only the original rows: the table's own id (or its first offset reference) up to the largest before.
    wheres = {}
    for table in chosen:
        limit_column = table.serial or next(
            column for column, (target, _) in table.references.items() if target in names and target in offsets
        )
        limit_target = table.name if limit_column == table.serial else table.references[limit_column][0]
        where = f"{_rows_of_scheme(tables, names, table, scheme_id)} AND {limit_column} <= {offsets[limit_target]}"
        if session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {table.name} WHERE {where})")):
            wheres[table.name] = where
    chosen = [table for table in chosen if table.name in wheres]  # nothing to copy in the others
    suffix_names: set[str] = set()
    for table in chosen:
        offset_columns = {table.serial} | {c for c, (target, _) in table.references.items() if target in names}
        for key in table.unique:
            if offset_columns & set(key):
                continue
            texts = [column for column in key if column in table.text_columns]
            if not texts:
                raise SystemExit(f"{table.name}: unique key {key} cannot be made unique by the copy")
            suffix_names.add(texts[-1])
    plans = []
    for table in chosen:
        expressions = []
        suffixed = []
        for column in table.columns:
            if column == table.serial:
                expressions.append(f"{column} + :k * {offsets[table.name]}")
            elif column in table.references and table.references[column][0] in names:
                target = table.references[column][0]
                expressions.append(f"{column} + :k * {offsets[target]}")
            elif column in suffix_names and column in table.text_columns:
                expressions.append(f"{column} || '-c' || :k")
                suffixed.append(column)
            else:
                expressions.append(f'"{column}"')
        plans.append(Plan(table, expressions, wheres[table.name], suffixed))
    return plans, offsets


#: The parts of a report that come from the register alone, so that ``copies`` more copies multiply them exactly
#: (the reserves and the cash add the scheme's opening balances; the earned sums are rounded once, below).
SCALED = (
    "households_covered_start",
    "households_covered_end",
    "households_retained",
    "beneficiaries_covered_start",
    "beneficiaries_covered_end",
    "new_households",
    "new_beneficiaries",
    "households_struck_off",
    "person_days",
    "contributions_expected",
    "period_dues_paid",
    "contributions_collected",
    "subsidies_due",
    "registration_fees",
    "arrears",
    "claims_submitted",
    "claims_rejected",
    "claims_incurred",
    "claims_paid",
    "claims_outstanding",
)


def check_copy(before: ind.Parts, after: ind.Parts, times: int) -> None:
    """The year's report after the copy is ``times`` times the one before, figure by figure (the earned sums to
    within their rounding): the copy left nothing out and counted nothing twice."""
    wrong = [name for name in SCALED if getattr(after, name) != times * getattr(before, name)]
    if after.payment_delays != Counter({days: times * n for days, n in before.payment_delays.items()}):
        wrong.append("payment_delays")
    if after.benefits != {code: (times * n, times * amount) for code, (n, amount) in before.benefits.items()}:
        wrong.append("benefits")
    for name in ("contributions_earned", "member_contributions_earned"):
        if abs(getattr(after, name) - times * getattr(before, name)) > times:
            wrong.append(name)
    if wrong:
        raise SystemExit(
            "the copy does not multiply the report: "
            + "; ".join(f"{name}: {getattr(before, name, '')} -> {getattr(after, name, '')}" for name in wrong)
        )
    print(f"check: the year's report after the copy is {times} x the one before, figure by figure", flush=True)


def scale_kept_totals(session, scheme_id: int, times: int) -> None:
    """The per-scheme totals that the application keeps in Python (``store_ledgers``: the due totals) are not
    register tables, so the copy does not touch them; every copy is the original again (same dates, same
    amounts), so the scheme's totals after the copy are ``times`` × those before, its household count included.
    (The totals kept by triggers, claims and the like, counted the copied rows as they were inserted.) The copy's
    check, then ``--measure``'s totals-against-scan check, confirm them."""
    session.execute(
        text(
            "UPDATE report_due_total SET due = due * :n, paid = paid * :n, short = short * :n WHERE scheme_id = :scheme"
        ),
        {"n": times, "scheme": scheme_id},
    )


def copy_scheme(session, copies: int) -> None:
    """Copy the big scheme's register ``copies`` times (module docstring), each table in one transaction with
    its secondary indexes dropped and built again after (much faster than maintaining them row by row)."""
    scheme = session.scalar(select(Scheme).where(Scheme.code == SCHEME_CODE))
    year = (date(2025, 1, 1), date(2025, 12, 31))  # the growth run's year (bench_growth.F, T)
    before = ind.scheme_parts(session, scheme, *year)
    tables = catalog(session)
    plans, offsets = plan_copy(session, tables, scheme.id)
    session.commit()
    total = Cost(session)
    for plan in plans:
        table = plan.table
        count = session.scalar(text(f"SELECT count(*) FROM {table.name} WHERE {plan.where}"))
        if not count:
            continue
        cost = Cost(session)
        indexes = session.execute(
            text(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisunique AND NOT i.indisprimary"
            ),
            {"t": table.name},
        ).all()
        for index, _ in indexes:
            session.execute(text(f"DROP INDEX {index}"))
        quoted = ", ".join(f'"{column}"' for column in table.columns)
        sql = f"INSERT INTO {table.name} ({quoted}) SELECT {', '.join(plan.expressions)} FROM {table.name} WHERE {plan.where}"
        for k in range(1, copies + 1):
            session.execute(text(sql), {"k": k})
        for _, definition in indexes:
            session.execute(text(definition))
        if table.serial:
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{table.serial}'), "
                    f"(SELECT max({table.serial}) FROM {table.name}))"
                )
            )
        session.commit()
        extra = f", suffixed {', '.join(plan.suffixed)}" if plan.suffixed else ""
        print(
            f"  copied {table.name}: {count:,} rows x {copies} ({len(indexes)} indexes rebuilt{extra}): {cost.text()}",
            flush=True,
        )
    scale_kept_totals(session, scheme.id, copies + 1)
    session.commit()
    print(f"copy: {total.text()}", flush=True)
    check_copy(before, ind.scheme_parts(session, scheme, *year), copies + 1)
    session.rollback()


def vacuum_analyze(app) -> None:
    """VACUUM ANALYZE the database (outside a transaction), timed."""
    with app.app_context():
        started = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        print(f"VACUUM ANALYZE: {time.perf_counter() - started:.0f} s wall", flush=True)


def refresh(app, upto: date) -> int:
    """The application's repair path over every scheme (``flask report refresh-ledgers --to upto``), timed: it
    rebuilds the ledgers whose inputs changed (none after an exact copy) and whatever derived rows the
    application's refresh keeps."""
    rebuilt = 0
    with app.app_context():
        session = db.session
        for scheme in session.scalars(select(Scheme).order_by(Scheme.code)).all():
            cost = Cost(session)
            count = ledgers.refresh(session, scheme, upto)
            session.commit()
            print(f"refresh {scheme.code}: {count:,} household ledgers rebuilt; {cost.text()}", flush=True)
            rebuilt += count
    return rebuilt


def sizes(session) -> str:
    """The register's size: households, persons, stored periods, receipts and claims of the big scheme."""
    scheme = session.scalar(select(Scheme).where(Scheme.code == SCHEME_CODE))
    counts = [
        session.scalar(text(f"SELECT count(*) FROM {name} WHERE scheme_id = :s"), {"s": scheme.id})
        for name in ("household", "person", "report_period", "receipt", "claim")
    ]
    size = session.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    return (
        f"{SCHEME_CODE}: {counts[0]:,} households, {counts[1]:,} persons, {counts[2]:,} stored periods, "
        f"{counts[3]:,} receipts, {counts[4]:,} claims; database {size}"
    )


# -- the measure -----------------------------------------------------------------------------------------------


class Workers(threading.Thread):
    """The CPU of the PostgreSQL parallel workers serving this session's backend (process title "parallel worker
    for PID <backend>"): short-lived processes that bench_growth.Cost does not see. /proc is read every 20 ms and
    each worker's last reading kept (a worker's last 20 ms may be missed); the thread's own CPU is subtracted from
    this process's."""

    def __init__(self, backend: int) -> None:
        super().__init__(daemon=True)
        self.tag = f"parallel worker for PID {backend}".encode()
        self.ticks: dict[int, int] = {}
        self.own = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/cmdline", "rb") as title:
                        if self.tag not in title.read():
                            continue
                except OSError:
                    continue
                pid = int(entry.name)
                ticks = _ticks(pid)
                if ticks:
                    self.ticks[pid] = ticks
            self.own = time.thread_time()
            self.stop.wait(0.02)

    def seconds(self) -> float:
        self.stop.set()
        self.join()
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


def timed(session, work) -> tuple[float, float, float]:
    """Run ``work()`` in a transaction of its own (rolled back after, as a report page's request); returns (wall,
    python cpu, postgres cpu: the backend and its parallel workers) seconds."""
    session.rollback()
    backend = session.scalar(text("SELECT pg_backend_pid()"))
    workers = Workers(backend)
    workers.start()
    cost = Cost(session)
    work()
    session.rollback()
    wall, cpu, pg = cost.done()
    parallel = workers.seconds()
    return wall, cpu - workers.own, pg + parallel


def parts_of(session, scheme, date_from: date, date_to: date) -> list[tuple[str, object]]:
    """A scheme report's parts, each callable alone (what ``indicators.scheme_parts`` and
    ``ledgers.contribution_amounts`` call, in their order)."""
    opening = scheme.opening_date
    window = [(date_from, date_to)]

    def part(function, *args):
        def run():
            queries.prepare(session)
            function(*args)

        return run

    return [
        ("membership", part(queries.membership, session, scheme.id, date_from, date_to)),
        ("claim_totals", part(queries.claim_totals, session, scheme.id, date_from, date_to, opening)),
        ("cash_flows", part(queries.cash_flows, session, scheme.id, date_from, date_to, opening)),
        ("§6 earned sums (ledgers._earned_sums)", part(ledgers._earned_sums, session, scheme.id, window, opening)),
        (
            "§6 household sums (ledgers._household_sums)",
            part(ledgers._household_sums, session, scheme.id, window, opening),
        ),
        (
            "§6 contribution_amounts (both, covers included)",
            part(ledgers.contribution_amounts, session, scheme, date_from, date_to, opening),
        ),
        ("freshness check (ledgers.covers)", part(ledgers.covers, session, scheme, date_to)),
    ]


def check_totals(app, year: int) -> None:
    """Every figure the reports read from the per-scheme totals equals the scan of the register it replaces, on
    this register: the §6 amounts (due and earned totals), the claims, the coverage counts and person-days, the
    trend's persons covered — for the year, each quarter and each month of ``year``, and a window that is not
    month-aligned (which must take the scans). Timed, since the scans are the slow part."""
    started = time.perf_counter()
    windows = [(date(year, 1, 1), date(year, 12, 31))]
    windows += [(date(year, m, 1), date(year, m + 3, 1) - timedelta(days=1)) for m in (1, 4, 7)]
    windows += [(date(year, 10, 1), date(year, 12, 31))]
    windows += [(date(year, m, 1), date(year, m + 1, 1) - timedelta(days=1)) for m in range(1, 12)]
    windows += [(date(year, 12, 1), date(year, 12, 31)), (date(year, 2, 14), date(year, 9, 3))]
    wrong = []
    with app.app_context():
        session = db.session
        scheme = session.scalar(select(Scheme).where(Scheme.code == SCHEME_CODE))
        opening = scheme.opening_date
        queries.prepare(session)
        assert ledgers.totals_whole(session, scheme), "the due totals are not whole: --refresh"
        fast = ledgers.amounts_many(session, scheme, windows, opening)
        slow = ledgers.amounts_many(session, scheme, windows, opening, totals=False)
        wrong += [f"§6 amounts {w}" for w, a, b in zip(windows, fast, slow, strict=True) if a != b]
        for window in windows:
            if queries.membership(session, scheme.id, *window) != queries.membership(
                session, scheme.id, *window, by_scan=True
            ):
                wrong.append(f"membership {window}")
            if queries.claim_totals(session, scheme.id, *window, opening) != queries.claim_totals_by_scan(
                session, scheme.id, *window, opening
            ):
                wrong.append(f"claims {window}")
        days = [last for _, last in windows]
        if queries.beneficiaries_covered_on(session, scheme.id, days) != queries.beneficiaries_covered_on(
            session, scheme.id, days, by_scan=True
        ):
            wrong.append("persons covered on the windows' last days")
        session.rollback()
    if wrong:
        raise SystemExit("the totals differ from the scans: " + "; ".join(wrong))
    print(
        f"check: the totals equal the scans on {len(windows)} windows (§6 amounts, membership, claims, persons "
        f"covered): {time.perf_counter() - started:.0f} s wall",
        flush=True,
    )


def measure(app, year: int, repeat: int = 2) -> None:
    """Time each report and each part ``repeat`` times; print a markdown table."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    with app.app_context():
        session = db.session
        scheme = session.scalar(select(Scheme).where(Scheme.code == SCHEME_CODE))
        federation = session.scalar(select(Federation).where(Federation.code == FEDERATION_CODE))
        print(sizes(session), flush=True)
        assert ledgers.covers(session, scheme, last), "the stored ledgers do not reach the year's end: --refresh"
        session.rollback()
        steps = [
            (f"scheme report, a year ({year})", lambda: ind.scheme_indicators(session, scheme, first, last)),
            (
                f"scheme report, a month ({year}-06)",
                lambda: ind.scheme_indicators(session, scheme, date(year, 6, 1), date(year, 6, 30)),
            ),
            (
                f"scheme report, a quarter ({year} Q2)",
                lambda: ind.scheme_indicators(session, scheme, date(year, 4, 1), date(year, 6, 30)),
            ),
            (
                "federation report, a year (the scheme + the 1,000-household sister)",
                lambda: ind.federation_indicators(session, federation, first, last),
            ),
            ("24-month trend (services.monthly_trend)", lambda: services.monthly_trend(session, scheme, last)),
        ]
        steps += [(f"part of the year: {name}", run) for name, run in parts_of(session, scheme, first, last)]
        june = (date(year, 6, 1), date(year, 6, 30))
        steps += [(f"part of {year}-06: {name}", run) for name, run in parts_of(session, scheme, *june)]
        loads = [os.getloadavg()[0]]
        rows = []
        for name, work in steps:
            runs = []
            for _ in range(repeat):
                runs.append(timed(session, work))
                loads.append(os.getloadavg()[0])
            rows.append((name, runs))
            figures = "; ".join(f"{w:.2f} s wall, cpu {c:.2f} + {p:.2f} s" for w, c, p in runs)
            print(f"  {name}: {figures}", file=sys.stderr, flush=True)
        session.rollback()
    print(f"\n{uptime()}")
    print(
        f"load average (1 min) during the measure: {min(loads):.1f}–{max(loads):.1f}, mean {statistics.mean(loads):.1f}\n"
    )
    print("| report | wall (run 1 / run 2) | CPU python + postgres (run 1 / run 2) |")
    print("|---|---|---|")
    for name, runs in rows:
        wall = " / ".join(f"{w:.2f} s" for w, _, _ in runs)
        cpu = " / ".join(f"{c:.2f} + {p:.2f} = {c + p:.2f} s" for _, c, p in runs)
        print(f"| {name} | {wall} | {cpu} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="load, copy, VACUUM ANALYZE (empties the database)")
    parser.add_argument("--load", action="store_true", help="only the growth run's load (a step of --build)")
    parser.add_argument("--households", type=int, default=100_000, help="households of the growth run's load")
    parser.add_argument("--copies", type=int, default=9, help="copies of the scheme added in SQL (default 9)")
    parser.add_argument("--copy", action="store_true", help="only the copy and VACUUM ANALYZE (a step of --build)")
    parser.add_argument("--refresh", action="store_true", help="the app's repair path (refresh-ledgers), timed")
    parser.add_argument("--check", action="store_true", help="the reports' totals against the scans they replace")
    parser.add_argument("--measure", action="store_true", help="time the reports and their parts")
    parser.add_argument("--year", type=int, default=2025, help="the year reported (the growth run's: 2025)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    url = os.environ.get("MHI_BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("set MHI_BENCH_DATABASE_URL to a PostgreSQL database")
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SECRET_KEY": "bench", "TESTING": True})
    print(f"machine: {os.cpu_count()} cores; {uptime()}", flush=True)
    started = time.perf_counter()
    if args.build or args.load:
        load(app, args.households, args.seed)
        print(f"load: {time.perf_counter() - started:.0f} s wall; {uptime()}", flush=True)
    if args.build or args.copy:
        with app.app_context():
            copy_scheme(db.session, args.copies)
            db.session.remove()
        vacuum_analyze(app)
        with app.app_context():
            print(sizes(db.session), flush=True)
            db.session.remove()
        print(f"build: {time.perf_counter() - started:.0f} s wall; {uptime()}", flush=True)
    if args.refresh:
        if refresh(app, date(args.year, 12, 31)):
            vacuum_analyze(app)
    if args.check:
        check_totals(app, args.year)
    if args.measure:
        measure(app, args.year)


if __name__ == "__main__":
    main()
