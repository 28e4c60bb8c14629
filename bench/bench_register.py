"""Benchmark of the register and contributions at a large scheme's size.

Generates (seeded) a register of N households (about 5 persons each) with one year of monthly receipts as CSV
files in a temporary folder, imports them through the same functions as ``flask import``, and times:
members import (target < 60 s at 100,000 households), receipts import (< 120 s), member search by name or
number (p95 < 50 ms over 200 searches), household account page data (p95 < 100 ms), and the coverage of every
household on a date (< 10 s, SQL over the stored spans).

    python bench/bench_register.py --households 100000
    MHI_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/mhi_bench python bench/bench_register.py

Runs on a temporary SQLite file unless MHI_BENCH_DATABASE_URL is given (that database is emptied first).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, or_, select, text  # noqa: E402

from mhi import create_app, normalise_database_url  # noqa: E402
from mhi.contributions.imports import import_contributions  # noqa: E402
from mhi.contributions.imports import import_register as import_members  # noqa: E402
from mhi.contributions.models import CoverageSpan  # noqa: E402
from mhi.contributions.services import household_account  # noqa: E402
from mhi.core.dates import add_months  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.core.tabular import read_table  # noqa: E402
from mhi.members.models import Household  # noqa: E402
from mhi.members.queries import search_register  # noqa: E402
from mhi.schemes.models import Scheme  # noqa: E402
from mhi.schemes.services import load_scheme  # noqa: E402

LAST = (
    "Ndiaye Diop Fall Sow Ba Sy Diallo Faye Gueye Ndour Sarr Mbaye Cisse Seck Kane Thiam Toure Diouf Niang Sene "
    "Camara Dieng Lo Wade Ka Gaye Diagne Badji Mane Sagna Tall Dia Mendy Gomis Cisse Samb Thiaw Kebe Lam Sall"
).split()
FIRST = (
    "Awa Fatou Aminata Mariama Aissatou Khady Adama Ndeye Coumba Astou Mame Dieynaba Binta Rokhaya Seynabou "
    "Moussa Mamadou Ibrahima Cheikh Abdoulaye Ousmane Modou Malick Babacar Souleymane Amadou Aliou Pape Lamine "
    "Issa Omar Saliou Serigne Assane Alassane Boubacar Demba Samba Youssou Idrissa Yacine Oumou Sokhna Penda"
).split()
SCHEME = {
    "code": "BENCH",
    "name": "Mutuelle de benchmark",
    "country": "SN",
    "currency": "XOF",
    "target_population": 600000,
    "opening_date": "2024-01-01",
    "products": [
        {
            "code": "BASE",
            "name": "Paquet de base",
            "contribution": {"basis": "person", "amount": "300", "period": "month", "registration_fee": "1000"},
            "waiting_period_days": 90,
            "grace_period_days": 30,
            "lapse_after_days": 180,
            "benefits": [{"code": "OPD", "name": "Consultation", "kind": "service", "coverage_rate": "0.8"}],
        }
    ],
    "subsidy_programmes": [
        {
            "code": "CMU-IND",
            "funder": "Etat",
            "categories": ["indigent"],
            "share": "0.5",
            "valid_from": "2024-01-01",
            "valid_to": None,
        }
    ],
}


def generate(folder: Path, households: int, seed: int, villages: int = 200) -> tuple[Path, Path, int, int]:
    """members.csv and contributions.csv of a seeded register; returns the paths and the row counts.

    ``villages``: how many villages the households are drawn from (200 by default, the figures of docs/scale.md
    unless they say otherwise). At 1,000,000 households 200 villages is 25,000 persons a village; a national
    register spreads as many households over thousands of villages (Senegal: about 14,000 for 1.9 M
    households), which is what the likely-duplicate check's similar-name buckets (village, sex, birth date)
    depend on."""
    rng = random.Random(seed)
    members_path, receipts_path = folder / "members.csv", folder / "contributions.csv"
    persons = receipts = 0
    villages = [f"Village {i:05d}" if villages > 1000 else f"Village {i:03d}" for i in range(villages)]
    with (
        members_path.open("w", newline="", encoding="utf-8") as m,
        receipts_path.open("w", newline="", encoding="utf-8") as r,
    ):
        mw, rw = csv.writer(m), csv.writer(r)
        mw.writerow(
            "household_ref,member_no,first_name,last_name,sex,date_of_birth,relationship,enrolment_date,"
            "exit_date,product_code,category,village,phone,national_id".split(",")
        )
        rw.writerow(["receipt_no", "household_ref", "date", "amount", "method", "collector"])
        for h in range(1, households + 1):
            ref = f"HH{h:06d}"
            enrolment = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 28))
            last = rng.choice(LAST)
            village = rng.choice(villages)
            size = rng.choice((1, 2, 3, 4, 5, 5, 6, 6, 7, 8, 9))
            category = "indigent" if rng.random() < 0.1 else ""
            for p in range(size):
                relation = "head" if p == 0 else ("spouse" if p == 1 else "child")
                born = date(1960 + rng.randrange(0, 40), rng.randrange(1, 13), rng.randrange(1, 29))
                if relation == "child":
                    born = date(2005 + rng.randrange(0, 19), rng.randrange(1, 13), rng.randrange(1, 29))
                phone = f"+221 7{rng.randrange(0, 9)} {rng.randrange(100, 999)} {rng.randrange(10, 99)} {rng.randrange(10, 99)}"
                mw.writerow(
                    [
                        ref,
                        f"{ref}-{p + 1:02d}",
                        rng.choice(FIRST),
                        last,
                        "M" if rng.random() < 0.5 else "F",
                        born.isoformat(),
                        relation,
                        enrolment.isoformat(),
                        "",
                        "BASE" if p == 0 else "",
                        category if p == 0 else "",
                        village,
                        phone if p < 2 else "",
                        "",
                    ]
                )
                persons += 1
            monthly = 300 * size // (2 if category else 1)
            fee = 1000 // (2 if category else 1)
            # One year of monthly payments, with some households paying late or stopping.
            stop = 12 if rng.random() < 0.8 else rng.randrange(1, 12)
            for k in range(stop):
                day = add_months(enrolment, k) + timedelta(days=rng.randrange(0, 20))
                receipts += 1
                rw.writerow(
                    [
                        f"RC{receipts:08d}",
                        ref,
                        day.isoformat(),
                        monthly + (fee if k == 0 else 0),
                        "cash" if rng.random() < 0.7 else "mobile_money",
                        "",
                    ]
                )
    return members_path, receipts_path, persons, receipts


def p95(values: list[float]) -> float:
    """The 95th percentile, in milliseconds."""
    return statistics.quantiles(values, n=20)[-1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20260114)
    parser.add_argument("--keep", action="store_true", help="keep the generated files (and SQLite database)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="mhi-bench-"))
    url = os.environ.get("MHI_BENCH_DATABASE_URL")
    url = normalise_database_url(url) if url else f"sqlite:///{folder / 'bench.sqlite'}"
    started = time.perf_counter()
    members_path, receipts_path, persons, receipts = generate(folder, args.households, args.seed)
    generated = time.perf_counter() - started

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    results: list[tuple[str, str, str]] = []
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
        session = db.session
        load_scheme(session, SCHEME, today=date(2024, 1, 1))
        session.commit()
        scheme = session.scalar(select(Scheme).where(Scheme.code == "BENCH"))

        def timed_import(importer, path: Path):
            start, cpu = time.perf_counter(), time.process_time()
            table = read_table(path)
            result = importer(session, scheme, table.header, table.rows, dry_run=False, file=path.name)
            assert result.ok, [str(p) for p in result.problems[:5]]
            session.commit()
            return time.perf_counter() - start, time.process_time() - cpu, result

        # CPU time beside the wall clock: on a shared machine the wall clock also counts other processes.
        seconds, cpu, result = timed_import(import_members, members_path)
        results.append((f"members import ({result.added:,} persons)", f"{seconds:.1f} s", f"< 60 s (cpu {cpu:.1f} s)"))
        seconds, cpu, result = timed_import(import_contributions, receipts_path)
        results.append(
            (f"receipts import ({result.added:,} receipts)", f"{seconds:.1f} s", f"< 120 s (cpu {cpu:.1f} s)")
        )

        rng = random.Random(args.seed + 1)
        queries = []
        for i in range(200):
            kind = i % 4
            if kind == 0:
                queries.append(rng.choice(LAST)[: rng.randrange(3, 6)])
            elif kind == 1:
                queries.append(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
            elif kind == 2:
                queries.append(f"HH{rng.randrange(1, args.households + 1):06d}-01")
            else:
                queries.append(rng.choice(FIRST)[:4].lower())
        timings = []
        found = 0
        for query in queries:
            start = time.perf_counter()
            page = search_register(session, scheme.id, query)
            timings.append(time.perf_counter() - start)
            found += bool(page.items)
        results.append((f"member search, p95 of 200 ({found} found)", f"{p95(timings):.1f} ms", "< 50 ms"))

        ids = list(session.scalars(select(Household.id).where(Household.scheme_id == scheme.id)))
        timings = []
        for hid in rng.sample(ids, 200):
            session.expire_all()
            start = time.perf_counter()
            household_account(session, session.get(Household, hid), date(2025, 9, 15))
            timings.append(time.perf_counter() - start)
        results.append(("household account, p95 of 200", f"{p95(timings):.1f} ms", "< 100 ms"))

        day = date(2025, 9, 15)
        start = time.perf_counter()
        covered = session.scalar(
            select(func.count(func.distinct(CoverageSpan.household_id))).where(
                CoverageSpan.scheme_id == scheme.id,
                CoverageSpan.start <= day,
                or_(CoverageSpan.end.is_(None), CoverageSpan.end > day),
            )
        )
        seconds = time.perf_counter() - start
        results.append((f"coverage on {day} ({covered:,} households)", f"{seconds * 1000:.0f} ms", "< 10 s"))
        dialect = db.engine.dialect.name
        db.session.remove()
        db.engine.dispose()

    print(
        f"\nmhi register benchmark — {args.households:,} households, {persons:,} persons, {receipts:,} receipts, "
        f"{dialect} (files generated in {generated:.1f} s)"
    )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    width = max(len(r[0]) for r in results)
    print(f"{'measure'.ljust(width)}  {'result':>10}  target")
    for name, value, target in results:
        print(f"{name.ljust(width)}  {value:>10}  {target}")


if __name__ == "__main__":
    main()
