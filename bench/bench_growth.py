"""How mhi grows: a growth run on PostgreSQL at several register sizes, every step timed (issue 17).

For each size N (households, about 5 persons each): the schema is emptied, a seeded register and a year of
monthly receipts are generated as CSV (bench_register.generate) with 10 claims per household-year, then timed:

1. members import (``flask import members``'s function, derived rows and stored ledgers included);
2. a year of receipts (``flask import contributions``'s function, idem);
3. the first scheme report after the imports (nothing left to rebuild: the imports stored the ledgers);
4. the same report warm, the federation report (the scheme and a 1,000-household sister scheme);
5. eligibility at the desk, p95 of 200 members; member search, p95 of 200 searches;
6. each report against a floor: the hand-written SQL queries, one per indicator (bench_indicators.floor_queries)
   plus one for the §6 sums over the stored ledgers.

The machine is shared: the load average (``uptime``) is printed beside every size, and each step's CPU seconds
beside its wall seconds — those of this process and of the PostgreSQL backends serving its database (read from
/proc; the server runs on the same machine) — since under other people's load the wall clock mostly counts waiting.

    MHI_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/mhi_bench .venv/bin/python \
        bench/bench_growth.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_indicators import floor_queries  # noqa: E402
from bench_register import FIRST, LAST, SCHEME, generate  # noqa: E402
from sqlalchemy import MetaData, select, text  # noqa: E402

from mhi import create_app, normalise_database_url  # noqa: E402
from mhi.claims.models import Claim  # noqa: E402
from mhi.claims.services import eligibility  # noqa: E402
from mhi.contributions.imports import import_contributions, import_register  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.core.tabular import ReadLimits, bulk_insert, read_table  # noqa: E402
from mhi.members.models import Person  # noqa: E402
from mhi.members.queries import search_register  # noqa: E402
from mhi.reports import indicators as ind  # noqa: E402
from mhi.reports import ledgers  # noqa: E402
from mhi.schemes.models import Federation, Scheme  # noqa: E402
from mhi.schemes.services import load_federation, load_scheme  # noqa: E402

F, T = date(2025, 1, 1), date(2025, 12, 31)
CLAIMS_PER_HOUSEHOLD_YEAR = 10
NATIONAL_LIMITS = ReadLimits(max_bytes=10**12, max_rows=10**9, max_cells=10**11)

#: The §6 sums a report takes from the stored ledgers, by hand: one pass over the periods, one over the households.
LEDGER_FLOOR = """
SELECT days, sum(gross), sum(member_due) FROM report_period WHERE scheme_id = :s AND start <= :t
    AND "end" > :f AND paid_on <= :t GROUP BY days;
SELECT count(*), sum(registration_fee) FROM report_household WHERE scheme_id = :s AND enrolment BETWEEN :f AND :t
"""


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name (empty when the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0


def _ended_ticks(pid: int) -> int:
    """cutime + cstime of a process: the CPU of its children that have ended, in clock ticks."""
    fields = _stat(pid)
    return int(fields[13]) + int(fields[14]) if fields else 0


class Cost:
    """Wall seconds, this process's CPU seconds and the PostgreSQL backends' CPU seconds of one step.

    Processes that end within the step count too: this process's children (the members import forks some to
    share its scan of the register, ``core.db.split_over_processes``), and the backends that served them, whose
    CPU the server's postmaster collects when they end (so the server's own background processes that end within
    the step count as well; on this machine they are few)."""

    def __init__(self, session):
        self.session = session
        self.wall, self.cpu = time.perf_counter(), self._python()
        self.backends, self.ended = self._backends()

    @staticmethod
    def _python() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def _backends(self) -> tuple[dict[int, int], int]:
        pids = self.session.scalars(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
            )
        ).all()
        postmaster = int(_stat(pids[0])[1]) if pids and _stat(pids[0]) else 0  # its parent
        return {pid: _ticks(pid) for pid in pids}, _ended_ticks(postmaster) if postmaster else 0

    def done(self) -> tuple[float, float, float]:
        """(wall, python cpu, postgres cpu) seconds since the start."""
        wall, cpu = time.perf_counter() - self.wall, self._python() - self.cpu
        after, ended = self._backends()
        # A backend of the start that has ended is in ``ended`` whole: its ticks before the step come off.
        ticks = sum(t - self.backends.get(pid, 0) for pid, t in after.items()) + ended - self.ended
        ticks -= sum(t for pid, t in self.backends.items() if pid not in after)
        return wall, cpu, ticks / os.sysconf("SC_CLK_TCK")

    def text(self) -> str:
        wall, cpu, pg = self.done()
        return f"{wall:.2f} s wall; cpu {cpu:.2f} s python + {pg:.2f} s postgres = {cpu + pg:.2f} s"


def uptime() -> str:
    """The machine's load average, as ``uptime`` prints it."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def p95(values: list[float]) -> float:
    """95th percentile in milliseconds."""
    return statistics.quantiles(values, n=20)[-1] * 1000


