"""The register's read side: search, and the lists a scheme manager works from (arrears for the collector's
round, households about to lapse, households struck off), each exportable as CSV.

Search is a few indexed queries whatever the register's size: exact member number, household reference and
phone (its last nine digits), and prefixes of the folded first or last name (``members.services.name_key``)
read as an index range; each branch is limited to the page asked for, so a common name costs no more than a
rare one. The extra words of a name ("fatou ndiaye") are tested on the distinct pairs of name keys met while
walking the name index (``_name_walk``), not on every person of the first word's prefix, and the village
branch reads each spelling of the village apart (``_heads_of_villages``): at 5 M persons in one scheme every
search stays a few milliseconds (docs/scale.md "Member search at 5 M persons"). The arrears list and the household page need the contribution rules, so they are contributions'
(``mhi.contributions.queries``), built on ``HouseholdLine`` and ``head_columns`` here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Date, and_, bindparam, case, func, literal, or_, select, tuple_, union_all
from sqlalchemy.orm import aliased, selectinload

from mhi.core import sheets
from mhi.core.validation import REF_RE
from mhi.members.models import WITH_PHONE, CategoryChange, Household, Person, ProductChange
from mhi.members.services import name_key, phone_key


@dataclass
class SearchHit:
    """One person found, with their household."""

    person_id: int
    household_id: int
    member_no: str
    first_name: str
    last_name: str
    relation: str
    exit_date: date | None
    household_ref: str
    village: str
    phone: str
    strike_off_date: date | None


@dataclass
class Page:
    """One page of results; ``has_next`` instead of a total, which would cost a count over every match."""

    items: list
    page: int
    per_page: int
    has_next: bool


def _next_prefix(prefix: str) -> str:
    """The smallest text after every text starting with ``prefix`` (keys are a–z, 0–9 and spaces)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _starts_with(column, prefix: str):
    """``column`` starts with ``prefix``, as an index range (exact for keys: "C" collation, module docstring)."""
    return and_(column >= prefix, column < _next_prefix(prefix))


def _words_match(count: int, first_key, last_key):
    """SQL, 1 or 0: for each of ``count`` words, some word of the first or last name starts with it. The words
    are bound as their two patterns (``word%`` as ``start_i``, ``% word%`` as ``inner_i``): built once a shape."""
    tests = [
        or_(
            first_key.like(bindparam(f"start_{i}")),
            first_key.like(bindparam(f"inner_{i}")),
            last_key.like(bindparam(f"start_{i}")),
            last_key.like(bindparam(f"inner_{i}")),
        )
        for i in range(count)
    ]
    return case((and_(*tests), 1), else_=0)


@functools.cache
def _name_walk(key: str, other: str, count: int):
    """SQL: the ids of the first ``wanted`` persons of the scheme whose ``key`` name key starts with ``first``
    (up to ``after``, ``_next_prefix(first)``) and whose names have a word starting with each of ``count`` more
    words (``_words_match``), in the order (key, other, id): the rows of ``select(Person.id).where(scheme,
    _starts_with(key, first), words match).order_by(key, other, Person.id).limit(wanted)``, the query this was.

    That query reads every row of the prefix (a common first name is 100,000 persons in a national register)
    and tests the words on each, since "% word%" can be served by no index. The words depend on the pair of
    name keys only, so this walks the index (scheme_id, key, other, id) in its order instead, a recursive query
    of one index probe a step: within a pair that matches, to the next person; past a pair that does not, to
    the first person of the next pair. It reads the distinct name pairs before the last person wanted and the
    persons wanted, not the persons of the pairs that do not match. Built once per shape (bound parameters)."""
    probe = aliased(Person)
    k, o = getattr(probe, key), getattr(probe, other)

    def step(*after):
        return (
            select(probe.id)
            .where(probe.scheme_id == bindparam("scheme_id"), k < bindparam("after"), *after)
            .order_by(k, o, probe.id)
            .limit(1)
            .scalar_subquery()
        )

    found = aliased(Person)
    hit = _words_match(count, found.first_key, found.last_key)
    start = select(
        found.id.label("id"),
        getattr(found, key).label("k"),
        getattr(found, other).label("o"),
        hit.label("hit"),
        hit.label("n"),
    ).where(found.id == step(k >= bindparam("first")))
    walk = start.cte("name_walk", recursive=True)
    nxt = aliased(Person)
    hit = _words_match(count, nxt.first_key, nxt.last_key)
    following = case(
        (walk.c.hit == 1, step(tuple_(k, o, probe.id) > tuple_(walk.c.k, walk.c.o, walk.c.id))),
        else_=step(tuple_(k, o) > tuple_(walk.c.k, walk.c.o)),
    )
    walk = walk.union_all(
        select(nxt.id, getattr(nxt, key), getattr(nxt, other), hit, walk.c.n + hit)
        .join_from(walk, nxt, nxt.id == following)
        .where(walk.c.n < bindparam("wanted", type_=BigInteger))
    )
    return (
        select(walk.c.id)
        .where(walk.c.hit == 1)
        .order_by(walk.c.k, walk.c.o, walk.c.id)
        .limit(bindparam("wanted", type_=BigInteger))  # page × per_page: past 2³¹ for a hostile page
    )


