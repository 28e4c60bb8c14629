"""Likely duplicates caught at the door (issue 12): the enrolment form and the members import (command line and
web upload) warn on each of the four keys — national id, phone, names and date of birth, a similar name in the
same village — against the register and within the file; on screen a confirmation lets them through, on the
command line ``--allow-duplicates``; distinct people (namesakes, a family sharing a phone) are not warned."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mhi.core.jobs import Job
from mhi.members.duplicates import Candidate, find_duplicates
from mhi.members.models import Household, Person
from tests.factories import login, make_user, records
from tests.members.helpers import MEMBERS_HEADER, counts, scheme_with_programme, write

STORED = "H-1,M-1,Awa,Ndiaye,F,1980-02-03,head,2025-01-10,,BASE,,Ndiagane,+221 76 000 00 01,1234567890123"
#: One new household's head, like M-1 on exactly one key each.
BY_KEY = {
    "national_id": "H-9,M-9,Moussa,Sarr,M,1970-05-05,head,2025-03-01,,BASE,,Pout,,1234567890123",
    "phone": "H-9,M-9,Moussa,Sarr,M,1970-05-05,head,2025-03-01,,BASE,,Pout,76 000 00 01,",
    "name_and_birth": "H-9,M-9,AWA,Ndiayé,F,1980-02-03,head,2025-03-01,,BASE,,Pout,,",
    "similar_name": "H-9,M-9,Awa,Ndiay,F,1980-02-13,head,2025-03-01,,BASE,,ndiagane,,",
}
#: Different people: a namesake of M-1 in her village born another day, her family sharing one phone.
DISTINCT = [
    "H-9,M-9,Awa,Ndiaye,F,1995-07-21,head,2025-03-01,,BASE,,Ndiagane,+221 77 111 11 11,999",
    "H-9,M-10,Moussa,Ndiaye,M,1990-04-04,spouse,2025-03-01,,,,Ndiagane,+221 77 111 11 11,",
    "H-8,M-11,Awa,Ndiaye,F,2001-11-30,head,2025-03-01,,BASE,,Ndiagane,,",
]


def csv_of(*rows: str) -> str:
    return "\n".join([MEMBERS_HEADER, *rows]) + "\n"


@pytest.fixture
def scheme(app, runner, tmp_path):
    with records(app) as session:
        scheme = scheme_with_programme(session)
    assert run(runner, write(tmp_path, "stored.csv", csv_of(STORED))).exit_code == 0
    return scheme


def run(runner, path, *extra):
    return runner.invoke(args=["import", "members", "--scheme", "MUT-A", str(path), *extra])


@pytest.mark.parametrize("key", list(BY_KEY))
def test_each_key_refuses_the_import_unless_allowed(app, runner, scheme, tmp_path, key):
    path = write(tmp_path, "members.csv", csv_of(BY_KEY[key]))
    with records(app) as session:
        before = counts(session)
    for extra in ((), ("--dry-run",)):
        refused = run(runner, path, *extra)
        assert refused.exit_code == 1
        assert "row 1 (" in refused.stderr and "M-1 Awa Ndiaye (household H-1)" in refused.stderr
        assert "1 likely duplicate(s), nothing imported" in refused.stderr and "--allow-duplicates" in refused.stderr
    with records(app) as session:
        assert counts(session) == before
    allowed = run(runner, path, "--allow-duplicates")
    assert allowed.exit_code == 0, allowed.stderr
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_the_key_named_is_the_one_that_matched(app, scheme):
    with records(app) as session:
        found = {}
        for key, row in BY_KEY.items():
            cells = row.split(",")
            candidate = Candidate(
                row=1, first_name=cells[2], last_name=cells[3], sex=cells[4],
                date_of_birth=date.fromisoformat(cells[5]), household_ref=cells[0], village=cells[11],
                phone=cells[12], national_id=cells[13],
            )  # fmt: skip
            found[key] = [(d.key, d.member_no) for d in find_duplicates(session, scheme.id, [candidate])]
    assert found == {key: [(key, "M-1")] for key in BY_KEY}


def test_duplicates_within_the_file_are_refused_too(runner, scheme, tmp_path):
    rows = [
        "H-7,M-20,Binta,Fall,F,1985-01-01,head,2025-03-01,,BASE,,Pout,,555",
        "H-6,M-21,Ousmane,Ba,M,1960-01-01,head,2025-03-01,,BASE,,Fimela,,555",
    ]
    refused = run(runner, write(tmp_path, "members.csv", csv_of(*rows)))
    assert refused.exit_code == 1
    assert "row 2 (Ousmane Ba): same national id as row 1 (Binta Fall, household H-7)" in refused.stderr


def test_distinct_people_are_not_warned(app, runner, scheme, tmp_path):
    result = run(runner, write(tmp_path, "members.csv", csv_of(*DISTINCT)), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "duplicate" not in result.stderr
    # Re-importing the same file: its rows are stored (unchanged), not duplicates of themselves.
    again = run(runner, write(tmp_path, "again.csv", csv_of(STORED, *DISTINCT)))
    assert again.exit_code == 0, again.stderr


# -- on screen --------------------------------------------------------------------------------------------------

ENROL = {
    "ref": "H-9",
    "product": "BASE",
    "village": "Ndiagane",
    "head-first_name": "Awa",
    "head-last_name": "NDIAYE",
    "head-sex": "F",
    "head-date_of_birth": "1980-02-03",
    "head-enrolment_date": "2025-03-01",
}


@pytest.fixture
def clerk(app, scheme):
    with records(app) as session:
        return make_user(session, "clerk", session.merge(scheme))


def test_the_enrolment_form_warns_and_a_confirmation_lets_it_through(app, client, clerk):
    login(client, clerk)
    warned = client.post("/schemes/MUT-A/households/new", data=ENROL)
    html = warned.get_data(as_text=True)
    assert warned.status_code == 200 and "likely duplicate" in html and "same names and date of birth" in html
    with records(app) as session:
        stored = session.scalar(select(Household).where(Household.ref == "H-1"))
        assert f'href="/schemes/MUT-A/households/{stored.id}"' in html  # a link to the person already known
        assert session.scalar(select(func.count()).select_from(Household)) == 1
    assert 'name="different_people"' in html
    confirmed = client.post("/schemes/MUT-A/households/new", data={**ENROL, "different_people": "y"})
    assert confirmed.status_code == 302
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [("head-national_id", "1234567890123"), ("head-phone", "760000001"), ("village", "Ndiagane")],
)
def test_the_enrolment_form_warns_on_each_key(app, client, clerk, field, value):
    login(client, clerk)
    data = {**ENROL, "head-first_name": "Awa", "head-last_name": "Ndiay", "head-date_of_birth": "1980-02-13",
            "village": "Pout", field: value}  # fmt: skip
    warned = client.post("/schemes/MUT-A/households/new", data=data)
    assert warned.status_code == 200 and "likely duplicate" in warned.get_data(as_text=True)
    distinct = {**ENROL, "head-first_name": "Khady", "head-last_name": "Sow", "head-date_of_birth": "1999-09-09"}
    assert client.post("/schemes/MUT-A/households/new", data={**distinct, "ref": "H-10"}).status_code == 302


def test_the_newborn_form_warns_too(app, client, clerk):
    login(client, clerk)
    with records(app) as session:
        household_id = session.scalar(select(Household.id).where(Household.ref == "H-1"))
    url = f"/schemes/MUT-A/households/{household_id}/persons/new"
    assert b"different_people" not in client.get(url).data
    data = {"first_name": "Awa", "last_name": "Ndiaye", "sex": "F", "date_of_birth": "1980-02-03",
            "relation": "other", "enrolment_date": "2025-04-01"}  # fmt: skip
    warned = client.post(url, data=data)
    assert warned.status_code == 200 and b"different_people" in warned.data
    assert client.post(url, data={**data, "different_people": "y"}).status_code == 302


def test_the_upload_preview_warns_and_needs_the_confirmation(app, client, clerk):
    login(client, clerk)
    url = "/schemes/MUT-A/imports/members"
    text = csv_of(BY_KEY["phone"])
    preview = client.post(url, data={"file": (io.BytesIO(text.encode()), "m.csv")}, content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert "same phone number" in html and 'name="different_people"' in html
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]{32})"', html).group(1)
    # Confirmed without the box: the job writes nothing and lists the duplicates.
    answer = client.post(f"{url}/confirm", data={"token": token})
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "nothing was imported" in page and "same phone number" in page and "M-1 Awa Ndiaye" in page
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1
        assert session.scalar(select(Job.state)) == "failed"
    # Sent again and confirmed as different people: imported.
    preview = client.post(url, data={"file": (io.BytesIO(text.encode()), "m.csv")}, content_type="multipart/form-data")
    token = re.search(r'name="token" type="hidden" value="([0-9a-f]{32})"', preview.get_data(as_text=True)).group(1)
    client.post(f"{url}/confirm", data={"token": token, "different_people": "y"})
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_an_upload_without_duplicates_has_no_box(app, client, clerk):
    login(client, clerk)
    text = csv_of(*DISTINCT)
    preview = client.post(
        "/schemes/MUT-A/imports/members",
        data={"file": (io.BytesIO(text.encode()), "m.csv")},
        content_type="multipart/form-data",
    )
    html = preview.get_data(as_text=True)
    assert 'name="token"' in html and "different_people" not in html and "likely duplicate" not in html


@pytest.mark.parametrize(
    "path", sorted(Path(__file__).parents[2].glob("docs/spec/examples/*/*/members.csv")), ids=lambda p: p.parent.name
)
def test_the_example_registers_have_no_likely_duplicates(session, path):
    """Their dozens of namesakes in one village are distinct people: none is warned."""
    scheme = scheme_with_programme(session)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    candidates = [
        Candidate(
            row=n, first_name=r["first_name"], last_name=r["last_name"], sex=r["sex"],
            date_of_birth=date.fromisoformat(r["date_of_birth"]), household_ref=r["household_ref"],
            village=r["village"], phone=r["phone"], national_id=r["national_id"],
        )
        for n, r in enumerate(rows, start=1)
    ]  # fmt: skip
    assert len(candidates) > 200
    assert find_duplicates(session, scheme.id, candidates) == []


# -- the scan of a national file (issue 17) ---------------------------------------------------------------------

#: Stored beside M-1: name keys of 11 characters, a phone, a national id typed with a space and in lower case.
SCANNED = [
    "H-2,M-2,Abcdefgh,Xy,M,1970-05-05,head,2025-01-10,,BASE,,Ndiagane,,",
    "H-3,M-3,Coumba,Fall,F,1990-06-07,head,2025-01-10,,BASE,,NDIAGANE,+221 70 123 45 67,",
    "H-4,M-4,Abcdefgh,Xy,M,1970-08-05,head,2025-01-10,,BASE,,Pout,,",
    "H-5,M-5,Moussa,Sarr,M,1970-05-05,head,2025-01-10,,BASE,,Pout,,ab 12",
    "H-6,M-6,Abcdefgh,Xy,M,1970-05-05,head,2025-01-10,,BASE,,Fimela,,",
]


@pytest.mark.parametrize("in_numpy", [False, True], ids=["row by row", "in numpy"])
def test_the_scan_of_a_national_file_finds_each_key(app, runner, scheme, tmp_path, monkeypatch, in_numpy):
    """Above SCAN_ABOVE keys the register is scanned: every key is found, including a national id stored in
    another spelling and name keys at the edge of difflib's length bound (9 against 11 characters: ratio 0.9
    exactly; 13 against 11 alike, 8 or 14 not) — a guard for any narrowing of the scan (issue 17), row by row and
    compared in numpy (``_Sieve``, whose bounds on name pairs are computed for all pairs at once)."""
    from mhi.core.db import db
    from mhi.members import duplicates

    assert run(runner, write(tmp_path, "more.csv", csv_of(*SCANNED)), "--allow-duplicates").exit_code == 0
    people = [
        ("Ibrahima", "Ka", "M", "1966-01-01", "Joal", "", "AB12"),  # M-5's national id
        # Each alone in its bucket with M-2 or M-6 (11 characters, the only rows that may be alike): a filter of
        # the stored rows by the file's name lengths would keep or drop them for this candidate alone.
        ("Abcdef", "Xy", "M", "1970-05-06", "Ndiagane", "", ""),  # 9 characters: 2·9/20 = 0.9, alike
        ("Abcde", "Xy", "M", "1971-05-05", "Ndiagane", "", ""),  # 8 characters: too short to be alike
        ("Abcdefghij", "Xy", "M", "1970-06-05", "Fimela", "", ""),  # like M-6, 13 characters: 2·11/24
        ("Coumba", "Fal", "F", "1991-06-07", "ndiagane", "", ""),  # like M-3
        ("Binta", "Sow", "F", "1999-01-01", "Fimela", "70 123 45 67", ""),  # M-3's phone
        ("Awa", "Ndiaye", "F", "1980-02-03", "Joal", "", ""),  # M-1's names and birth date
        ("Abcdefgh", "Xy", "M", "1971-08-05", "Pout", "", ""),  # like M-4
        ("Abcdefghijk", "Xy", "M", "1970-08-06", "Pout", "", ""),  # 14 characters: too long to be like M-4
    ]
    candidates = [
        Candidate(
            row=n, first_name=f, last_name=last, sex=s, date_of_birth=date.fromisoformat(d), household_ref=f"N-{n}",
            village=v, phone=p, national_id=i,
        )
        for n, (f, last, s, d, v, p, i) in enumerate(people, start=1)
    ]  # fmt: skip
    monkeypatch.setattr(duplicates, "SCAN_ABOVE", 0)
    monkeypatch.setattr(duplicates, "SIEVE_FROM", 1 if in_numpy else 10**9)
    with records(app) as session:
        scanned = find_duplicates(session, scheme.id, candidates)
    assert [(d.row, d.key, d.member_no) for d in scanned if d.person_id] == [
        (1, "national_id", "M-5"),
        (2, "similar_name", "M-2"),
        (4, "similar_name", "M-6"),
        (5, "similar_name", "M-3"),
        (6, "phone", "M-3"),
        (7, "name_and_birth", "M-1"),
        (8, "similar_name", "M-4"),
    ]
    # A written import's scan of a large register is split by person id over processes (forked on PostgreSQL):
    # three parts of these six persons find the same list.
    monkeypatch.setattr(duplicates, "SPLIT_ABOVE", 1)
    monkeypatch.setattr(duplicates, "SCAN_PARTS", 3)
    with app.app_context():
        assert duplicates.find_duplicates_apart(db.engine, scheme.id, candidates) == scanned


def test_a_written_import_lists_the_duplicates_it_was_allowed(app, scheme):
    """Issue 17: when the duplicates cannot refuse the file (allowed), they are listed while the persons are
    copied; the list is the one a dry run gives, register and file matches alike, in row order."""
    from mhi.contributions.imports import import_register
    from mhi.core.tabular import read_table

    rows = [
        BY_KEY["national_id"],
        "H-7,M-20,Binta,Fall,F,1985-01-01,head,2025-03-01,,BASE,,Pout,,555",
        BY_KEY["similar_name"].replace("H-9,M-9", "H-5,M-5"),
        "H-6,M-21,Ousmane,Ba,M,1960-01-01,head,2025-03-01,,BASE,,Fimela,,555",
    ]
    table = read_table(csv_of(*rows).encode(), "members.csv")
    with records(app) as session:
        dry = import_register(session, scheme, table.header, table.rows, dry_run=True)
        session.rollback()
        written = import_register(session, scheme, table.header, table.rows, allow_duplicates=True)
        assert written.written and written.added == 4
        assert written.duplicates == dry.duplicates
        assert [(d.row, d.key, d.member_no or d.other_row) for d in written.duplicates] == [
            (1, "national_id", "M-1"),
            (3, "similar_name", "M-1"),
            (4, "national_id", 2),
        ]


def test_a_written_import_reads_the_register_apart_only_while_it_has_not_changed_it(app, scheme):
    """Issue 17: on PostgreSQL a written import reads the register on a connection of its own while it copies
    the persons — only when its transaction has not changed the register (``engine_seeing_as_this``), since
    another connection sees only the committed rows.

    Read apart, the list is the dry run's. Then the transaction changes M-1's national id before the import: the
    file's row with the new id is her likely duplicate, on SQLite and PostgreSQL alike (read on another connection
    it would be missed), and the row with her committed, old id is not."""
    from mhi.contributions.imports import import_register
    from mhi.core.db import db, engine_seeing_as_this
    from mhi.core.tabular import read_table

    rows = [
        "H-7,M-20,Binta,Fall,F,1985-01-01,head,2025-03-01,,BASE,,Pout,,777",
        "H-6,M-21,Ousmane,Ba,M,1960-01-01,head,2025-03-01,,BASE,,Fimela,,1234567890123",
    ]
    table = read_table(csv_of(*rows).encode(), "members.csv")
    tables = (Person.__table__, Household.__table__)
    with records(app) as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:
            # PostgreSQL counts a transaction's writes with those of the connection's earlier ones until it has
            # been idle a moment (a national import's files are seconds apart): a new connection, not the set-up's.
            session.close()
            db.engine.dispose()
        assert (engine_seeing_as_this(session, tables) is not None) == postgresql
        dry = import_register(session, scheme, table.header, table.rows, dry_run=True)
        session.rollback()
        apart = import_register(session, scheme, table.header, table.rows, allow_duplicates=True)
        assert apart.written and apart.duplicates == dry.duplicates
        assert [(d.row, d.key, d.member_no) for d in apart.duplicates] == [(2, "national_id", "M-1")]
        session.rollback()

        person = session.scalar(select(Person).where(Person.member_no == "M-1"))
        person.national_id = "777"
        session.flush()
        assert engine_seeing_as_this(session, tables) is None
        written = import_register(session, scheme, table.header, table.rows, allow_duplicates=True)
        assert written.written and written.added == 2
        assert [(d.row, d.key, d.member_no) for d in written.duplicates] == [(1, "national_id", "M-1")]


def test_a_large_written_import_checks_its_duplicates_in_a_process_of_its_own(app, scheme, monkeypatch):
    """Issue 17: from ``APART_FROM`` people (here one), a written import's check runs in a process forked as soon
    as the rows are read (``core.db.read_apart``), on every row, and its list, taken once everything is written,
    is the dry run's: the row already stored (M-1, unchanged), which the check also compared and found to be
    herself, is not listed. The process scans the register alone, even where a scan would be split. On SQLite
    nothing is forked."""

    from mhi.contributions.imports import import_register
    from mhi.core.db import db
    from mhi.core.tabular import read_table
    from mhi.members import duplicates, imports
    from tests.factories import record_forks

    rows = [
        STORED,
        "H-7,M-20,Binta,Fall,F,1985-01-01,head,2025-03-01,,BASE,,Pout,,777",
        "H-6,M-21,Ousmane,Ba,M,1960-01-01,head,2025-03-01,,BASE,,Fimela,,1234567890123",
        "H-5,M-22,Binta,Fal,F,1985-01-02,head,2025-03-01,,BASE,,Pout,,",
    ]
    table = read_table(csv_of(*rows).encode(), "members.csv")
    monkeypatch.setattr(imports, "APART_FROM", 1)
    monkeypatch.setattr(duplicates, "SCAN_ABOVE", 0)
    monkeypatch.setattr(duplicates, "SPLIT_ABOVE", 1)
    asked: list = []  # what each check apart was asked to do (it runs in the child, out of this list's reach)
    apart = imports.read_apart

    def spied(engine, work):
        asked.append(work.keywords.get("split"))
        return apart(engine, work)

    monkeypatch.setattr(imports, "read_apart", spied)
    forked = record_forks(monkeypatch)
    with records(app) as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        if postgresql:
            session.close()  # a new connection: PostgreSQL counts the set-up's writes a moment longer
            db.engine.dispose()
        dry = import_register(session, scheme, table.header, table.rows, dry_run=True)
        session.rollback()
        assert not forked
        written = import_register(session, scheme, table.header, table.rows, allow_duplicates=True)
        assert written.written and written.added == 3 and written.unchanged == 1
        assert written.duplicates == dry.duplicates
        assert [(d.row, d.key, d.member_no or d.other_row) for d in written.duplicates] == [
            (3, "national_id", "M-1"),
            (4, "similar_name", 2),
        ]
        session.rollback()
    assert len(forked) == (1 if postgresql else 0)
    # The check apart was asked not to split its scan (its own children would not be counted above).
    assert asked == ([False] if postgresql else [])


def _typo(rng, text: str) -> str:
    """``text`` with one letter changed, dropped or doubled, or its case or accents changed."""
    k = rng.randrange(len(text))
    kind = rng.randrange(5)
    if kind == 0:
        return text[:k] + rng.choice("aeiouyk") + text[k + 1 :]
    if kind == 1 and len(text) > 3:
        return text[:k] + text[k + 1 :]
    if kind == 2:
        return text[:k] + text[k] + text[k:]
    if kind == 3:
        return text.upper()
    return text.replace("e", "é", 1)


def _register_like(rng, count: int, villages: list[str]) -> list[tuple]:
    last = ["Ndiaye", "Diop", "Faye", "Sarr", "Ndour", "Sene", "Diouf", "Thiaw", "Mbaye", "Gueye"]
    first = ["Awa", "Moussa", "Fatou", "Coumba", "Ibrahima", "Aminata", "Mamadou", "Khady", "Ousmane", "Ndeye"]
    return [
        (
            rng.choice(first), rng.choice(last), rng.choice("FM"),
            date(1950 + rng.randrange(8), rng.randrange(1, 4), rng.randrange(1, 4)), rng.choice(villages),
            f"+221 77 {rng.randrange(40):03d} 00 00" if rng.random() < 0.3 else "",
            f"{rng.randrange(60):04d} ab" if rng.random() < 0.2 else "",
        )
        for _ in range(count)
    ]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_the_scan_compared_in_numpy_finds_what_the_loop_finds(app, runner, scheme, tmp_path, monkeypatch, seed):
    """Issue 17: the register's scan is compared with the file in numpy, a list of rows at a time (``_Sieve``): the
    rows that may share a national id, a phone or names and birth date go through the per-row loop, the others'
    similar names are paired in arrays. On a register of 600 persons with few names, villages typed in other cases,
    phones and national ids shared, and 400 people to add made of its persons with one typo or one date part changed
    (and some new people), the list is the per-row loop's alone — every key found, similar names paired in numpy."""
    import random

    from mhi.members import duplicates

    rng = random.Random(seed)
    villages = ["Ndiagane", "NDIAGANE", "Pout", "Joal", "Fimela", ""]
    stored = _register_like(rng, 600, villages)
    # Some stored names with a typo: the people to add may not have their keys (their names are then read by id).
    stored = [(f, _typo(rng, last) if k % 11 == 5 else last, *rest) for k, (f, last, *rest) in enumerate(stored)]
    # Every seventh person lives in the household before, their village spelled as no household's is.
    rows = [
        f"S-{n - 1},SM-{n},{f},{last},{s},{d.isoformat()},spouse,2025-01-10,,BASE,,{v.swapcase()},{p},{i}"
        if n % 7 == 6
        else f"S-{n},SM-{n},{f},{last},{s},{d.isoformat()},head,2025-01-10,,BASE,,{v},{p},{i}"
        for n, (f, last, s, d, v, p, i) in enumerate(stored)
    ]
    assert run(runner, write(tmp_path, "many.csv", csv_of(*rows)), "--allow-duplicates").exit_code == 0
    people = []
    for f, last, s, d, v, p, i in rng.sample(stored, 300) + _register_like(rng, 100, villages):
        change = rng.randrange(4)
        if change == 0:
            last = _typo(rng, last)
        elif change == 1:
            f = _typo(rng, f)
        elif change == 2:
            d = d.replace(day=rng.randrange(1, 29))
        people.append((f, last, s, d, v.lower() if rng.random() < 0.5 else v, p, i.upper()))
    candidates = [
        Candidate(
            row=n, first_name=f, last_name=last, sex=s, date_of_birth=d, household_ref=f"N-{n}", village=v, phone=p,
            national_id=i,
        )
        for n, (f, last, s, d, v, p, i) in enumerate(people, start=1)
    ]  # fmt: skip
    monkeypatch.setattr(duplicates, "SCAN_ABOVE", 0)
    monkeypatch.setattr(duplicates, "SCAN_BATCH", 97)
    monkeypatch.setattr(duplicates, "SIEVE_FROM", 1)
    paired, spelled = [], set()
    similar, place_of = duplicates._Sieve.similar, duplicates._village_key

    def spied(self, rows, ordinals, apart, found):
        before = sum(len(v) for v in found.values())
        similar(self, rows, ordinals, apart, found)
        paired.append((len(rows), int(apart.sum()), sum(len(v) for v in found.values()) - before))

    def spelling(text):
        spelled.add(text)
        return place_of(text)

    monkeypatch.setattr(duplicates._Sieve, "similar", spied)
    monkeypatch.setattr(duplicates, "_village_key", spelling)
    with records(app) as session:
        in_numpy = find_duplicates(session, scheme.id, candidates)
    rows_compared, rows_apart, pairs = (sum(column) for column in zip(*paired, strict=True))
    assert rows_compared >= 600 and 0 < rows_apart < rows_compared and pairs > 20
    # The persons spelled as no household were compared too.
    assert {"nDIAGANE", "pOUT", "jOAL", "fIMELA"} & spelled
    monkeypatch.setattr(duplicates, "SIEVE_FROM", 10**9)
    with records(app) as session:
        one_by_one = find_duplicates(session, scheme.id, candidates)
    assert in_numpy == one_by_one
    assert {d.key for d in in_numpy if d.person_id} == set(duplicates.KEYS)
