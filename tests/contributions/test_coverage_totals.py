"""The stored coverage changes (mhi/contributions/coverage_totals.py) stay equal to a recount of the spans and
persons after every write path, and the membership figures read from them equal the scan's, for any window
(issue 17)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, insert, select, text, update

from mhi.contributions import coverage_totals as totals
from mhi.contributions.coverage_totals import CoverageChangeTotal
from mhi.contributions.models import CoverageSpan
from mhi.contributions.services import refresh_households
from mhi.home import queries as home_queries
from mhi.members.models import Household, Person
from mhi.reports import queries
from mhi.schemes.models import Scheme
from tests.conftest import EXAMPLES
from tests.replay.machinery import run
from tests.reports.builders import add_household, build_hand_scheme, load, pay


def recount(session, scheme_id: int) -> dict:
    """The changes computed in Python from the span and person rows (an oracle independent of the SQL)."""
    changes: Counter = Counter()
    persons: dict[int, list[Person]] = {}
    for person in session.scalars(select(Person)):
        persons.setdefault(person.household_id, []).append(person)
    for span in session.scalars(select(CoverageSpan).where(CoverageSpan.scheme_id == scheme_id)):
        if span.end is None or span.end > span.start:
            changes[(span.start, "h")] += 1
            if span.end is not None:
                changes[(span.end, "h")] -= 1
        for person in persons.get(span.household_id, []):
            lo = max(span.start, person.enrolment_date)
            ends = [d for d in (span.end, person.exit_date) if d is not None]
            hi = min(ends) if ends else None
            if hi is None or hi > lo:
                changes[(lo, "p")] += 1
                if hi is not None:
                    changes[(hi, "p")] -= 1
    days = {day for day, _ in changes}
    return {
        day: (changes[(day, "h")], changes[(day, "p")]) for day in days if changes[(day, "h")] or changes[(day, "p")]
    }


def stored(session, scheme_id: int) -> dict:
    """The stored rows, those whose changes have gone back to zero left out."""
    t = CoverageChangeTotal
    return {
        r.day: (r.households, r.persons)
        for r in session.scalars(select(t).where(t.scheme_id == scheme_id))
        if r.households or r.persons
    }


def assert_totals_right(session, scheme_id: int) -> None:
    session.flush()
    session.expire_all()
    assert stored(session, scheme_id) == recount(session, scheme_id)


def assert_windows_match_scan(session, scheme_id: int, rng: random.Random, windows: int = 120) -> int:
    """Many windows [F, T] (any days: on span and person edges, either side of them, random) give the same
    covered counts and person-days from the totals as from the scan; and the trend's days. Returns the
    windows compared."""
    edges = {
        day
        for row in session.execute(
            select(CoverageSpan.start, CoverageSpan.end).where(CoverageSpan.scheme_id == scheme_id)
        )
        for day in row
        if day is not None
    }
    edges |= {
        day
        for row in session.execute(select(Person.enrolment_date, Person.exit_date).where(Person.scheme_id == scheme_id))
        for day in row
        if day is not None
    }
    if not edges:
        return 0
    near = sorted({day + timedelta(days=k) for day in edges for k in (-1, 0, 1)})
    low, high = min(near) - timedelta(days=40), max(near) + timedelta(days=40)
    candidates = [*near, low, high]
    compared = 0
    for _ in range(windows):
        if rng.random() < 0.3:
            f = low + timedelta(days=rng.randrange((high - low).days))
        else:
            f = rng.choice(candidates)
        t = f + timedelta(days=rng.choice([0, 1, 29, 30, 90, 180, 364, rng.randrange(800)]))
        fast = queries.coverage_from_totals(session, scheme_id, f, t)
        slow = queries.coverage_by_scan(session, scheme_id, f, t)
        assert fast == slow, (f, t)
        compared += 1
    days = sorted(rng.sample(candidates, min(24, len(candidates))))
    assert queries.beneficiaries_covered_on(session, scheme_id, days) == queries.beneficiaries_covered_on_by_scan(
        session, scheme_id, days
    )
    return compared


def test_hand_scheme_membership_equals_the_scan(session):
    """The hand-worked scheme: the whole membership of its report period, and many windows, either way."""
    scheme = build_hand_scheme(session)
    assert_totals_right(session, scheme.id)
    f, t = date(2025, 1, 1), date(2025, 6, 30)
    members = queries.membership(session, scheme.id, f, t)
    assert members == queries.membership_by_scan(session, scheme.id, f, t)
    assert members.person_days > 0 and members.beneficiaries_covered_start > 0
    assert assert_windows_match_scan(session, scheme.id, random.Random(1)) == 120


def test_examples_totals_equal_the_scan(app, runner, session):
    """Both example federations imported through the command line (members, categories and contributions
    imports, the refresh): totals right, and many windows agree with the scan."""
    rng = random.Random(17)
    for folder in ("ndiagane", "fatick"):
        example = EXAMPLES / folder
        run(runner, "federation", "load", str(example / "federation.json"))
        for scheme_folder in sorted(p for p in example.iterdir() if (p / "scheme.json").exists()):
            run(runner, "scheme", "load", str(scheme_folder / "scheme.json"))
            for what in ("members", "categories", "contributions"):
                path = scheme_folder / f"{what}.csv"
                if path.exists():
                    run(runner, "import", what, "--scheme", scheme_folder.name, str(path))
    compared = 0
    schemes = session.scalars(select(Scheme)).all()
    assert len(schemes) == 5
    for scheme in schemes:
        assert session.scalar(select(CoverageSpan.id).where(CoverageSpan.scheme_id == scheme.id).limit(1))
        assert_totals_right(session, scheme.id)
        compared += assert_windows_match_scan(session, scheme.id, rng)
    assert compared == 600

    # The dashboard's households covered today: the same figure (a household's spans are disjoint).
    ids = [scheme.id for scheme in schemes]
    assert sum(home_queries.households_covered_today(session, ids, date(2025, 6, 1)).values()) > 10
    for day in (date(2023, 1, 1), date(2024, 3, 15), date(2024, 12, 31), date(2025, 6, 1), date(2026, 1, 1)):
        assert home_queries.households_covered_today(session, ids, day) == (
            home_queries.households_covered_today_by_scan(session, ids, day)
        )

    # The repair path of `flask report refresh-ledgers` recounts wrong rows.
    session.execute(text("UPDATE coverage_change_total SET households = households + 1"))
    session.commit()
    run(runner, "report", "refresh-ledgers")
    for scheme in schemes:
        assert_totals_right(session, scheme.id)


def _person(scheme, household, n: int, joined: date, left: date | None) -> dict:
    return {
        "scheme_id": scheme.id,
        "household_id": household.id,
        "member_no": f"R-{household.id}-{n}",
        "first_name": "Awa",
        "last_name": "Ndiaye",
        "sex": "F",
        "date_of_birth": date(1990, 1, 1),
        "relation": "child",
        "enrolment_date": joined,
        "exit_date": left,
    }


def test_random_writes_keep_the_totals(session):
    """Random households through the real paths (register, receipts, refresh) and then raw writes of spans and
    persons — bulk inserts, ORM and raw updates of dates and households, deletions — the totals checked after
    each step, the windows at the end, and the repair (``rebuild``) from empty and from wrong rows."""
    rng = random.Random(42)
    scheme = load(session, "MUT-A")
    other = load(session, "MUT-B")
    households = []
    for i in range(30):
        target = scheme if i % 5 else other
        enrolled = date(2024, 1, 1) + timedelta(days=rng.randrange(500))
        persons = [("head", enrolled, None)]
        for _ in range(rng.randrange(4)):
            joined = enrolled + timedelta(days=rng.randrange(-30, 200))
            left = joined + timedelta(days=rng.randrange(0, 300)) if rng.random() < 0.4 else None
            persons.append(("child", joined, left))
        household = add_household(session, target, f"H{i}", enrolled, persons)
        households.append(household)
        for _ in range(rng.randrange(3)):
            pay(session, household, enrolled + timedelta(days=rng.randrange(400)), rng.choice([13000, 12000, 1000]))
    session.flush()
    refresh_households(session, scheme)
    refresh_households(session, other)
    session.commit()
    for s in (scheme, other):
        assert_totals_right(session, s.id)
    assert session.scalar(select(CoverageSpan.id).limit(1)) is not None

    # Spans: a bulk insert (open and closed, one empty), an ORM update of an end, a raw update moving a start,
    # a span moved to another household and scheme, deletions.
    mine = [h for h in households if h.scheme_id == scheme.id]
    rows = []
    for h in rng.sample(mine, 8):
        start = date(2026, 1, 1) + timedelta(days=rng.randrange(200))
        end = rng.choice([None, start, start + timedelta(days=rng.randrange(1, 300))])
        rows.append({"scheme_id": scheme.id, "household_id": h.id, "start": start, "end": end})
    session.execute(insert(CoverageSpan), rows)
    assert_totals_right(session, scheme.id)
    some = session.scalars(select(CoverageSpan).where(CoverageSpan.scheme_id == scheme.id).limit(6)).all()
    some[0].end = some[0].start + timedelta(days=45)
    some[1].end = None
    session.flush()
    session.execute(
        text('UPDATE coverage_span SET start = start, "end" = "end" WHERE id = :id'), {"id": some[2].id}
    )  # unchanged values: nothing counted
    # A span's household is of its scheme (one foreign key on both columns): moved within the scheme, or to
    # another scheme with one of its households.
    theirs = [h for h in households if h.scheme_id == other.id]
    session.execute(update(CoverageSpan).where(CoverageSpan.id == some[3].id).values(household_id=mine[0].id))
    session.execute(
        update(CoverageSpan).where(CoverageSpan.id == some[4].id).values(scheme_id=other.id, household_id=theirs[0].id)
    )
    assert_totals_right(session, scheme.id)
    assert_totals_right(session, other.id)
    session.execute(delete(CoverageSpan).where(CoverageSpan.id.in_([some[5].id, some[0].id])))
    assert_totals_right(session, scheme.id)
    session.commit()

    # Persons: a bulk insert (as the members import writes), ORM and raw updates of the dates, a person moved to
    # another household, a name change (nothing counted), deletions.
    new_rows = [
        _person(
            scheme,
            h,
            n,
            date(2024, 6, 1) + timedelta(days=rng.randrange(600)),
            rng.choice([None, date(2025, 9, 1) + timedelta(days=rng.randrange(300))]),
        )
        for n, h in enumerate(rng.sample(mine, 10))
    ]
    session.execute(insert(Person), new_rows)
    assert_totals_right(session, scheme.id)
    people = session.scalars(select(Person).where(Person.scheme_id == scheme.id).order_by(Person.id)).all()
    picked = rng.sample(people, 8)
    picked[0].exit_date = picked[0].enrolment_date + timedelta(days=20)
    picked[1].exit_date = None
    picked[2].enrolment_date = picked[2].enrolment_date - timedelta(days=100)
    picked[3].household_id = households[-1].id
    picked[4].first_name = "Fatou"
    session.flush()
    session.execute(
        update(Person)
        .where(Person.id.in_([p.id for p in picked[5:]]))
        .values(exit_date=date(2025, 3, 3), last_name="Sow")
    )
    session.execute(text("UPDATE person SET enrolment_date = enrolment_date, first_name = 'Binta'"))
    assert_totals_right(session, scheme.id)
    assert_totals_right(session, other.id)
    session.execute(delete(Person).where(Person.id.in_([picked[6].id, picked[7].id])))
    assert_totals_right(session, scheme.id)
    session.commit()

    # The real path again: a refresh rewrites the spans of the households, counted against their persons.
    refresh_households(session, scheme, [h.id for h in mine[:10]])
    session.commit()
    for s in (scheme, other):
        assert_totals_right(session, s.id)
        assert assert_windows_match_scan(session, s.id, rng) == 120
    f, t = date(2025, 2, 10), date(2025, 11, 3)
    assert queries.membership(session, scheme.id, f, t) == queries.membership_by_scan(session, scheme.id, f, t)

    # The repair path recounts to the same rows, from wrong rows and from none.
    session.execute(text("UPDATE coverage_change_total SET persons = persons + 3"))
    totals.rebuild(session, scheme.id)
    session.commit()
    assert_totals_right(session, scheme.id)
    assert stored(session, other.id) != recount(session, other.id)  # the other scheme was not repaired
    session.execute(delete(CoverageChangeTotal))
    for s in (scheme, other):
        totals.rebuild(session, s.id)
    session.commit()
    for s in (scheme, other):
        assert_totals_right(session, s.id)
    zero = (CoverageChangeTotal.persons == 0) & (CoverageChangeTotal.households == 0)
    assert session.scalar(select(CoverageChangeTotal).where(zero).limit(1)) is None


def test_household_deleted_with_its_rows(session):
    """Deleting a household's persons then spans (or the other way round) takes all its coverage away."""
    scheme = build_hand_scheme(session)
    for ref, persons_first in (("H1", True), ("H4", False)):
        household = session.scalar(select(Household).where(Household.ref == ref))
        statements = [delete(Person).where(Person.household_id == household.id)]
        statements.append(delete(CoverageSpan).where(CoverageSpan.household_id == household.id))
        for statement in statements if persons_first else reversed(statements):
            session.execute(statement)
        assert_totals_right(session, scheme.id)
    session.commit()


