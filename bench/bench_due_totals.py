"""The §6 household sums of a scheme report (dues of the period paid, arrears, registration sums) from the household
scan against the due totals (``ReportDueTotal``), on the growth run's database (bench_growth.py --imports-only left
it filled): wall, python and PostgreSQL CPU seconds, best of three, for the year and a month of bench_growth's F–T.

    MHI_BENCH_DATABASE_URL=postgresql+psycopg://… python bench/bench_due_totals.py
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from bench.bench_growth import Cost, uptime  # noqa: E402
from mhi import create_app, normalise_database_url  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.reports import ledgers, queries  # noqa: E402
from mhi.schemes.models import Scheme  # noqa: E402

WINDOWS = {"year 2025": (date(2025, 1, 1), date(2025, 12, 31)), "month 2025-06": (date(2025, 6, 1), date(2025, 6, 30))}


def best(session, run) -> tuple[float, float, float]:
    """(wall, python cpu, postgres cpu) of the fastest of three runs, each in its own transaction."""
    results = []
    for _ in range(3):
        queries.prepare(session)
        cost = Cost(session)
        run()
        results.append(cost.done())
        session.rollback()
    return min(results)


def main() -> None:
    url = os.environ.get("MHI_BENCH_DATABASE_URL")
    if not url:
        sys.exit("set MHI_BENCH_DATABASE_URL")
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url), "SECRET_KEY": "bench", "TESTING": True})
    print(uptime())
    with app.app_context():
        session = db.session
        scheme = session.scalar(select(Scheme).where(Scheme.code == "BENCH"))
        print("totals whole:", ledgers.totals_whole(session, scheme))
        for name, window in WINDOWS.items():
            opening = scheme.opening_date
            scan = ledgers._household_sums(session, scheme.id, [window], opening)
            totals = ledgers._total_sums(session, scheme.id, [window], opening)
            assert [tuple(int(v or 0) for v in row) for row in scan] == [
                tuple(int(v or 0) for v in row) for row in totals
            ], (scan, totals)
            for label, run in (
                ("household scan", lambda w=window, o=opening: ledgers._household_sums(session, scheme.id, [w], o)),
                ("due totals", lambda w=window, o=opening: ledgers._total_sums(session, scheme.id, [w], o)),
                (
                    "all §6 amounts, scan",
                    lambda w=window, o=opening: ledgers.contribution_amounts(session, scheme, *w, o, totals=False),
                ),
                (
                    "all §6 amounts, totals",
                    lambda w=window, o=opening: ledgers.contribution_amounts(session, scheme, *w, o),
                ),
            ):
                wall, cpu, pg = best(session, run)
                print(f"{name:14} {label:24} {wall:6.2f} s wall; cpu {cpu:.2f} s python + {pg:.2f} s postgres")
    print(uptime())


if __name__ == "__main__":
    main()