def _walk_names(session, scheme_id: int, key: str, other: str, first: str, words: list[str], wanted: int):
    """``_name_walk`` run: the ids, in order."""
    params = {"scheme_id": scheme_id, "first": first, "after": _next_prefix(first), "wanted": wanted}
    for i, word in enumerate(words):
        params[f"start_{i}"], params[f"inner_{i}"] = word + "%", "% " + word + "%"
    return session.scalars(_name_walk(key, other, len(words)), params)


#: The matches a search pages through at most: past them a clerk narrows the search (more of the name, a
#: village). A page beyond is empty without a query, so a huge page number never makes a search read the whole
#: register (a one-letter prefix matches a million persons at national scale).
MAX_RESULTS = 10_000


def search_register(session, scheme_id: int, text: str, *, page: int = 1, per_page: int = 25) -> Page:
    """Persons matching ``text``: member number, household reference, phone, village, or the start of a name
    ("ndi", "fatou ndiaye", "aissatou" for "Aïssatou"); exact matches first, then names, then villages."""
    query = (text or "").strip()
    page = max(1, page)
    wanted = page * per_page + 1  # one more than the page's end tells whether a next page exists
    if not query or (page - 1) * per_page >= MAX_RESULTS:
        return Page([], page, per_page, False)
    ids: list[int] = []
    seen: set[int] = set()

    def add(found) -> None:
        for pid in found:
            if pid not in seen:
                seen.add(pid)
                ids.append(pid)

    in_scheme = Person.scheme_id == scheme_id
    if REF_RE.match(query):
        variants = list({query, query.upper()})
        add(session.scalars(select(Person.id).where(in_scheme, Person.member_no.in_(variants))))
        add(
            session.scalars(
                select(Person.id)
                .join(Household, Household.id == Person.household_id)
                .where(Household.scheme_id == scheme_id, Household.ref.in_(variants))
                .order_by(Person.member_no)
            )
        )
    # A phone number: digits with spaces, dots, dashes or a leading +.
    if sum(c.isdigit() for c in query) >= 6 and all(c.isdigit() or c in " +-./" for c in query):
        wanted_phone = Person.phone_key == phone_key(query)
        add(session.scalars(select(Person.id).where(in_scheme, WITH_PHONE, wanted_phone).limit(wanted)))
    words = name_key(query).split()
    # A member number, household reference or phone found exactly is what the clerk typed: no name search.
    if words and any(c.isalpha() for c in query) and not ids:
        first, rest = words[0], words[1:]
        for key, other in (("last_key", "first_key"), ("first_key", "last_key")):
            if rest:
                add(_walk_names(session, scheme_id, key, other, first, rest, wanted))
            else:
                column = getattr(Person, key)
                add(
                    session.scalars(
                        select(Person.id)
                        .where(in_scheme, _starts_with(column, first))
                        .order_by(column, getattr(Person, other), Person.id)
                        .limit(wanted)
                    )
                )
        if len(ids) < wanted:
            add(session.scalars(_heads_of_villages(scheme_id, query, wanted)))
    start = (page - 1) * per_page
    chosen = ids[start : start + per_page]
    return Page(_hits(session, chosen), page, per_page, len(ids) > start + per_page)


def _heads_of_villages(scheme_id: int, query: str, wanted: int):
    """SQL: the first ``wanted`` heads of household of the village(s) spelt ``query`` (as typed, capitalised,
    in capitals or in small letters), by village and household reference.

    One part per spelling, each read in the order of the index (scheme_id, village, ref) as far as ``wanted``,
    then merged: with ``village IN (…)`` PostgreSQL walked the whole scheme's index in (village, ref) order
    instead, filtering on the village (1,000,000 households read for a village that does not exist)."""
    parts = []
    for village in sorted({query, query.title(), query.upper(), query.lower()}):
        part = (
            select(Person.id.label("id"), Household.village.label("village"), Household.ref.label("ref"))
            .join(Household, Household.id == Person.household_id)
            .where(Household.scheme_id == scheme_id, Household.village == village, Person.relation == "head")
            .order_by(Household.ref)
            .limit(wanted)
            .subquery()
        )
        parts.append(select(part))
    merged = union_all(*parts).subquery()
    return select(merged.c.id).order_by(merged.c.village, merged.c.ref).limit(wanted)


