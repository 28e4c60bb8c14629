"""Time the monitoring indicators on a large register (indicators.md; targets < 2 s PostgreSQL, < 5 s SQLite).

1. One scheme-year of a 100,000-household register with 1,000,000 claims: ``scheme_indicators`` in full, and its
   steps (SQL aggregates; the contributions engine over the bulk-loaded households).
2. The federation report over 10 schemes (10,000 households and 100,000 claims each by default).
3. A floor: the same SQL-side figures by one hand-written SQL query per indicator, and the ratio to it.

Run from the repository root::

    .venv/bin/python bench/bench_indicators.py                       # SQLite file in /tmp
    .venv/bin/python bench/bench_indicators.py --database postgresql+psycopg://postgres@127.0.0.1:5432/mhi_bench
    .venv/bin/python bench/bench_indicators.py --scale 0.1           # a tenth of the sizes, for a quick look

The register is generated once per database (``--rebuild`` to start again): a seeded random mix of regular
payers, late payers and drop-outs, fully subsidised households, joiners and leavers; coverage spans come from
``refresh_households`` like in the application.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402

from mhi import create_app  # noqa: E402
from mhi.claims.models import Claim  # noqa: E402
from mhi.contributions.models import Receipt  # noqa: E402
from mhi.contributions.services import iter_ledgers, refresh_households  # noqa: E402
from mhi.core.dates import add_months  # noqa: E402
from mhi.core.db import db  # noqa: E402
from mhi.members.models import Household, Person  # noqa: E402
from mhi.reports import indicators as ind  # noqa: E402
from mhi.reports import ledgers as report_ledgers  # noqa: E402
from mhi.reports import queries  # noqa: E402
from mhi.schemes.models import Expense, Federation, Product, Scheme, SubsidyProgramme  # noqa: E402
from mhi.schemes.services import load_federation, load_scheme  # noqa: E402
from mhi.subsidies.models import SubsidyReceipt  # noqa: E402

F = date(2025, 1, 1)
T = date(2025, 12, 31)
START = date(2023, 1, 1)
CHUNK = 50_000
BENEFITS = (("OPD", 0.90), ("HOSP", 0.06), ("MAT", 0.03), ("DEATH", 0.01))


def scheme_document(code: str, federation: str) -> dict:
    """A scheme.json: 500 per person and quarter, registration 1 000, a full subsidy for indigent households."""
    return {
        "code": code,
        "name": f"Bench {code}",
        "country": "SN",
        "currency": "XOF",
        "federation": federation,
        "target_population": 1_000_000,
        "opening_date": START.isoformat(),
        "opening_reserve": "5000000",
        "opening_cash": "5000000",
        "products": [
            {
                "code": "BASE",
                "name": "Base",
                "contribution": {"basis": "person", "amount": "500", "period": "quarter", "registration_fee": "1000"},
                "waiting_period_days": 30,
                "grace_period_days": 30,
                "lapse_after_days": 180,
                "submission_limit_days": 90,
                "benefits": [
                    {"code": "OPD", "name": "OPD", "kind": "service", "coverage_rate": "0.8"},
                    {"code": "HOSP", "name": "HOSP", "kind": "service", "coverage_rate": "0.7"},
                    {"code": "MAT", "name": "MAT", "kind": "service", "coverage_rate": "1"},
                    {"code": "DEATH", "name": "DEATH", "kind": "cash", "amount": "50000"},
                ],
            }
        ],
        "subsidy_programmes": [
            {
                "code": "IND",
                "funder": "Etat",
                "categories": ["indigent"],
                "share": "1",
                "valid_from": START.isoformat(),
                "valid_to": None,
            }
        ],
        "providers": [],
    }


def _insert(session, table, rows: list[dict]) -> None:
    """Bulk insert in chunks (Core executemany)."""
    for i in range(0, len(rows), CHUNK):
        session.execute(insert(table), rows[i : i + CHUNK])


def generate_scheme(session, code: str, federation: str, households: int, claims: int, seed: int) -> Scheme:
    """Load the scheme and write a seeded register, receipts, claims, expenses; refresh the coverage spans."""
    rng = random.Random(seed)
    load_scheme(session, scheme_document(code, federation), today=START)
    session.flush()
    scheme = session.scalar(select(Scheme).where(Scheme.code == code))
    product_id = session.scalar(select(Product.id).where(Product.scheme_id == scheme.id))
    programme_id = session.scalar(select(SubsidyProgramme.id).where(SubsidyProgramme.scheme_id == scheme.id))
    next_household = (session.scalar(select(func.max(Household.id))) or 0) + 1
    next_person = (session.scalar(select(func.max(Person.id))) or 0) + 1
    span_days = (date(2025, 10, 1) - START).days

    household_rows, person_rows, receipt_rows, members = [], [], [], []
    for h in range(households):
        hid = next_household + h
        enrolment = START + timedelta(days=rng.randrange(span_days))
        kind = rng.random()
        category = "indigent" if kind < 0.10 else "standard"
        household_rows.append(
            {
                "id": hid,
                "scheme_id": scheme.id,
                "ref": f"{code}-{h:06d}",
                "product_id": product_id,
                "category": category,
                "enrolment_date": enrolment,
            }
        )
        size = rng.randint(1, 8)
        for p in range(size):
            joined = enrolment if p == 0 or rng.random() < 0.9 else enrolment + timedelta(days=rng.randrange(400))
            left = joined + timedelta(days=rng.randrange(200, 900)) if p > 0 and rng.random() < 0.05 else None
            member_no = f"{code}-{h:06d}-{p}"
            members.append(member_no)
            person_rows.append(
                {
                    "id": next_person,
                    "scheme_id": scheme.id,
                    "household_id": hid,
                    "member_no": member_no,
                    "first_name": "Awa",
                    "last_name": "Diop",
                    "sex": "F" if p % 2 else "M",
                    "date_of_birth": date(1980, 1, 1),
                    "relationship": "head" if p == 0 else "child",
                    "enrolment_date": joined,
                    "exit_date": left,
                }
            )
            next_person += 1
        if category == "indigent":
            continue
        # Regular payers pay each quarter about on time; late payers drift; drop-outs stop at some point.
        drift = 0 if kind < 0.75 else rng.randint(10, 60)
        stop = T if kind < 0.85 else enrolment + timedelta(days=rng.randrange(90, 900))
        day, k = enrolment, 0
        while day <= min(stop, T):
            amount = 500 * size + (1000 if k == 0 else 0)
            receipt_rows.append(
                {
                    "scheme_id": scheme.id,
                    "household_id": hid,
                    "receipt_no": f"R{hid}-{k}",
                    "date": day,
                    "amount": Decimal(amount),
                    "method": "cash",
                }
            )
            k += 1
            day = add_months(enrolment, 3 * k) + timedelta(days=rng.randint(-10, 20) + drift)
    _insert(session, Household.__table__, household_rows)
    _insert(session, Person.__table__, person_rows)
    _insert(session, Receipt.__table__, receipt_rows)

    claim_rows = []
    year_days = (T - F).days + 1
    for c in range(claims):
        pick = rng.random()
        benefit = next(code for code, share in _cumulative(BENEFITS) if pick < share)
        service = F + timedelta(days=rng.randrange(year_days))
        submitted = service + timedelta(days=rng.randrange(40))
        status = rng.choices(("APPROVED", "REDUCED", "REJECTED"), (88, 5, 7))[0]
        claimed = {
            "OPD": rng.randint(500, 5000),
            "HOSP": int(rng.lognormvariate(10.5, 0.8)),
            "MAT": rng.randint(15000, 25000),
            "DEATH": 50000,
        }[benefit]
        approved = 0 if status == "REJECTED" else (claimed if status == "APPROVED" else claimed * 8 // 10)
        paid = submitted + timedelta(days=rng.randint(3, 70)) if status != "REJECTED" and rng.random() < 0.85 else None
        claim_rows.append(
            {
                "scheme_id": scheme.id,
                "claim_ref": f"{code}-C{c:07d}",
                "member_no": rng.choice(members),
                "benefit_code": benefit,
                "date_of_service": service,
                "date_submitted": submitted,
                "recorded_on": submitted,
                "amount_claimed": Decimal(claimed),
                "status": status,
                "amount_approved": Decimal(approved),
                "paid_on": paid,
                "reasons": "",
                "source": "import",
            }
        )
    _insert(session, Claim.__table__, claim_rows)
    _insert(
        session,
        Expense.__table__,
        [
            {
                "scheme_id": scheme.id,
                "reference": f"E{i}",
                "date": START + timedelta(days=rng.randrange(1090)),
                "category": "staff",
                "amount": Decimal(rng.randint(10000, 200000)),
            }
            for i in range(500)
        ],
    )
    _insert(
        session,
        SubsidyReceipt.__table__,
        [
            {
                "scheme_id": scheme.id,
                "programme_id": programme_id,
                "reference": f"S{i}",
                "date": START + timedelta(days=rng.randrange(1090)),
                "amount": Decimal(rng.randint(10**6, 10**7)),
            }
            for i in range(20)
        ],
    )
    session.flush()
    refresh_households(session, scheme)
    session.commit()
    return scheme


def _cumulative(shares):
    """(code, cumulative share) pairs for picking a benefit."""
    total = 0.0
    for code, share in shares:
        total += share
        yield code, total


def build(session, scale: float) -> None:
    """The big scheme (federation BIG) and a 10-scheme federation (FED10)."""
    for code in ("BIG", "FED10"):
        load_federation(session, {"code": code, "name": code, "currency": "XOF"}, today=START)
    session.commit()
    started = time.perf_counter()
    generate_scheme(session, "MUT-BIG", "BIG", int(100_000 * scale), int(1_000_000 * scale), seed=1)
    for i in range(10):
        generate_scheme(session, f"MUT-F{i:02d}", "FED10", int(10_000 * scale), int(100_000 * scale), seed=10 + i)
    print(f"generated in {time.perf_counter() - started:.1f} s")


def timed(label: str, function, *args, repeat: int = 1):
    """Run ``function`` (best of ``repeat``), print its time, return (result, seconds)."""
    best = None
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function(*args)
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    print(f"  {label:<58} {best:8.3f} s")
    return result, best


def floor_queries(dialect: str) -> list[tuple[str, str]]:
    """One hand-written SQL query per SQL-side indicator (membership, exposure, claims, finance)."""
    if dialect == "sqlite":

        def diff(a, b):
            return f"CAST(julianday({a}) - julianday({b}) AS INTEGER)"

        lo = "max(s.start, p.enrolment_date, :f)"
        hi = 'min(coalesce(s."end", :t1), coalesce(p.exit_date, :t1), :t1)'
    else:

        def diff(a, b):
            return f"({a} - {b})"

        lo = "greatest(s.start, p.enrolment_date, CAST(:f AS date))"
        hi = 'least(coalesce(s."end", CAST(:t1 AS date)), coalesce(p.exit_date, CAST(:t1 AS date)), CAST(:t1 AS date))'
    cover = 's.start <= {d} AND (s."end" IS NULL OR s."end" > {d})'
    present = "p.enrolment_date <= {d} AND (p.exit_date IS NULL OR p.exit_date > {d})"
    payable = "c.status IN ('APPROVED','REDUCED')"
    return [
        (
            "households_covered_start",
            f"SELECT count(*) FROM coverage_span s WHERE s.scheme_id = :s AND {cover.format(d=':f')}",
        ),
        (
            "households_covered_end",
            f"SELECT count(*) FROM coverage_span s WHERE s.scheme_id = :s AND {cover.format(d=':t')}",
        ),
        (
            "beneficiaries_covered_start",
            "SELECT count(*) FROM coverage_span s JOIN person p ON p.household_id = s.household_id "
            f"WHERE s.scheme_id = :s AND {cover.format(d=':f')} AND {present.format(d=':f')}",
        ),
        (
            "beneficiaries_covered_end",
            "SELECT count(*) FROM coverage_span s JOIN person p ON p.household_id = s.household_id "
            f"WHERE s.scheme_id = :s AND {cover.format(d=':t')} AND {present.format(d=':t')}",
        ),
        (
            "households_retained",
            "SELECT count(DISTINCT s.household_id) FROM coverage_span s JOIN coverage_span s2 "
            f"ON s2.household_id = s.household_id WHERE s.scheme_id = :s AND {cover.format(d=':f')} "
            f"AND {cover.format(d=':t').replace('s.', 's2.')}",
        ),
        ("new_households", "SELECT count(*) FROM household WHERE scheme_id = :s AND enrolment_date BETWEEN :f AND :t"),
        ("new_beneficiaries", "SELECT count(*) FROM person WHERE scheme_id = :s AND enrolment_date BETWEEN :f AND :t"),
        (
            "households_struck_off",
            "SELECT count(*) FROM household WHERE scheme_id = :s AND strike_off_date BETWEEN :f AND :t",
        ),
        (
            "person_days",
            f"SELECT sum(CASE WHEN {hi} > {lo} THEN {diff(hi, lo)} ELSE 0 END) FROM coverage_span s "
            "JOIN person p ON p.household_id = s.household_id WHERE s.scheme_id = :s AND s.start <= :t "
            'AND (s."end" IS NULL OR s."end" > :f) AND p.enrolment_date <= :t AND (p.exit_date IS NULL OR p.exit_date > :f)',
        ),
        (
            "claims_submitted",
            "SELECT count(*) FROM claim c WHERE c.scheme_id = :s AND c.date_submitted BETWEEN :f AND :t",
        ),
        (
            "claims_rejected",
            "SELECT count(*) FROM claim c WHERE c.scheme_id = :s AND c.date_submitted BETWEEN :f AND :t "
            "AND c.status = 'REJECTED'",
        ),
        (
            "claims_incurred",
            f"SELECT sum(amount_approved) FROM claim c WHERE c.scheme_id = :s AND {payable} "
            "AND c.date_of_service BETWEEN :f AND :t",
        ),
        (
            "claims_paid",
            f"SELECT sum(amount_approved) FROM claim c WHERE c.scheme_id = :s AND {payable} "
            "AND c.paid_on BETWEEN :f AND :t",
        ),
        (
            "claims_outstanding",
            f"SELECT sum(amount_approved) FROM claim c WHERE c.scheme_id = :s AND {payable} "
            "AND c.date_of_service <= :t AND c.date_submitted <= :t AND (c.paid_on IS NULL OR c.paid_on > :t)",
        ),
        (
            "payment delays",
            f"SELECT {diff('c.paid_on', 'c.date_submitted')}, count(*) FROM claim c WHERE c.scheme_id = :s "
            f"AND {payable} AND c.paid_on BETWEEN :f AND :t GROUP BY 1",
        ),
        (
            "benefits",
            f"SELECT benefit_code, count(*), sum(amount_approved) FROM claim c WHERE c.scheme_id = :s AND {payable} "
            "AND c.date_of_service BETWEEN :f AND :t GROUP BY benefit_code",
        ),
        (
            "claims since opening",
            f"SELECT sum(amount_approved) FROM claim c WHERE c.scheme_id = :s AND {payable} "
            "AND c.date_of_service BETWEEN :o AND :t",
        ),
        (
            "claims paid since opening",
            f"SELECT sum(amount_approved) FROM claim c WHERE c.scheme_id = :s AND {payable} "
            "AND c.paid_on BETWEEN :o AND :t",
        ),
        ("admin_expenses", "SELECT sum(amount) FROM expense WHERE scheme_id = :s AND date BETWEEN :f AND :t"),
        ("expenses since opening", "SELECT sum(amount) FROM expense WHERE scheme_id = :s AND date BETWEEN :o AND :t"),
        ("contributions_collected", "SELECT sum(amount) FROM receipt WHERE scheme_id = :s AND date BETWEEN :f AND :t"),
        ("receipts since opening", "SELECT sum(amount) FROM receipt WHERE scheme_id = :s AND date BETWEEN :o AND :t"),
        (
            "subsidies_received",
            "SELECT sum(amount) FROM subsidy_receipt WHERE scheme_id = :s AND date BETWEEN :f AND :t",
        ),
        (
            "subsidy receipts since opening",
            "SELECT sum(amount) FROM subsidy_receipt WHERE scheme_id = :s AND date BETWEEN :o AND :t",
        ),
    ]


def run_floor(session, scheme) -> float:
    """Time the hand-written queries, one per indicator."""
    params = {"s": scheme.id, "f": F, "t": T, "t1": T + timedelta(days=1), "o": scheme.opening_date}
    started = time.perf_counter()
    for _, sql in floor_queries(session.get_bind().dialect.name):
        session.execute(text(sql), params).all()
    return time.perf_counter() - started


def sql_side(session, scheme):
    """The SQL-side parts of ``scheme_parts`` (what the floor computes too)."""
    queries.membership(session, scheme.id, F, T)
    queries.claim_totals(session, scheme.id, F, T, scheme.opening_date)
    queries.cash_flows(session, scheme.id, F, T, scheme.opening_date)
    queries.benefit_codes(session, scheme.id)


def engine_side(session, scheme):
    """The contributions engine over the bulk-loaded households (§6 amounts), as the reference path."""
    ledgers = [ledger for _, ledger in iter_ledgers(session, scheme)]
    return ind.engine_contribution_amounts(ledgers, scheme.currency, F, T, scheme.opening_date)


def stored_side(session, scheme):
    """The §6 amounts from the stored ledgers (fresh: the check finds nothing to rebuild)."""
    return report_ledgers.contribution_amounts(session, scheme, F, T, scheme.opening_date)


def main() -> None:
    """Build (once) and time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite:////tmp/mhi_bench_indicators.sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the default sizes")
    parser.add_argument("--rebuild", action="store_true", help="drop and generate the data again")
    parser.add_argument("--skip-engine", action="store_true", help="do not time the engine reference path")
    args = parser.parse_args()

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        session = db.session
        present = False
        try:
            present = session.scalar(select(func.count()).select_from(Scheme)) > 0
        except Exception:  # noqa: BLE001 - no schema yet
            session.rollback()
        if args.rebuild or not present:
            db.drop_all()
            db.create_all()
            build(session, args.scale)
        else:
            db.create_all()  # tables added since the data was generated (the stored ledgers)
        big = session.scalar(select(Scheme).where(Scheme.code == "MUT-BIG"))
        federation = session.scalar(select(Federation).where(Federation.code == "FED10"))
        counts = {
            "households": session.scalar(select(func.count()).where(Household.scheme_id == big.id)),
            "persons": session.scalar(select(func.count()).where(Person.scheme_id == big.id)),
            "receipts": session.scalar(select(func.count()).where(Receipt.scheme_id == big.id)),
            "claims": session.scalar(select(func.count()).where(Claim.scheme_id == big.id)),
        }
        print(f"{session.get_bind().dialect.name}: MUT-BIG " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
        _, cold = timed("stored ledgers built (first report after the import)", report_ledgers.refresh, session, big, T)
        session.commit()
        _, total = timed("scheme_indicators, one scheme-year", ind.scheme_indicators, session, big, F, T, repeat=2)
        _, sql_time = timed("  of which SQL aggregates (membership, claims, finance)", sql_side, session, big, repeat=2)
        _, stored_time = timed("  of which §6 amounts from the stored ledgers", stored_side, session, big, repeat=2)
        if not args.skip_engine:
            timed("  (reference: the same §6 amounts by the engine)", engine_side, session, big)
        floor = min(run_floor(session, big) for _ in range(2))
        print(f"  {'floor: one hand-written SQL query per SQL-side indicator':<58} {floor:8.3f} s")
        print(f"  {'ratio SQL aggregates / floor':<58} {sql_time / floor:8.2f}")
        for scheme in federation.schemes:
            report_ledgers.refresh(session, scheme, T)
        session.commit()
        timed(
            f"federation_indicators, {len(federation.schemes)} schemes",
            ind.federation_indicators,
            session,
            federation,
            F,
            T,
            repeat=2,
        )
        session.rollback()


if __name__ == "__main__":
    main()