def empty_schema() -> None:
    """Drop every table (those of older schemas too) and create the current schema."""
    db.session.remove()
    found = MetaData()
    found.reflect(db.engine)
    found.drop_all(db.engine)
    db.create_all()


def claims_rows(session, scheme: Scheme, households: int, seed: int, chunk: int = 200_000):
    """10 claims per household-year over the scheme's persons: mostly approved, some reduced or rejected; yielded
    in chunks, so that 10 M claims never sit in memory at once."""
    rng = random.Random(seed)
    persons = session.execute(select(Person.id, Person.member_no).where(Person.scheme_id == scheme.id)).all()
    rows = []
    for n in range(households * CLAIMS_PER_HOUSEHOLD_YEAR):
        person_id, member_no = rng.choice(persons)
        service = F + timedelta(days=rng.randrange(0, 360))
        submitted = service + timedelta(days=rng.randrange(0, 20))
        claimed = Decimal(rng.choice((2000, 3500, 5000, 12000, 25000)))
        kind = rng.random()
        status = "REJECTED" if kind < 0.08 else ("REDUCED" if kind < 0.2 else "APPROVED")
        approved = Decimal(0) if status == "REJECTED" else claimed * Decimal("0.8")
        paid = submitted + timedelta(days=rng.randrange(5, 60)) if status != "REJECTED" else None
        rows.append(
            {
                "scheme_id": scheme.id,
                "claim_ref": f"CL{n:09d}",
                "member_no": member_no,
                "person_id": person_id,
                "provider_code": "",
                "benefit_code": "OPD",
                "date_of_service": service,
                "date_submitted": submitted,
                "recorded_on": submitted,
                "amount_claimed": claimed,
                "diagnosis_code": "",
                "guarantee_ref": "",
                "source": "import",
                "status": status,
                "amount_approved": approved,
                "reasons": "",
                "overridden": False,
                "awaiting_approval": False,
                "paid_on": paid if paid is None or paid <= T else None,
            }
        )
        if len(rows) == chunk:
            yield rows
            rows = []
    if rows:
        yield rows


def _versus(report: tuple, floor: tuple) -> str:
    """A report's cost beside its floor's: wall and CPU (python + postgres), and the CPU ratio."""
    cpu, floor_cpu = report[1] + report[2], floor[1] + floor[2]
    return (
        f"{report[0]:.2f} s wall, cpu {cpu:.2f} s; floor {floor[0]:.2f} s wall, cpu {floor_cpu:.2f} s; "
        f"ratio {cpu / floor_cpu:.2f} (cpu), {report[0] / floor[0]:.2f} (wall)"
    )


def floor_seconds(session, scheme, repeat: int = 2) -> float:
    """The hand-written SQL floor of one scheme's report (best of ``repeat``)."""
    params = {"s": scheme.id, "f": F, "t": T, "t1": T + timedelta(days=1), "o": scheme.opening_date}
    statements = [sql for _, sql in floor_queries(session.get_bind().dialect.name)]
    statements += [s for s in LEDGER_FLOOR.split(";") if s.strip()]
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        for sql in statements:
            session.execute(text(sql), params).all()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best


def split_by_household(path: Path, households: int):
    """Yield ``path`` (a CSV ordered by household_ref, as bench_register writes it) as files of at most
    ``households`` households, each with the header."""
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        header = next(reader)
        column = header.index("household_ref")
        part, target, writer, seen, last = 0, None, None, 0, None
        part_path = path
        for row in reader:
            if row[column] != last:
                last = row[column]
                seen += 1
                if writer is None or seen > households:
                    if target is not None:
                        target.close()
                        yield part_path
                    part += 1
                    seen = 1
                    part_path = path.with_name(f"{path.stem}-{part:03d}.csv")
                    target = part_path.open("w", encoding="utf-8", newline="")
                    writer = csv.writer(target)
                    writer.writerow(header)
            writer.writerow(row)
        if target is not None:
            target.close()
            yield part_path