def _hits(session, person_ids: list[int]) -> list[SearchHit]:
    """The page's persons with their household, in the order found."""
    if not person_ids:
        return []
    rows = session.execute(
        select(
            Person.id,
            Person.household_id,
            Person.member_no,
            Person.first_name,
            Person.last_name,
            Person.relation,
            Person.exit_date,
            Household.ref,
            Household.village,
            Person.phone,
            Household.phone,
            Household.strike_off_date,
        )
        .join(Household, Household.id == Person.household_id)
        .where(Person.id.in_(person_ids))
    ).all()
    by_id = {row[0]: row for row in rows}
    hits = []
    for pid in person_ids:
        row = by_id[pid]
        hits.append(SearchHit(*row[:9], phone=row[9] or row[10], strike_off_date=row[11]))
    return hits


# -- the manager's lists -------------------------------------------------------------------------------------


@dataclass
class HouseholdLine:
    """A household in one of the lists."""

    household_id: int
    ref: str
    head: str
    village: str
    phone: str
    enrolment_date: date
    strike_off_date: date | None = None
    arrears: Decimal | None = None
    paid_until: date | None = None
    reenrolled_as: str | None = None


def head_columns():
    """The household columns and its head's name (an outer join: a list never drops a household)."""
    head = aliased(Person)
    columns = (
        Household.id,
        Household.ref,
        head.first_name,
        head.last_name,
        Household.village,
        Household.phone,
        Household.enrolment_date,
        Household.strike_off_date,
    )
    joined = select(*columns).outerjoin(head, and_(head.household_id == Household.id, head.relation == "head"))
    return joined


def household_line(row) -> HouseholdLine:
    """A list line from a ``_head_columns`` row."""
    hid, ref, first, last, village, phone, enrolment, strike_off = row[:8]
    head = f"{first} {last}" if first is not None else ""
    return HouseholdLine(hid, ref, head, village or "", phone or "", enrolment, strike_off)


def households_about_to_lapse(session, scheme, on: date, days: int = 30) -> list[HouseholdLine]:
    """Households whose strike-off date falls within ``days`` days from ``on`` (contributions.md §5: unless they
    pay before it), soonest first."""
    rows = session.execute(
        head_columns()
        .where(
            Household.scheme_id == scheme.id,
            Household.strike_off_date.between(on, on + timedelta(days=days)),
        )
        .order_by(Household.strike_off_date, Household.village, Household.ref)
    )
    return [household_line(row) for row in rows]


def households_struck_off(
    session, scheme, on: date, *, since: date | None = None, limit: int | None = None, offset: int = 0
) -> list[HouseholdLine]:
    """Households struck off on or before ``on`` (from ``since`` when given), latest first, with the household
    that re-enrolled them if any (contributions.md §5)."""
    later = aliased(Household)
    conditions = [Household.scheme_id == scheme.id, Household.strike_off_date <= on]
    if since is not None:
        conditions.append(Household.strike_off_date >= since)
    statement = (
        head_columns()
        .add_columns(select(later.ref).where(later.previous_household_id == Household.id).limit(1).scalar_subquery())
        .where(*conditions)
        .order_by(Household.strike_off_date.desc(), Household.ref)
        .offset(offset)
    )
    if limit is not None:
        statement = statement.limit(limit)
    lines = []
    for row in session.execute(statement):
        line = household_line(row)
        line.reenrolled_as = row[8]
        lines.append(line)
    return lines


def _list_columns(*names: str, currency: str | None = None) -> list[sheets.Column]:
    """The columns of a household list, by name, with their headers in the user's language."""
    known = {
        "village": sheets.Column(_l("Village")),
        "household_ref": sheets.Column(_l("Household")),
        "head": sheets.Column(_l("Head of household")),
        "phone": sheets.Column(_l("Phone")),
        "arrears": sheets.Column(_l("Arrears"), "amount", currency),
        "paid_until": sheets.Column(_l("Paid until"), "date"),
        "strike_off_date": sheets.Column(_l("Struck off on"), "date"),
        "reenrolled_as": sheets.Column(_l("Enrolled again as")),
    }
    return [known[name] for name in names]