@pytest.mark.postgres_only
def test_a_person_added_while_a_refresh_rewrites_the_spans(app, session):
    """On PostgreSQL a person's trigger locks the household first: added while a receipt's refresh holds it (and
    gives the household its first spans), the person is counted against the spans the refresh commits."""
    import threading

    from sqlalchemy.orm import Session

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has a single writer: transactions are serialised already")
    scheme = build_hand_scheme(session)
    household = session.scalar(select(Household).where(Household.ref == "H3"))
    assert session.scalar(select(CoverageSpan.id).where(CoverageSpan.household_id == household.id)) is None
    engine = session.get_bind()
    locked = threading.Event()
    done = {}

    def receipt() -> None:
        with app.app_context(), Session(engine) as own:
            own_household = own.get(Household, household.id)
            pay(own, own_household, own_household.enrolment_date, 13000)
            refresh_households(own, own.get(Scheme, scheme.id), [household.id])
            locked.set()
            threading.Event().wait(0.7)  # the person's insert waits for the lock meanwhile
            own.commit()
            done["receipt"] = True

    def member() -> None:
        with app.app_context(), Session(engine) as own:
            own.execute(insert(Person), [_person(scheme, household, 9, date(2025, 3, 10), None)])
            own.commit()
            done["member"] = True

    first = threading.Thread(target=receipt)
    first.start()
    assert locked.wait(10)
    second = threading.Thread(target=member)
    second.start()
    first.join(10)
    second.join(10)
    assert done == {"receipt": True, "member": True}
    session.expire_all()
    assert session.scalar(select(CoverageSpan.id).where(CoverageSpan.household_id == household.id)) is not None
    assert_totals_right(session, scheme.id)