class _Lines(list):
    """The step lines of one size, also printed as they come (a 1,000,000-household run takes an hour)."""

    def __init__(self, households: int) -> None:
        super().__init__()
        self.households = households

    def append(self, line: tuple[str, str]) -> None:
        super().append(line)
        print(f"  [{self.households:,}] {line[0]}: {line[1]}", file=sys.stderr, flush=True)


def run_size(
    app,
    households: int,
    seed: int,
    folder: Path,
    file_households: int = 100_000,
    *,
    imports_only: bool = False,
    members_only: bool = False,
    villages: int = 200,
) -> list[tuple[str, str]]:
    """Load a register of ``households`` and time every step; returns (step, figure) lines (each imported file's
    cost is printed as it comes). ``members_only``: stop after the members import; ``imports_only``: after the
    receipts; ``villages``: the register's villages (bench_register.generate)."""
    out = _Lines(households)
    out.append(("load before", uptime().split("load average:")[-1].strip()))
    started = time.perf_counter()
    members_path, receipts_path, persons, receipts = generate(folder, households, seed, villages)
    out.append(("generated", f"{persons:,} persons, {receipts:,} receipts in {time.perf_counter() - started:.0f} s"))
    with app.app_context():
        empty_schema()
        session = db.session
        load_federation(session, {"code": "GROW", "name": "Growth", "currency": "XOF"}, today=F)
        load_scheme(session, {**SCHEME, "federation": "GROW"}, today=date(2024, 1, 1))
        sister = {**SCHEME, "code": "SISTER", "name": "Sister scheme", "federation": "GROW"}
        load_scheme(session, sister, today=date(2024, 1, 1))
        session.commit()
        scheme = session.scalar(select(Scheme).where(Scheme.code == "BENCH"))

        def timed_import(importer, path: Path, target: Scheme, label: str | None = None):
            """Import ``path`` as files of at most ``file_households`` households each, as a national register
            arrives (a file stays under MHI_IMPORT_MAX_ROWS and the import's memory stays flat); one cost. With
            ``label``, each file's cost is printed too: a file's work should depend on the file only, so the
            last file should cost what the first did."""
            cost = Cost(session)
            added = 0
            pairs = 0
            for part in split_by_household(path, file_households):
                file_cost = Cost(session)
                table = read_table(part, limits=NATIONAL_LIMITS)
                result = importer(session, target, table.header, table.rows, dry_run=False, file=part.name)
                assert result.ok, [str(p) for p in result.problems[:5]]
                session.commit()
                added += result.added
                found = len(getattr(result, "duplicates", None) or ())
                pairs += found
                if label:
                    duplicates = f", {found:,} likely duplicates" if found else ""
                    print(
                        f"  [{households:,}] {label} {part.name} ({result.added:,}{duplicates}): {file_cost.text()}",
                        file=sys.stderr,
                        flush=True,
                    )
                del table, result
                part.unlink()
            return cost.text() + (f"; {pairs:,} likely duplicates" if pairs else ""), added

        figures, added = timed_import(import_register, members_path, scheme, "members")
        out.append((f"members import ({added:,} persons)", figures))
        if members_only:
            session.rollback()
            db.session.remove()
            out.append(("load after", uptime().split("load average:")[-1].strip()))
            return out
        figures, added = timed_import(import_contributions, receipts_path, scheme, "receipts")
        out.append((f"a year of receipts ({added:,})", figures))
        if imports_only:
            session.rollback()
            db.session.remove()
            out.append(("load after", uptime().split("load average:")[-1].strip()))
            return out

        small = folder / "sister"
        small.mkdir(exist_ok=True)
        sister_members, sister_receipts, _, _ = generate(small, 1000, seed + 1)
        sister_scheme = session.scalar(select(Scheme).where(Scheme.code == "SISTER"))
        timed_import(import_register, sister_members, sister_scheme)
        timed_import(import_contributions, sister_receipts, sister_scheme)

        cost = Cost(session)
        loaded = 0
        for chunk in claims_rows(session, scheme, households, seed):
            bulk_insert(session, Claim.__table__, chunk)
            loaded += len(chunk)
        session.execute(text("ANALYZE claim"))
        session.commit()
        out.append((f"claims loaded ({loaded:,}, COPY; not an app step)", cost.text()))

        assert ledgers.covers(session, scheme, T), "the imports left ledgers to build"
        cost = Cost(session)
        ind.scheme_indicators(session, scheme, F, T)
        out.append(("first scheme report after the imports", cost.text()))
        session.rollback()
        cost = Cost(session)
        ind.scheme_indicators(session, scheme, F, T)
        warm = cost.done()
        cost = Cost(session)
        floor_seconds(session, scheme, repeat=1)
        floor = cost.done()
        out.append(("scheme report, warm", _versus(warm, floor)))
        federation = session.scalar(select(Federation).where(Federation.code == "GROW"))
        session.rollback()
        cost = Cost(session)
        ind.federation_indicators(session, federation, F, T)
        federal = cost.done()
        cost = Cost(session)
        floor_seconds(session, scheme, repeat=1)
        floor_seconds(session, sister_scheme, repeat=1)
        federal_floor = cost.done()
        out.append(("federation report (2 schemes)", _versus(federal, federal_floor)))
        session.rollback()

        rng = random.Random(seed + 2)
        members = list(session.scalars(select(Person.member_no).where(Person.scheme_id == scheme.id).limit(200_000)))
        timings = []
        cost = Cost(session)
        for member_no in rng.sample(members, 200):
            session.expire_all()
            started = time.perf_counter()
            eligibility(session, scheme, member_no, date(2025, 9, 15))
            timings.append(time.perf_counter() - started)
        _, cpu, pg = cost.done()
        out.append(("eligibility, p95 of 200", f"{p95(timings):.1f} ms wall; mean cpu {(cpu + pg) * 5:.1f} ms"))
        timings = []
        cost = Cost(session)
        for i in range(200):
            kind = i % 4
            if kind == 0:
                query = rng.choice(LAST)[: rng.randrange(3, 6)]
            elif kind == 1:
                query = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            elif kind == 2:
                query = f"HH{rng.randrange(1, households + 1):06d}-01"
            else:
                query = rng.choice(FIRST)[:4].lower()
            started = time.perf_counter()
            search_register(session, scheme.id, query)
            timings.append(time.perf_counter() - started)
        _, cpu, pg = cost.done()
        out.append(("member search, p95 of 200", f"{p95(timings):.1f} ms wall; mean cpu {(cpu + pg) * 5:.1f} ms"))
        sizes = session.execute(
            text(
                "SELECT pg_size_pretty(pg_database_size(current_database())), "
                "(SELECT count(*) FROM report_period), (SELECT count(*) FROM coverage_span)"
            )
        ).one()
        out.append(("database size; stored periods; spans", f"{sizes[0]}; {sizes[1]:,}; {sizes[2]:,}"))
        session.rollback()
        db.session.remove()
    out.append(("load after", uptime().split("load average:")[-1].strip()))
    return out


