"""members.csv (data-formats.md): validate the whole file, then add households and persons in bulk.

Rules checked for every row, every problem reported with its row and column (conventions.md "Errors"): exactly
one head per new household (a file may add people to a household already stored without repeating its head);
product_code on the head's row (blank on others, or equal); category on the head's row (blank = standard); nobody
enrols before the head; nobody is born after their enrolment; sex F/M; the relationship values; member_no unique
in the scheme and in the file. "Import behaviour": a member_no already stored with identical values is
``unchanged``, with different values a ``conflict``; one bad row writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from functools import partial

from sqlalchemy import String, bindparam, func, select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.db import engine_seeing_as_this, one_of, read_apart
from mhi.core.errors import N_
from mhi.core.tabular import (
    PREVIEW_ROWS,
    ImportResult,
    bulk_insert,
    check_columns,
    chunked,
    import_event,
    records,
    stored_rows,
)
from mhi.core.validation import FieldError, Problem
from mhi.members.duplicates import APART_FROM, Candidate, find_duplicates_apart, read_register
from mhi.members.models import CategoryChange, Household, Person
from mhi.members.services import RELATIONSHIPS, SEXES, category_of, person_date_problems, person_row, text
from mhi.schemes.models import Product

REQUIRED = (
    "household_ref",
    "member_no",
    "first_name",
    "last_name",
    "sex",
    "date_of_birth",
    "relationship",
    "enrolment_date",
)
OPTIONAL = ("exit_date", "product_code", "category", "village", "phone", "national_id")

# Compared with the stored person to tell "unchanged" from "conflict", in the file's column names.
_PERSON_COLUMNS = (
    ("household_ref", "household_ref"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("sex", "sex"),
    ("date_of_birth", "date_of_birth"),
    ("relationship", "relation"),
    ("enrolment_date", "enrolment_date"),
    ("exit_date", "exit_date"),
    ("village", "village"),
    ("phone", "phone"),
    ("national_id", "national_id"),
)

_READERS = {
    "household_ref": lambda x: v.ref(x, "household reference"),
    "member_no": lambda x: v.ref(x, "member number"),
    "first_name": lambda x: text(x, 100),
    "last_name": lambda x: text(x, 100),
    "sex": lambda x: v.choice(x, SEXES, "sex"),
    "date_of_birth": v.day,
    "relationship": lambda x: v.choice(x, RELATIONSHIPS, "relationship"),
    "enrolment_date": v.day,
    "exit_date": v.optional_day,
    "product_code": lambda x: v.code(x, "product code") if x else None,
    "category": lambda x: category_of(x) if x else None,
    "village": lambda x: text(x, 100, required=False),
    "phone": lambda x: text(x, 40, required=False),
    "national_id": lambda x: text(x, 40, required=False),
}


# (column, key of the parsed values, reader, required, the value of a blank optional cell): a national file runs
# this for each of its cells (issue 17), so what does not depend on the cell is worked out once.
_FIELDS = tuple(
    (
        column,
        "relation" if column == "relationship" else column,
        reader,
        column in REQUIRED,
        None if column in REQUIRED else reader(None),
    )
    for column, reader in _READERS.items()
)
#: Columns whose cells are each read once per file and remembered: their values repeat (names, dates, villages,
#: sex, relationship, product), and a look-up costs a tenth of a reader (issue 17). The others are mostly unique.
_REMEMBERED = frozenset(_READERS) - {"member_no", "phone", "national_id"}
_MISSING = object()


def _fields_of(header) -> tuple:
    """``_FIELDS`` for this file: each with its cell's position in a row (the last column of that name, as a dict
    of the row would keep; None when the file has no such column) and the cache of its read cells (or None)."""
    at = {name: k for k, name in enumerate(header)}
    return tuple(
        (column, key, reader, required, blank, at.get(column), {} if column in _REMEMBERED else None)
        for column, key, reader, required, blank in _FIELDS
    )


def _parse(number: int, row, fields: tuple, problems: list[Problem], file: str | None) -> dict | None:
    """One row's typed values (``relationship`` as ``relation``), or None with its problems added. ``row``: the
    file's cells, at least as many as the header's columns; ``fields``: ``_fields_of`` the header."""
    out: dict = {}
    ok = True
    for column, key, reader, required, blank, at, cache in fields:
        raw = None if at is None else row[at]
        if raw is None:
            if required:
                problems.append(Problem(N_("is required"), row=number, column=column, file=file))
                ok = False
            else:
                out[key] = blank
            continue
        if cache is not None:
            value = cache.get(raw, _MISSING)
            if value is not _MISSING:
                out[key] = value
                continue
        try:
            value = out[key] = reader(raw)
        except FieldError as exc:
            problems.append(Problem.of(exc, row=number, column=column, file=file))
            ok = False
        else:
            if cache is not None:
                cache[raw] = value
    if not ok:
        return None
    for column, message in person_date_problems(out, None):
        problems.append(Problem(message, row=number, column=column, file=file))
        ok = False
    return out if ok else None


def import_members(
    session,
    scheme,
    header,
    rows,
    *,
    dry_run: bool,
    actor=None,
    file: str | None = None,
    allow_duplicates: bool = True,
    derive=None,
) -> ImportResult:
    """Import members.csv rows into ``scheme``; nothing is written when any row is bad or ``dry_run``.

    The people to add are compared with the register and with each other (``members.duplicates``): the likely
    duplicates are in ``result.duplicates``; unless ``allow_duplicates``, any of them means nothing is written
    (the command line's ``--allow-duplicates``, the upload's "these are different people").

    ``result.touched``: the households the caller must refresh (members cannot call contributions). ``derive``
    (contributions' ``NewHouseholds``) takes the new households instead: ``derive.before_insert(households,
    persons)`` with the Household rows about to be inserted (it may add their derived columns) and each one's
    Person values by ref, ``derive.inserted(ids)`` (ref → id; no database: it runs while the server ingests the
    households), then ``derive.write()`` once households and persons are in; the new households are then not in
    ``result.touched``, only the stored ones that gained people."""
    result = ImportResult("members")
    result.problems = check_columns(header, REQUIRED, OPTIONAL, file)
    if result.problems:
        return result
    problems = result.problems
    parsed: list[tuple[int, dict]] = []
    first_row: dict[str, int] = {}
    bad_refs: set[str] = set()  # households with an unreadable row: their cross-row checks would only mislead
    fields = _fields_of(header)
    width = len(header)
    ref_at, member_at = header.index("household_ref"), header.index("member_no")  # check_columns: each once
    for number, row in enumerate(rows, start=1):
        if not any(row):
            continue
        if len(row) < width:
            row = [*row, *[None] * (width - len(row))]
        values = _parse(number, row, fields, problems, file)
        if values is None:
            bad_refs.add(row[ref_at] or "")
        member_no = row[member_at]
        if member_no:
            if member_no in first_row:
                problems.append(
                    Problem(
                        N_("%(member_no)s already appears in row %(value)s (member_no is unique)"),
                        row=number,
                        column="member_no",
                        file=file,
                        params={"member_no": member_no, "value": first_row[member_no]},
                    )
                )
                continue
            first_row[member_no] = number
        if values is not None:
            parsed.append((number, values))

    # A large written file whose likely duplicates cannot refuse it, on PostgreSQL, while this transaction has not
    # changed the register: the check starts now, in a process of its own (``core.db.read_apart``), on every row
    # read, and goes on while this one looks up what is stored, checks the rows and writes them. The rows already
    # stored (``unchanged``) are compared too; their matches are dropped when the list is taken (``_new_only``).
    # Issue 17: from the seventh file of a national register on, the check was what the import waited for.
    early = None
    if allow_duplicates and not dry_run and not problems and len(parsed) >= APART_FROM:
        engine = engine_seeing_as_this(session, (Person.__table__, Household.__table__))
        if engine is not None:
            check = partial(_checked_apart, scheme_id=scheme.id, parsed=parsed, split=False)
            early = read_apart(engine, check)
    try:
        return _checked_and_written(
            session, scheme, result, parsed, bad_refs, early, dry_run, actor, file, allow_duplicates, derive
        )
    except BaseException:
        if early is not None:
            early(abandon=True)
        raise


def _checked_apart(engine, scheme_id: int, parsed: list[tuple[int, dict]], split: bool):
    """``find_duplicates_apart`` of the rows read, their candidates made in the process that checks them (half a
    million named tuples are a second of the import's own time on a national file, issue 17)."""
    candidates = [_candidate(number, values) for number, values in parsed]
    return find_duplicates_apart(engine, scheme_id, candidates, split=split)


def _candidate(number: int, values: dict) -> Candidate:
    return Candidate(
        row=number,
        first_name=values["first_name"],
        last_name=values["last_name"],
        sex=values["sex"],
        date_of_birth=values["date_of_birth"],
        household_ref=values["household_ref"],
        village=values["village"],
        phone=values["phone"],
        national_id=values["national_id"],
    )


def _new_only(duplicates: list, rows: set[int]) -> list:
    """The likely duplicates of the file's new people among the register and each other: a check run on every
    row of the file also lists those of the rows already stored (a person of the register is their own
    duplicate)."""
    return [d for d in duplicates if d.row in rows and (d.other_row is None or d.other_row in rows)]


def _checked_and_written(
    session, scheme, result, parsed, bad_refs, early, dry_run, actor, file, allow_duplicates, derive
) -> ImportResult:
    """``import_members`` once the rows are read: ``early`` is the check for likely duplicates started on every
    row read (or None); whenever this returns without having written, it is abandoned."""
    problems = result.problems
    products = dict(session.execute(select(Product.code, Product.id).where(Product.scheme_id == scheme.id)).all())
    product_codes = {pid: code for code, pid in products.items()}
    refs = [values["household_ref"] for _, values in parsed]  # _keyed_rows takes each once
    stored_households = {
        row.ref: row
        for row in _keyed_rows(
            session,
            select(
                Household.ref,
                Household.id,
                Household.product_id,
                Household.category,
                Household.enrolment_date,
                Household.strike_off_date,
                Household.exit_date,
            ).where(Household.scheme_id == scheme.id),
            Household.ref,
            refs,
        )
    }
    stored_people = {
        row.member_no: row
        for row in _keyed_rows(
            session,
            select(
                Person.member_no,
                Household.ref.label("household_ref"),
                Person.first_name,
                Person.last_name,
                Person.sex,
                Person.date_of_birth,
                Person.relation,
                Person.enrolment_date,
                Person.exit_date,
                Person.village,
                Person.phone,
                Person.national_id,
                Household.product_id,
                Household.category,
            )
            .join(Household, Household.id == Person.household_id)
            .where(Person.scheme_id == scheme.id),
            Person.member_no,
            [values["member_no"] for _, values in parsed],
        )
    }

    new_rows: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for number, values in parsed:
        stored = stored_people.get(values["member_no"])
        if stored is not None:
            difference = _difference(values, stored, product_codes)
            if difference is None:
                result.unchanged += 1
            else:
                problems.append(
                    Problem(
                        N_("conflict: %(value)s"),
                        row=number,
                        column=difference[0],
                        file=file,
                        params={"value": difference[1]},
                    )
                )
            continue
        new_rows[values["household_ref"]].append((number, values))

    households_to_add: list[dict] = []
    persons_to_add: list[tuple[str, dict]] = []
    touched: set[int] = set()
    for ref, members in new_rows.items():
        if ref in bad_refs:
            continue
        stored = stored_households.get(ref)
        if stored is not None:
            ok = _check_additions(ref, members, stored, product_codes, problems, file)
            if ok:
                touched.add(stored.id)
        else:
            household = _check_new_household(ref, members, products, problems, file)
            if household is not None:
                households_to_add.append(household)
        persons_to_add.extend((ref, values) for _, values in members)
    apart = early is not None and not problems and bool(persons_to_add)
    if early is not None and not apart:
        early(abandon=True)
    if problems:
        return result

    # Likely duplicates that cannot refuse the file are listed while the rows are written (below). On PostgreSQL,
    # while this transaction has not changed the register, the whole check runs on a connection of its own (which
    # sees the register as this one does, without the rows being copied): for a large file in a process of its own
    # since the rows were read (``early``), its list taken once everything is written; for a smaller one during
    # the persons' COPY. Otherwise the register is read now, and only the comparisons run during the persons' COPY.
    deferred = False
    if apart:
        duplicates = early
    else:
        candidates = [_candidate(number, values) for ref, members in new_rows.items() for number, values in members]
        deferred = allow_duplicates and not dry_run
        engine = engine_seeing_as_this(session, (Person.__table__, Household.__table__)) if deferred else None
        if engine is not None:
            duplicates = partial(find_duplicates_apart, engine, scheme.id, candidates)
        else:
            duplicates = read_register(session, scheme.id, candidates)
            deferred = False
        if not deferred:
            result.duplicates = duplicates()
    result.added = len(persons_to_add)
    result.preview = [
        {column: values["relation" if column == "relationship" else column] for column in (*REQUIRED, *OPTIONAL)}
        for _, values in persons_to_add[:PREVIEW_ROWS]
    ]
    if dry_run or not persons_to_add or (result.duplicates and not allow_duplicates):
        return result
    ids = {ref: row.id for ref, row in stored_households.items()}
    for household in households_to_add:
        household["scheme_id"] = scheme.id
    if derive is not None and households_to_add:
        members_of: dict[str, list[dict]] = defaultdict(list)
        for ref, values in persons_to_add:
            members_of[ref].append(values)
        derive.before_insert(households_to_add, members_of)
    added: dict[str, int] = {}

    def with_ids(new_ids: list[int]) -> None:
        # Python, while the server ingests the households (bulk_insert's ``meanwhile``, issue 17): their ids are
        # known before the copy.
        added.update((household["ref"], hid) for household, hid in zip(households_to_add, new_ids, strict=True))
        ids.update(added)
        if derive is not None and added:
            derive.inserted(added)
        if deferred:
            result.duplicates = duplicates()

    new_ids = bulk_insert(session, Household.__table__, households_to_add, return_ids=True, meanwhile=with_ids)
    # The persons' rows are made as the COPY takes them (a stream): the server ingests each while the next is
    # made, and the half a million rows of a national file are never all held at once (issue 17: made before the
    # COPY, they kept the import's process busy while the server waited).
    bulk_insert(
        session,
        Person.__table__,
        (person_row(scheme.id, ids[ref], values, table=True) for ref, values in persons_to_add),
    )
    record(
        session,
        **import_event(scheme, result, actor=actor, action="members", file=file, households=len(households_to_add)),
    )
    # New households and stored ones that gained people: the caller derives their exit and strike-off dates,
    # coverage and stored ledgers (contributions.imports.import_register), in this transaction.
    if derive is not None and added:
        derive.write()
    if apart:
        result.duplicates = _new_only(duplicates(), {n for members in new_rows.values() for n, _ in members})
    result.touched = sorted(touched) if derive is not None else sorted({*touched, *new_ids})
    result.written = True
    return result


def _keyed_rows(session, statement, key_column, keys) -> list:
    """The rows of ``statement`` (already restricted to the scheme) whose ``key_column`` is one of ``keys`` (each
    may repeat), found through the column's index: one text parameter on PostgreSQL (split into an array by the
    server), IN lists of 5,000 elsewhere. Issue 17: a national register arrives as files, and scanning the scheme
    for each file made every file slower than the one before; each file's look-ups now depend on the file only."""
    if session.get_bind().dialect.name != "postgresql":
        rows: list = []
        for part in chunked(sorted(set(keys)), 5000):
            rows.extend(session.execute(statement.where(one_of(session, key_column, part))))
        return rows
    # One text parameter split by the server: the keys are references (letters, digits and / - _ ., never a
    # comma: core.validation.ref read them), and psycopg's dumping of a 500,000-element array cost about a second
    # of Python a national file (issue 17). (Were a comma to come through, its key would be looked for as two and
    # not found: the insert would then meet the table's unique key, never a silent double.)
    #
    # Joined to the keys, and bounded by their least and greatest (in the server's order, the column's collation
    # being the database's, as both callers' are): the column's index then reads only the stored keys in the
    # file's range. A file of new households — member numbers and references after the register's — finds none
    # at once; the plan for ``= ANY(keys)`` was a scan of the scheme's persons (1.3 s of the server's time, the
    # import waiting, at 5 M stored persons: issue 17).
    # In the file's order, each once: the server needs no order, and sorting half a million keys that a set has
    # scattered cost a third of a second of a national file (issue 17).
    joined = bindparam(None, ",".join(dict.fromkeys(keys)), type_=String)
    wanted = (
        select(func.unnest(func.string_to_array(joined, ",")).label("key"))
        .cte("wanted")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    least = select(func.min(wanted.c.key)).scalar_subquery()
    greatest = select(func.max(wanted.c.key)).scalar_subquery()
    bounded = statement.join(wanted, key_column == wanted.c.key).where(key_column.between(least, greatest))
    return list(session.execute(bounded))


def _difference(values: dict, stored, product_codes: dict[int, str]) -> tuple[str, str] | None:
    """None when the row says what is stored; else (column, the first difference in words)."""
    member = values["member_no"]
    for column, key in _PERSON_COLUMNS:
        mine = values.get(key)
        theirs = getattr(stored, key)
        if (mine or None) != (theirs or None):
            return column, f"{member} is stored with {column} {_show(theirs)}, the file says {_show(mine)}"
    if values["relation"] == "head":
        code = product_codes.get(stored.product_id)
        if values["product_code"] not in (None, code):
            return "product_code", f"{member}'s household has product {code}, the file says {values['product_code']}"
        category = values["category"] or "standard"
        if category != stored.category:
            return "category", f"{member}'s household has category {stored.category}, the file says {category}"
    return None


def _show(value) -> str:
    """A value for a message: dates ISO, blanks named."""
    if value in (None, ""):
        return "(blank)"
    return value.isoformat() if isinstance(value, date) else repr(value)


def _check_additions(ref: str, members, stored, product_codes, problems: list[Problem], file) -> bool:
    """People added to a household already stored: no second head, its product, not before its enrolment."""
    before = len(problems)
    code = product_codes.get(stored.product_id)
    for number, values in members:
        if values["relation"] == "head":
            problems.append(
                Problem(
                    N_("household %(ref)s already has its head (exactly one head per household)"),
                    row=number,
                    column="relationship",
                    file=file,
                    params={"ref": ref},
                )
            )
        if values["product_code"] not in (None, code):
            problems.append(
                Problem(
                    N_("household %(ref)s has product %(code)s, not %(product_code)s"),
                    row=number,
                    column="product_code",
                    file=file,
                    params={"ref": ref, "code": code, "product_code": values["product_code"]},
                )
            )
        if values["category"] not in (None, stored.category):
            problems.append(
                Problem(
                    N_("household %(ref)s has category %(category)s, not %(category2)s"),
                    row=number,
                    column="category",
                    file=file,
                    params={"ref": ref, "category": stored.category, "category2": values["category"]},
                )
            )
        for column, message in person_date_problems(values, stored.enrolment_date):
            problems.append(Problem(message, row=number, column=column, file=file))
        for gone, what in ((stored.strike_off_date, "was struck off"), (stored.exit_date, "left")):
            if gone is not None and values["enrolment_date"] >= gone:
                problems.append(
                    Problem(
                        N_("household %(ref)s %(what)s on %(gone)s: enrol the person in a new household"),
                        row=number,
                        column="enrolment_date",
                        file=file,
                        params={"ref": ref, "what": what, "gone": gone.isoformat()},
                    )
                )
    return len(problems) == before


def _check_new_household(ref: str, members, products: dict[str, int], problems: list[Problem], file) -> dict | None:
    """A new household: exactly one head row carrying the product (and category); the Household row to add."""
    heads = [(number, values) for number, values in members if values["relation"] == "head"]
    if not heads:
        problems.append(
            Problem(
                N_("household %(ref)s has no head row (exactly one head per household)"),
                row=members[0][0],
                column="relationship",
                file=file,
                params={"ref": ref},
            )
        )
        return None
    if len(heads) > 1:
        for number, _ in heads[1:]:
            problems.append(
                Problem(
                    N_("household %(ref)s already has its head in row %(value)s (exactly one head per household)"),
                    row=number,
                    column="relationship",
                    file=file,
                    params={"ref": ref, "value": heads[0][0]},
                )
            )
        return None
    head_row, head = heads[0]
    ok = True
    code = head["product_code"]
    if code is None:
        problems.append(Problem(N_("is required on the head's row"), row=head_row, column="product_code", file=file))
        ok = False
    elif code not in products:
        problems.append(
            Problem(
                N_("%(code)s is not a product of this scheme"),
                row=head_row,
                column="product_code",
                file=file,
                params={"code": code},
            )
        )
        ok = False
    category = head["category"] or "standard"
    for number, values in members:
        if values is head:
            continue
        if values["product_code"] not in (None, code):
            problems.append(
                Problem(
                    N_("must be blank or the head's (%(code)s)"),
                    row=number,
                    column="product_code",
                    file=file,
                    params={"code": code},
                )
            )
            ok = False
        if values["category"] not in (None, category):
            problems.append(
                Problem(
                    N_("must be blank or the head's (%(category)s)"),
                    row=number,
                    column="category",
                    file=file,
                    params={"category": category},
                )
            )
            ok = False
        for column, message in person_date_problems(values, head["enrolment_date"]):
            problems.append(Problem(message, row=number, column=column, file=file))
            ok = False
    if not ok:
        return None
    phone = head["phone"] or next((values["phone"] for _, values in members if values["phone"]), "")
    return {
        "ref": ref,
        "product_id": products[code],
        "category": category,
        "village": head["village"] or "",
        "phone": phone,
        "language": "",
        "enrolment_date": head["enrolment_date"],
    }


# -- categories.csv --------------------------------------------------------------------------------------------

CATEGORY_COLUMNS = ("household_ref", "category", "from_date")


def dated_rows(
    header, rows, readers: dict, problems: list, *, optional: str, file: str | None
) -> list[tuple[int, dict]]:
    """The rows of a per-household dated file (categories.csv, product_changes.csv): each cell read by its
    column's reader, every column required but ``optional``, and the natural key (household_ref, from_date) unique
    in the file. Returns (row number, values) of the good rows; each problem names its row and is appended."""
    parsed: list[tuple[int, dict]] = []
    first_row: dict[tuple, int] = {}
    for number, cells in records(header, rows):
        values: dict = {}
        for column, reader in readers.items():
            raw = cells.get(column)
            if raw is None and column != optional:
                problems.append(Problem(N_("is required"), row=number, column=column, file=file))
                continue
            try:
                values[column] = reader(raw)
            except FieldError as exc:
                problems.append(Problem.of(exc, row=number, column=column, file=file))
        if len(values) < len(readers):
            continue
        key = (values["household_ref"], values["from_date"])
        if key in first_row:
            problems.append(
                Problem(
                    N_(
                        "%(value)s from %(value2)s already appears in row %(value3)s (household_ref and from_date are unique together)"
                    ),
                    row=number,
                    column="from_date",
                    file=file,
                    params={"value": key[0], "value2": key[1].isoformat(), "value3": first_row[key]},
                )
            )
            continue
        first_row[key] = number
        parsed.append((number, values))
    return parsed


def import_categories(
    session, scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> ImportResult:
    """Import categories.csv (data-formats.md): each row puts a household in a category from ``from_date`` on.

    Natural key (household_ref, from_date): a stored pair with the same category is ``unchanged``, with another
    a ``conflict``. An unknown household, a from_date before the household's enrolment, a pair repeated in the
    file: a problem naming the row, and nothing is written. The households touched are in ``result.touched``: the
    caller refreshes them (``contributions.imports.import_category_changes``; contributions.md §2 reads the
    category on each period's start).
    """
    result = ImportResult("categories")
    result.problems = check_columns(header, CATEGORY_COLUMNS, (), file)
    if result.problems:
        return result
    readers = {
        "household_ref": lambda x: v.ref(x, "household_ref"),
        "category": category_of,  # blank = standard (data-formats.md)
        "from_date": v.day,
    }
    problems = result.problems
    parsed = dated_rows(header, rows, readers, problems, optional="category", file=file)
    refs = sorted({values["household_ref"] for _, values in parsed})
    households = {
        row.ref: row
        for row in stored_rows(
            session,
            select(Household.ref, Household.id, Household.enrolment_date).where(Household.scheme_id == scheme.id),
            Household.ref,
            refs,
        )
    }
    ids = [row.id for row in households.values()]
    stored: dict[tuple[int, date], str] = {}
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        for household_id, from_date, category in session.execute(
            select(CategoryChange.household_id, CategoryChange.from_date, CategoryChange.category).where(
                CategoryChange.household_id.in_(chunk)
            )
        ):
            stored[(household_id, from_date)] = category
    to_add: list[dict] = []
    for number, values in parsed:
        household = households.get(values["household_ref"])
        if household is None:
            problems.append(
                Problem(
                    N_("%(household_ref)s is not a household of this scheme"),
                    row=number,
                    column="household_ref",
                    file=file,
                    params={"household_ref": values["household_ref"]},
                )
            )
            continue
        if values["from_date"] < household.enrolment_date:
            problems.append(
                Problem(
                    N_("is before the household's enrolment on %(enrolment_date)s"),
                    row=number,
                    column="from_date",
                    file=file,
                    params={"enrolment_date": household.enrolment_date.isoformat()},
                )
            )
            continue
        existing = stored.get((household.id, values["from_date"]))
        if existing is not None:
            if existing == values["category"]:
                result.unchanged += 1
            else:
                problems.append(
                    Problem(
                        N_(
                            "conflict: %(household_ref)s from %(from_date)s is stored with category %(existing)s, the file says %(category)s"
                        ),
                        row=number,
                        column="category",
                        file=file,
                        params={
                            "household_ref": values["household_ref"],
                            "from_date": values["from_date"].isoformat(),
                            "existing": existing,
                            "category": values["category"],
                        },
                    )
                )
            continue
        to_add.append({**values, "household_id": household.id})
    if problems:
        return result
    result.added = len(to_add)
    result.preview = [
        {"household_ref": r["household_ref"], "category": r["category"], "from_date": r["from_date"]}
        for r in to_add[:PREVIEW_ROWS]
    ]
    if dry_run or not to_add:
        return result
    bulk_insert(
        session,
        CategoryChange.__table__,
        [
            {
                "scheme_id": scheme.id,
                "household_id": r["household_id"],
                "from_date": r["from_date"],
                "category": r["category"],
                "reason": "",
                "created_by_id": getattr(actor, "id", None),
            }
            for r in to_add
        ],
    )
    record(session, **import_event(scheme, result, actor=actor, action="categories", file=file))
    result.touched = sorted({r["household_id"] for r in to_add})
    result.written = True
    return result
