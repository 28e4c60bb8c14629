"""Benchmark of the largest claim the API accepts: MHI_MAX_CLAIM_LINES bill lines (200 by default) sent as JSON,
then its page opened. Target: the API answers and the claim page renders in under 300 ms (p95 over 20 views),
the page under 1 MB. One over the limit is refused with 400 (issue 18: a 400,000-line claim took 36 s to show).

    python bench/bench_claim_page.py
    MHI_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/mhi_bench python bench/bench_claim_page.py

Runs on a temporary SQLite file unless MHI_BENCH_DATABASE_URL is given (that database is emptied first).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from mhi import create_app, normalise_database_url  # noqa: E402
from mhi.auth.models import User  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.members.models import CoverageSpan, Household, Person  # noqa: E402
from mhi.schemes.models import Benefit, Product, ProductVersion, Provider, Scheme  # noqa: E402

PASSWORD = "bench horse battery 1"


def build(app) -> None:
    """A scheme with one product, a provider, a covered household and a claims officer."""
    with app.app_context():
        scheme = Scheme(
            code="BENCH", name="Bench", country="SN", currency="XOF", target_population=1000,
            opening_date=date(2024, 1, 1), opening_reserve=Decimal(0), opening_cash=Decimal(0), locale="fr_SN",
            settings={},
        )  # fmt: skip
        product = Product(scheme=scheme, code="BASE", name="Base")
        version = ProductVersion(
            product=product, effective_from=date(2024, 1, 1), basis="person", amount=Decimal(300), period_months=1,
            registration_fee=Decimal(0), waiting_period_days=0, grace_period_days=30, lapse_after_days=180,
            submission_limit_days=90,
        )  # fmt: skip
        version.benefits = [
            Benefit(position=0, code="HOSP", name="Hospital", kind="service", coverage_rate=Decimal("0.8"))
        ]
        db.session.add_all([scheme, product, version])
        db.session.flush()
        db.session.add(Provider(scheme_id=scheme.id, code="HR", name="Hospital", contract_from=date(2024, 1, 1)))
        household = Household(scheme_id=scheme.id, ref="H-1", product_id=product.id, enrolment_date=date(2024, 1, 1))
        db.session.add(household)
        db.session.flush()
        db.session.add(
            Person(scheme_id=scheme.id, household_id=household.id, member_no="H-1-01", first_name="Awa",
                   last_name="Ndiaye", sex="F", date_of_birth=date(1980, 1, 1), relation="head",
                   enrolment_date=date(2024, 1, 1))
        )  # fmt: skip
        db.session.add(CoverageSpan(scheme_id=scheme.id, household_id=household.id, start=date(2024, 1, 1)))
        db.session.add(
            User(email="officer@bench.org", name="Officer", role="claims_officer", locale="en", active=True,
                 scheme_id=scheme.id, password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1"))
        )  # fmt: skip
        db.session.commit()


def main() -> None:
    url = os.environ.get("MHI_BENCH_DATABASE_URL")
    folder = tempfile.mkdtemp()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(url) if url else f"sqlite:///{folder}/bench.sqlite",
        }
    )
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.create_all()
    build(app)
    limit = app.config["MHI_MAX_CLAIM_LINES"]
    client = app.test_client()
    client.post("/login", data={"email": "officer@bench.org", "password": PASSWORD})
    body = {
        "member_no": "H-1-01",
        "provider_code": "HR",
        "benefit_code": "HOSP",
        "date_of_service": "2026-01-10",
        "date_submitted": "2026-01-12",
        "diagnosis_code": "K35.8",
        "lines": [{"label": f"Item {n} — drugs and care", "amount": "1250"} for n in range(limit)],
    }
    started = time.perf_counter()
    created = client.post("/api/schemes/BENCH/claims", json=body)
    api_ms = (time.perf_counter() - started) * 1000
    assert created.status_code == 201, created.get_data(as_text=True)[:500]
    over = client.post("/api/schemes/BENCH/claims", json={**body, "lines": body["lines"] * 2 + body["lines"][:1]})
    assert over.status_code == 400, over.status_code
    page_url = created.get_json()["url"]
    timings, cpu, size = [], [], 0
    for _ in range(20):
        started, started_cpu = time.perf_counter(), time.process_time()
        page = client.get(page_url)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        size = len(page.data)
        assert page.status_code == 200
    p95 = statistics.quantiles(timings, n=20)[-1]
    # CPU time as well: on a shared machine the wall clock also counts the other processes' turns.
    print(f"{limit} lines: API {api_ms:.0f} ms; claim page p95 {p95:.0f} ms, median {statistics.median(timings):.0f} ms "
          f"(CPU median {statistics.median(cpu):.0f} ms), {size / 1024:.0f} KB; {limit * 2 + 1} lines refused with 400")  # fmt: skip
    ok = p95 < 300 and api_ms < 300 and size < 1024 * 1024
    print("target met" if ok else "TARGET MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