def main() -> None:
    """Run each size in turn and print a table per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument(
        "--file-households", type=int, default=100_000, help="households per imported file (default 100,000)"
    )
    parser.add_argument(
        "--imports-only", action="store_true", help="stop after the members and receipts imports (their per-file costs)"
    )
    parser.add_argument("--members-only", action="store_true", help="stop after the members import")
    parser.add_argument(
        "--villages", type=int, default=200, help="villages the households are drawn from (default 200)"
    )
    args = parser.parse_args()
    url = os.environ.get("MHI_BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("set MHI_BENCH_DATABASE_URL to a PostgreSQL database (it is emptied)")
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SECRET_KEY": "bench", "TESTING": True})
    print(f"machine: {os.cpu_count()} cores; {uptime()}")
    for households in args.sizes:
        folder = Path(tempfile.mkdtemp(prefix="mhi-growth-"))
        try:
            lines = run_size(
                app,
                households,
                args.seed,
                folder,
                args.file_households,
                imports_only=args.imports_only,
                members_only=args.members_only,
                villages=args.villages,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        width = max(len(name) for name, _ in lines)
        print(f"\n{households:,} households")
        for name, value in lines:
            print(f"  {name.ljust(width)}  {value}", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {'peak memory of this process'.ljust(width)}  {peak:,.0f} MB", flush=True)


if __name__ == "__main__":
    main()
