"""Member search at national scale (issue 17): a register of N households written by SQL, then the growth run's
search mix timed, warm, without the hour-long growth run.

The register has bench_register's shape (households of 1–9 persons sharing a last name, 40 last names, 44 first
names, 200 villages, phones on the first two persons) and its member numbers and household references
(HH000001-01), but is written by ``INSERT … SELECT generate_series`` in a couple of minutes instead of through the
importers; search reads nothing else. A 1,000-household sister scheme shares the tables, as in the growth run.

    MHI_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/mhi_bench .venv/bin/python \
        bench/bench_search.py --households 1000000          # build (empties the database), then time
    … bench/bench_search.py --households 1000000 --keep     # time the register already there
    … bench/bench_search.py --households 1000000 --keep --explain 5   # and EXPLAIN ANALYZE the 5 slowest

The mix is bench_growth's: a quarter each of a last-name start (3–5 letters), "first last", a member number
and a first-name start (4 letters, lower case). Each search runs once untimed (warm cache) and is then timed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_growth import Cost, empty_schema, uptime  # noqa: E402
from bench_register import FIRST, LAST, SCHEME  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

from mhi import create_app, normalise_database_url  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.members.queries import search_register  # noqa: E402
from mhi.schemes.models import Product, Scheme  # noqa: E402
from mhi.schemes.services import load_scheme  # noqa: E402

#: Households and persons in SQL, with bench_register.generate's distributions.
REGISTER_SQL = """
CREATE TEMP TABLE gen_household AS
SELECT h,
       (CAST(:last AS text[]))[1 + floor(random() * :n_last)::int] AS last_name,
       'Village ' || lpad(floor(random() * 200)::int::text, 3, '0') AS village,
       (ARRAY[1, 2, 3, 4, 5, 5, 6, 6, 7, 8, 9])[1 + floor(random() * 11)::int] AS size,
       DATE '2025-01-01' + floor(random() * 28)::int AS enrolment
FROM generate_series(1, :households) AS h;

INSERT INTO household (scheme_id, ref, product_id, category, village, phone, language, enrolment_date, created_at)
SELECT :scheme, 'HH' || lpad(h::text, greatest(6, length(h::text)), '0'), :product, 'standard', village, '', '', enrolment, now()
FROM gen_household ORDER BY h;

INSERT INTO person (scheme_id, household_id, member_no, first_name, last_name, sex, date_of_birth, relationship,
                    enrolment_date, exit_reason, village, phone, national_id, last_key, first_key, phone_key)
SELECT :scheme, hh.id, hh.ref || '-' || lpad(p::text, 2, '0'), f.first_name, g.last_name,
       CASE WHEN random() < 0.5 THEN 'M' ELSE 'F' END,
       CASE WHEN p > 2 THEN DATE '2005-01-01' + floor(random() * 6900)::int
            ELSE DATE '1960-01-01' + floor(random() * 14600)::int END,
       CASE p WHEN 1 THEN 'head' WHEN 2 THEN 'spouse' ELSE 'child' END,
       g.enrolment, '', g.village, CASE WHEN p <= 2 THEN ph.phone ELSE '' END, '',
       lower(g.last_name), lower(f.first_name),
       CASE WHEN p <= 2 THEN right(regexp_replace(ph.phone, '[^0-9]', '', 'g'), 9) ELSE '' END
FROM gen_household g
JOIN household hh ON hh.scheme_id = :scheme AND hh.ref = 'HH' || lpad(g.h::text, greatest(6, length(g.h::text)), '0')
CROSS JOIN LATERAL generate_series(1, g.size) AS p
CROSS JOIN LATERAL (SELECT (CAST(:first AS text[]))[1 + floor(random() * :n_first + p * 0)::int] AS first_name) f
CROSS JOIN LATERAL (
    SELECT '+221 7' || floor(random() * 9 + p * 0)::int || ' ' || (100 + floor(random() * 899)::int) || ' '
           || (10 + floor(random() * 89)::int) || ' ' || (10 + floor(random() * 89)::int) AS phone
) ph
ORDER BY g.h, p;