def arrears_table(lines: list[HouseholdLine], currency: str) -> sheets.Table:
    """The arrears list (the collector's round): village, household, head, phone, arrears, paid until."""
    columns = _list_columns("village", "household_ref", "head", "phone", "arrears", "paid_until", currency=currency)
    rows = [[x.village, x.ref, x.head, x.phone, x.arrears, x.paid_until] for x in lines]
    return sheets.Table(_l("In arrears"), columns, rows)


def about_to_lapse_table(lines: list[HouseholdLine], currency: str) -> sheets.Table:
    """The households about to be struck off, the soonest first."""
    columns = _list_columns("strike_off_date", "household_ref", "head", "village", "phone")
    rows = [[x.strike_off_date, x.ref, x.head, x.village, x.phone] for x in lines]
    return sheets.Table(_l("About to be struck off"), columns, rows)


def struck_off_table(lines: list[HouseholdLine], currency: str) -> sheets.Table:
    """The households struck off, with the household that enrolled them again if any."""
    columns = _list_columns("strike_off_date", "household_ref", "head", "village", "phone", "reenrolled_as")
    rows = [[x.strike_off_date, x.ref, x.head, x.village, x.phone, x.reenrolled_as] for x in lines]
    return sheets.Table(_l("Struck off"), columns, rows)


# -- the household page --------------------------------------------------------------------------------------


def household_by_ref(session, scheme_id: int, ref: str) -> Household | None:
    """A household of the scheme by its reference (as typed, or in capitals)."""
    text = (ref or "").strip()
    return session.scalar(
        select(Household).where(Household.scheme_id == scheme_id, Household.ref.in_({text, text.upper()}))
    )


def category_changes(session, household: Household) -> list[CategoryChange]:
    """The household's dated category changes, oldest first (data-formats.md categories.csv)."""
    return list(
        session.scalars(
            select(CategoryChange).where(CategoryChange.household_id == household.id).order_by(CategoryChange.from_date)
        )
    )


def product_changes(session, household: Household) -> list[ProductChange]:
    """The household's dated product changes, oldest first, with their products (docs/decisions.md "Product
    changes")."""
    return list(
        session.scalars(
            select(ProductChange)
            .where(ProductChange.household_id == household.id)
            .order_by(ProductChange.from_date)
            .options(selectinload(ProductChange.product))
        )
    )


def product_id_on(day: date):
    """SQL: the household's product id on ``day`` — the rule of ``members.products.product_on`` (the latest
    product change dated on or before the day, else the product at enrolment) as a column expression, so that a
    list (cards, the API, FHIR) joins the product of the day in the same query. Tested against product_on."""
    latest = (
        select(ProductChange.product_id)
        .where(ProductChange.household_id == Household.id, ProductChange.from_date <= day)
        .order_by(ProductChange.from_date.desc())
        .limit(1)
        .correlate(Household)
        .scalar_subquery()
    )
    return func.coalesce(latest, Household.product_id)


#: The first day of a household's first product interval in ``product_periods`` (before any enrolment).
_BEFORE_ANY = date(1900, 1, 1)


def product_periods(scheme_id: int):
    """SQL: the household's product intervals of a scheme, one row (household_id, product_id, start, end) per
    interval [start, end) with ``end`` NULL for the one in force — the rule of ``product_id_on`` laid out over
    time (the product at enrolment until the first change, then each change until the next), so that a query over
    a period (exposure, claims by product) joins the product of each day. The first interval starts before any
    enrolment."""
    initial = select(
        Household.id.label("household_id"),
        Household.product_id.label("product_id"),
        literal(_BEFORE_ANY, Date).label("start"),
    ).where(Household.scheme_id == scheme_id)
    changes = select(
        ProductChange.household_id.label("household_id"),
        ProductChange.product_id.label("product_id"),
        ProductChange.from_date.label("start"),
    ).where(ProductChange.scheme_id == scheme_id)
    laid = union_all(initial, changes).subquery()
    return select(
        laid.c.household_id,
        laid.c.product_id,
        laid.c.start,
        func.lead(laid.c.start).over(partition_by=laid.c.household_id, order_by=laid.c.start).label("end"),
    ).subquery("product_period")


def product_code_on(session, household: Household, day: date) -> str:
    """The code of the household's product on ``day`` (one query)."""
    from mhi.schemes.models import Product

    return session.scalar(
        select(Product.code).join(Household, product_id_on(day) == Product.id).where(Household.id == household.id)
    )