DROP TABLE gen_household
"""


def build(session, households: int, seed: int) -> None:
    """Empty the database and write the BENCH register of ``households`` and a 1,000-household SISTER scheme."""
    empty_schema()
    load_scheme(session, SCHEME, today=date(2024, 1, 1))
    load_scheme(session, {**SCHEME, "code": "SISTER", "name": "Sister scheme"}, today=date(2024, 1, 1))
    session.commit()
    session.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    for code, size in (("BENCH", households), ("SISTER", 1000)):
        scheme = session.scalar(select(Scheme).where(Scheme.code == code))
        product = session.scalar(select(Product.id).where(Product.scheme_id == scheme.id))
        params = {
            "scheme": scheme.id,
            "product": product,
            "households": size,
            "last": LAST,
            "n_last": len(LAST),
            "first": FIRST,
            "n_first": len(FIRST),
        }
        for statement in REGISTER_SQL.split(";"):
            if statement.strip():
                session.execute(text(statement), params)
        session.commit()
    session.execute(text("ANALYZE household"))
    session.execute(text("ANALYZE person"))
    session.commit()


def searches(households: int, count: int, seed: int) -> list[str]:
    """bench_growth's search mix."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            out.append(rng.choice(LAST)[: rng.randrange(3, 6)])
        elif kind == 1:
            out.append(f"{rng.choice(FIRST)} {rng.choice(LAST)}")
        elif kind == 2:
            out.append(f"HH{rng.randrange(1, households + 1):06d}-01")
        else:
            out.append(rng.choice(FIRST)[:4].lower())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--keep", action="store_true", help="time the register already in the database")
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE the statements of the N slowest")
    args = parser.parse_args()
    url = os.environ.get("MHI_BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        sys.exit("set MHI_BENCH_DATABASE_URL to a PostgreSQL database (it is emptied unless --keep)")
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SECRET_KEY": "bench", "TESTING": True})
    print(f"machine: {os.cpu_count()} cores; {uptime()}")
    with app.app_context():
        session = db.session
        if not args.keep:
            started = time.perf_counter()
            build(session, args.households, args.seed)
            print(f"built in {time.perf_counter() - started:.0f} s")
        persons = session.scalar(text("SELECT count(*) FROM person"))
        print(
            f"persons: {persons:,}; database {session.scalar(text('SELECT pg_size_pretty(pg_database_size(current_database()))'))}"
        )
        scheme = session.scalar(select(Scheme).where(Scheme.code == "BENCH"))
        mix = searches(args.households, args.searches, args.seed + 2)
        for query in mix:  # warm
            search_register(session, scheme.id, query)
        timings = []
        cost = Cost(session)
        for query in mix:
            started = time.perf_counter()
            search_register(session, scheme.id, query)
            timings.append(time.perf_counter() - started)
        _, cpu, pg = cost.done()
        ms = [t * 1000 for t in timings]
        print(
            f"{len(mix)} searches: p95 {statistics.quantiles(ms, n=20)[-1]:.1f} ms wall, mean {statistics.mean(ms):.1f} ms, "
            f"max {max(ms):.1f} ms; mean cpu {(cpu + pg) * 1000 / len(mix):.1f} ms (python + postgres)"
        )
        names = ("last-name start", "first last", "member number", "first-name start")
        for kind, name in enumerate(names):
            mine = ms[kind::4]
            print(
                f"  {name:17} p95 {statistics.quantiles(mine, n=20)[-1]:7.1f} ms, mean {statistics.mean(mine):6.1f} ms, "
                f"max {max(mine):7.1f} ms"
            )
        print(f"load: {uptime().split('load average:')[-1].strip()}")
        if args.explain:
            slowest = sorted(range(len(mix)), key=lambda i: -timings[i])[: args.explain]
            statements = []

            def grab(conn, cursor, statement, parameters, context, executemany):
                statements.append((statement, parameters))

            for i in slowest:
                print(f"\n=== {mix[i]!r}: {ms[i]:.1f} ms")
                statements.clear()
                connection = session.connection()
                event.listen(connection, "before_cursor_execute", grab)
                try:
                    search_register(session, scheme.id, mix[i])
                finally:
                    event.remove(connection, "before_cursor_execute", grab)
                raw = connection.connection.driver_connection
                for statement, parameters in statements:
                    with raw.cursor() as cursor:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                        print("\n".join(row[0] for row in cursor.fetchall()), "\n")
        session.rollback()


if __name__ == "__main__":
    main()
