"""The register's write side: enrol a household with its members, add a person (a newborn), record exits, link a
re-enrolment to the struck-off household it replaces, correct a person or a household with a reason (issue 12: a
correction that would decide an already decided claim otherwise is refused, through the caller's guard).

Rules owned here (data-formats.md "members.csv"): exactly one head per household; the household's enrolment date
is its head's and nobody enrols before it; nobody is born after their enrolment; sex ``F``/``M``; the five
relationship values; member_no unique in the scheme (``<household_ref>-NN`` when not given). contributions.md §5:
a struck-off household stays off, coming back is a new household linked to the old one. Every write records an
audit row and returns what it changed (the household, or the person and so their household): the caller refreshes
the household's derived data (``contributions.services.refresh_households``: exit, strike-off, coverage spans,
stored ledgers) in the same transaction, since members comes before contributions. Services flush, never commit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_
from mhi.core.numbering import allocate_numbers
from mhi.core.validation import FieldError, InputRejected, Problem
from mhi.members.models import CategoryChange, Household, Person
from mhi.schemes.models import Product, Scheme

SEXES = ("F", "M")
RELATIONSHIPS = ("head", "spouse", "child", "parent", "other")
EXIT_REASONS = ("death", "resignation", "other")
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")
MEMBER_NO_LENGTH = Person.__table__.c.member_no.type.length


class RegisterError(InputRejected):
    """Input for the register refused; ``problems`` say which person (row = position, 1 first) and field."""


@lru_cache(maxsize=1 << 16)
def name_key(text: str | None) -> str:
    """A name folded for search: no accents, no case, letters and digits separated by single spaces
    ("Aïssatou Lô" → "aissatou lo"), so a clerk typing without accents still finds the person. Cached: a
    register repeats a few thousand names, and an import folds each one twice (the duplicate check, the row)."""
    text = text or ""
    if text.isascii():
        plain = text.lower()  # the common case, ten times faster (imports fold every name)
    else:
        decomposed = unicodedata.normalize("NFKD", text)
        plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return _NOT_KEY.sub(" ", plain).strip()[:100]


def phone_key(text: str | None) -> str:
    """The phone's last nine digits: "+221 76 352 37 08" and "763523708" are the same number. Any digit counts
    (``str.isdigit``); a plain-ASCII number, the common case, is cleaned by one regular expression."""
    text = text or ""
    if text.isascii():
        return _NOT_DIGIT.sub("", text)[-9:]
    return "".join(c for c in text if c.isdigit())[-9:]


@dataclass
class PersonData:
    """A person as a form or a file gives them (strings or typed values; validated by ``check_person``)."""

    first_name: str
    last_name: str
    sex: str
    date_of_birth: date | str
    relation: str
    enrolment_date: date | str
    member_no: str | None = None
    exit_date: date | str | None = None
    village: str = ""
    phone: str = ""
    national_id: str = ""


def text(value, limit: int, *, required: bool = True) -> str:
    """A stripped text of at most ``limit`` characters (required unless said otherwise)."""
    result = str(value if value is not None else "").strip()
    if required and not result:
        raise FieldError(N_("is required"))
    if len(result) > limit:
        raise FieldError(N_("is longer than %(limit)s characters"), limit=limit)
    return result


def category_of(value) -> str:
    """A household category: a free word, blank = ``standard`` (data-formats.md)."""
    return text(value, 40, required=False) or "standard"


def check_person(data: PersonData, problems: list[Problem], row: int | None = None) -> dict | None:
    """Typed values of a person, or None with the problems added (row = the person's position)."""
    out: dict = {}
    before = len(problems)

    def read(column: str, key: str, reader, value):
        try:
            out[key] = reader(value)
        except FieldError as exc:
            problems.append(Problem.of(exc, row=row, column=column))

    read("first_name", "first_name", lambda x: text(x, 100), data.first_name)
    read("last_name", "last_name", lambda x: text(x, 100), data.last_name)
    read("sex", "sex", lambda x: v.choice(str(x or "").upper(), SEXES, "sex"), data.sex)
    read("date_of_birth", "date_of_birth", v.day, data.date_of_birth)
    read("relationship", "relation", lambda x: v.choice(x, RELATIONSHIPS, "relationship"), data.relation)
    read("enrolment_date", "enrolment_date", v.day, data.enrolment_date)
    read("exit_date", "exit_date", v.optional_day, data.exit_date)
    read(
        "member_no",
        "member_no",
        lambda x: v.ref(x, "member number") if str(x or "").strip() else None,
        data.member_no,
    )
    read("village", "village", lambda x: text(x, 100, required=False), data.village)
    read("phone", "phone", lambda x: text(x, 40, required=False), data.phone)
    read("national_id", "national_id", lambda x: text(x, 40, required=False), data.national_id)
    if len(problems) > before:
        return None
    problems.extend(Problem(m, row=row, column=c) for c, m in person_date_problems(out, None))
    return out if len(problems) == before else None


def person_date_problems(person: dict, head_enrolment: date | None) -> list[tuple[str, str]]:
    """(column, message) for the date rules of one person (data-formats.md "members.csv")."""
    found = []
    if person["date_of_birth"] > person["enrolment_date"]:
        found.append(
            (
                "date_of_birth",
                f"{person['date_of_birth'].isoformat()} is after the enrolment date "
                f"{person['enrolment_date'].isoformat()}",
            )
        )
    if person.get("exit_date") is not None and person["exit_date"] < person["enrolment_date"]:
        found.append(("exit_date", f"{person['exit_date'].isoformat()} is before the enrolment date"))
    if head_enrolment is not None and person["enrolment_date"] < head_enrolment:
        found.append(
            (
                "enrolment_date",
                f"{person['enrolment_date'].isoformat()} is before the household's enrolment "
                f"{head_enrolment.isoformat()} (the head's)",
            )
        )
    return found


def person_row(scheme_id: int, household_id: int, values: dict, *, table: bool = False) -> dict:
    """The values of a new Person row, search keys included: by attribute name, or by column name for a bulk
    insert into the table (``table=True``: the attribute ``relation`` is the column ``relationship``)."""
    return {
        "scheme_id": scheme_id,
        "household_id": household_id,
        "member_no": values["member_no"],
        "first_name": values["first_name"],
        "last_name": values["last_name"],
        "sex": values["sex"],
        "date_of_birth": values["date_of_birth"],
        ("relationship" if table else "relation"): values["relation"],
        "enrolment_date": values["enrolment_date"],
        "exit_date": values.get("exit_date"),
        "exit_reason": values.get("exit_reason") or "",
        "village": values.get("village") or "",
        "phone": values.get("phone") or "",
        "national_id": values.get("national_id") or "",
        "last_key": name_key(values["last_name"]),
        "first_key": name_key(values["first_name"]),
        "phone_key": phone_key(values.get("phone")),
    }


def next_member_numbers(
    session, scheme_id: int, household_ref: str, count: int, taken: set[str] = frozenset()
) -> list[str]:
    """``count`` free numbers ``<household_ref>-NN`` (NN from 01, skipping any already used in the scheme or in
    ``taken``), from the household's member counter (core/numbering.py): two newborns added to one household at
    once get distinct numbers."""
    if len(f"{household_ref}-00") > MEMBER_NO_LENGTH:
        raise RegisterError(
            [Problem(N_("the household reference is too long to number its members"), column="member_no")]
        )
    numbers = allocate_numbers(
        session,
        scheme_id=scheme_id,
        kind="member",
        scope=household_ref,
        render=lambda n: f"{household_ref}-{n:02d}",
        unique=(Person.member_no, Person.scheme_id == scheme_id),
        count=count,
        taken=taken,
    )
    if any(len(number) > MEMBER_NO_LENGTH for number in numbers):  # past 99 members, NN grows a digit
        raise RegisterError(
            [Problem(N_("the household reference is too long to number its members"), column="member_no")]
        )
    return numbers


def _members_taken(session, scheme_id: int, numbers: list[str]) -> set[str]:
    """The given member numbers already stored in the scheme."""
    if not numbers:
        return set()
    return set(
        session.scalars(select(Person.member_no).where(Person.scheme_id == scheme_id, Person.member_no.in_(numbers)))
    )


def enrol_household(
    session,
    scheme: Scheme,
    *,
    ref: str,
    product_code: str,
    persons: Sequence[PersonData],
    category: str | None = None,
    village: str | None = None,
    phone: str | None = None,
    language: str = "",
    previous_household: Household | None = None,
    actor=None,
) -> Household:
    """Enrol a household and its members in one call (the head and anyone else: spouse, children, …).

    Raises ``RegisterError`` listing every problem (row = the person's position in ``persons``). The household's
    enrolment date is the head's; village and phone default to the head's.
    """
    problems: list[Problem] = []
    try:
        ref = v.ref(ref, "household reference")
    except FieldError as exc:
        problems.append(Problem.of(exc, column="ref"))
    else:
        if session.scalar(select(Household.id).where(Household.scheme_id == scheme.id, Household.ref == ref)):
            problems.append(
                Problem(N_("household %(ref)s already exists in this scheme"), column="ref", params={"ref": ref})
            )
    product = session.scalar(select(Product).where(Product.scheme_id == scheme.id, Product.code == product_code))
    if product is None:
        problems.append(
            Problem(
                N_("%(product_code)s is not a product of this scheme"),
                column="product_code",
                params={"product_code": repr(product_code)},
            )
        )
    try:
        category = category_of(category)
    except FieldError as exc:
        problems.append(Problem.of(exc, column="category"))
    people = [check_person(p, problems, row=i) for i, p in enumerate(persons, start=1)]
    heads = [p for p in people if p is not None and p["relation"] == "head"]
    if not persons:
        problems.append(Problem(N_("a household needs at least its head"), column="relationship"))
    elif len([p for p in persons if str(p.relation).strip() == "head"]) != 1:
        problems.append(Problem(N_("a household has exactly one head"), column="relationship"))
    if len(heads) == 1:
        for i, p in enumerate(people, start=1):
            if p is not None and p is not heads[0]:
                problems.extend(
                    Problem(m, row=i, column=c) for c, m in person_date_problems(p, heads[0]["enrolment_date"])
                )
    given = [p["member_no"] for p in people if p is not None and p["member_no"]]
    for i, p in enumerate(people, start=1):
        if p is not None and p["member_no"] and given.count(p["member_no"]) > 1:
            problems.append(
                Problem(
                    N_("member number %(member_no)s is given twice"),
                    row=i,
                    column="member_no",
                    params={"member_no": p["member_no"]},
                )
            )
    for number in sorted(_members_taken(session, scheme.id, given)):
        row = next(i for i, p in enumerate(people, start=1) if p is not None and p["member_no"] == number)
        problems.append(
            Problem(
                N_("member number %(number)s is already used in this scheme"),
                row=row,
                column="member_no",
                params={"number": number},
            )
        )
    if previous_household is not None:
        head_enrolment = heads[0]["enrolment_date"] if len(heads) == 1 else None
        problems.extend(_reenrolment_problems(previous_household, scheme, head_enrolment))
    if problems:
        raise RegisterError(problems)

    head = heads[0]
    missing = [p for p in people if not p["member_no"]]
    for p, number in zip(missing, next_member_numbers(session, scheme.id, ref, len(missing), set(given)), strict=True):
        p["member_no"] = number
    household = Household(
        scheme_id=scheme.id,
        ref=ref,
        product_id=product.id,
        category=category,
        village=(village if village is not None else head["village"]).strip()[:100],
        phone=(phone if phone is not None else head["phone"]).strip()[:40],
        language=language or "",
        enrolment_date=head["enrolment_date"],
        previous_household_id=previous_household.id if previous_household is not None else None,
    )
    try:
        with session.begin_nested():
            session.add(household)
            session.flush()
            session.add_all(Person(**person_row(scheme.id, household.id, p)) for p in people)
            session.flush()
    except IntegrityError as exc:
        # Another clerk enrolled the same reference, or used one of the member numbers typed, meanwhile.
        if session.scalar(select(Household.id).where(Household.scheme_id == scheme.id, Household.ref == ref)):
            raise RegisterError(
                [Problem(N_("household %(ref)s already exists in this scheme"), column="ref", params={"ref": ref})]
            ) from exc
        raise RegisterError(
            [Problem(N_("a member number typed here was saved for someone else meanwhile"), column="member_no")]
        ) from exc
    record(
        session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        scheme_id=scheme.id,
        action="enrol",
        after={
            "ref": ref,
            "product": product.code,
            "category": category,
            "enrolment_date": household.enrolment_date,
            "persons": len(people),
            "previous_household": previous_household.ref if previous_household is not None else None,
        },
    )
    return household


def add_person(session, household: Household, person: PersonData, *, actor=None) -> Person:
    """Add a person to an enrolled household (a newborn, a new spouse); they count from the next period
    (contributions.md §1). A struck-off or exited household cannot take new members."""
    problems: list[Problem] = []
    values = check_person(person, problems)
    if values is not None:
        if values["relation"] == "head":
            problems.append(Problem(N_("the household already has its head"), column="relationship"))
        problems.extend(Problem(m, column=c) for c, m in person_date_problems(values, household.enrolment_date))
        if household.strike_off_date is not None and values["enrolment_date"] >= household.strike_off_date:
            problems.append(
                Problem(
                    N_("the household was struck off on %(strike_off_date)s: enrol it again"),
                    column="enrolment_date",
                    params={"strike_off_date": household.strike_off_date.isoformat()},
                )
            )
        if household.exit_date is not None and values["enrolment_date"] >= household.exit_date:
            problems.append(
                Problem(
                    N_("the household left on %(exit_date)s"),
                    column="enrolment_date",
                    params={"exit_date": household.exit_date.isoformat()},
                )
            )
        if values["member_no"] and _members_taken(session, household.scheme_id, [values["member_no"]]):
            problems.append(
                Problem(
                    N_("member number %(member_no)s is already used in this scheme"),
                    column="member_no",
                    params={"member_no": values["member_no"]},
                )
            )
    if problems:
        raise RegisterError(problems)
    if not values["member_no"]:
        values["member_no"] = next_member_numbers(session, household.scheme_id, household.ref, 1)[0]
    created = Person(**person_row(household.scheme_id, household.id, values))
    try:
        with session.begin_nested():
            session.add(created)
    except IntegrityError as exc:
        # Only a member number typed by hand can collide (automatic ones come from the household's counter).
        raise RegisterError(
            [
                Problem(
                    N_("member number %(member_no)s is already used in this scheme"),
                    column="member_no",
                    params={"member_no": values["member_no"]},
                )
            ]
        ) from exc
    record(
        session,
        actor=actor,
        entity="person",
        entity_id=created.id,
        scheme_id=household.scheme_id,
        action="add",
        after={
            "household": household.ref,
            "member_no": created.member_no,
            "relationship": created.relation,
            "enrolment_date": created.enrolment_date,
        },
    )
    return created


def record_exit(session, person: Person, *, date, reason: str, actor=None) -> Person:
    """A person leaves the scheme from ``date`` on (death, resignation, other); not covered from that day."""
    problems: list[Problem] = []
    try:
        day = v.day(date)
        if day < person.enrolment_date:
            problems.append(
                Problem(N_("%(day)s is before the person's enrolment"), column="date", params={"day": day.isoformat()})
            )
    except FieldError as exc:
        problems.append(Problem.of(exc, column="date"))
    try:
        reason = v.choice(reason, EXIT_REASONS, "exit reason")
    except FieldError as exc:
        problems.append(Problem.of(exc, column="reason"))
    if person.exit_date is not None:
        problems.append(
            Problem(
                N_("%(full_name)s already left on %(exit_date)s"),
                column="date",
                params={"full_name": person.full_name, "exit_date": person.exit_date.isoformat()},
            )
        )
    if problems:
        raise RegisterError(problems)
    person.exit_date = day
    person.exit_reason = reason
    session.flush()
    record(
        session,
        actor=actor,
        entity="person",
        entity_id=person.id,
        scheme_id=person.scheme_id,
        action="exit",
        after={"member_no": person.member_no, "exit_date": day, "reason": reason},
    )
    return person


def change_category(session, household: Household, *, category, from_date, reason: str, actor=None) -> CategoryChange:
    """The household is in ``category`` from ``from_date`` on (data-formats.md categories.csv): the periods that
    start on or after that day take its subsidy shares (contributions.md §2). Never before the household's
    enrolment; one change per day (a later change is a new row); a reason is required. The caller refreshes the
    household's derived rows (members cannot call contributions)."""
    problems: list[Problem] = []
    try:
        category = category_of(category)
    except FieldError as exc:
        problems.append(Problem.of(exc, column="category"))
    try:
        day = v.day(from_date)
        if day < household.enrolment_date:
            problems.append(
                Problem(
                    N_("is before the household's enrolment on %(enrolment_date)s"),
                    column="from_date",
                    params={"enrolment_date": household.enrolment_date.isoformat()},
                )
            )
        elif session.scalar(
            select(CategoryChange.category).where(
                CategoryChange.household_id == household.id, CategoryChange.from_date == day
            )
        ):
            problems.append(
                Problem(
                    N_("the household already changes category on %(day)s"),
                    column="from_date",
                    params={"day": day.isoformat()},
                )
            )
    except FieldError as exc:
        problems.append(Problem.of(exc, column="from_date"))
    try:
        reason = text(reason, 500)
    except FieldError as exc:
        problems.append(Problem.of(exc, column="reason"))
    if problems:
        raise RegisterError(problems)
    change = CategoryChange(
        scheme_id=household.scheme_id,
        household_id=household.id,
        from_date=day,
        category=category,
        reason=reason,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(change)
    session.flush()
    record(
        session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        scheme_id=household.scheme_id,
        action="category",
        after={"household_ref": household.ref, "category": category, "from_date": day, "reason": reason},
    )
    return change


def record_household_exit(session, household: Household, *, date, reason: str, actor=None) -> Household:
    """Every member still present leaves on ``date``: the household has exited (data-formats.md)."""
    present = [p for p in household.persons if p.exit_date is None]
    if not present:
        raise RegisterError([Problem(N_("every member has already left"), column="date")])
    for person in present:
        record_exit(session, person, date=date, reason=reason, actor=actor)
    return household


def _reenrolment_problems(previous: Household, scheme: Scheme, enrolment: date | None) -> list[Problem]:
    """contributions.md §5: only a household of the same scheme struck off by the new enrolment date (its
    stored strike-off date is a projection until that day comes) is replaced by a new enrolment."""
    if previous.scheme_id != scheme.id:
        return [Problem(N_("the previous household belongs to another scheme"), column="previous_household")]
    struck = previous.strike_off_date
    if struck is None or (enrolment is not None and struck > enrolment):
        return [
            Problem(
                f"household {previous.ref} has not been struck off"
                + (f" (it would be on {struck.isoformat()})" if struck is not None else ""),
                column="previous_household",
            )
        ]
    return []


def link_reenrolment(session, household: Household, previous: Household, *, actor=None) -> Household:
    """Record that ``household`` is the re-enrolment of the struck-off ``previous`` (history stays visible)."""
    scheme = session.get(Scheme, household.scheme_id)
    problems = _reenrolment_problems(previous, scheme, household.enrolment_date)
    if previous.id == household.id:
        problems.append(Problem(N_("a household cannot replace itself"), column="previous_household"))
    elif household.previous_household_id not in (None, previous.id):
        problems.append(Problem(N_("the household is already linked to another one"), column="previous_household"))
    if problems:
        raise RegisterError(problems)
    household.previous_household_id = previous.id
    session.flush()
    record(
        session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        scheme_id=household.scheme_id,
        action="link_reenrolment",
        after={"previous_household": previous.ref},
    )
    return household


#: What a person's correction may change (the data-protection right of rectification too). Sex, date of birth and
#: relationship decide claims (adjudication.md checks 3, 7 and 8: limits by sex and age, the newborn's start day):
#: changing them goes through the caller's ``guard``, which names the claims already decided that would be
#: decided otherwise — those are refused (money already decided is corrected on the claim first).
CORRECTABLE_PERSON = (
    "first_name",
    "last_name",
    "sex",
    "date_of_birth",
    "relationship",
    "village",
    "phone",
    "national_id",
)
DECIDING = ("sex", "date_of_birth", "relationship")
CORRECTABLE_HOUSEHOLD = ("village", "phone", "language", "head", "former_head_relationship")
#: A correction's guard: (session, person, the deciding facts after the correction) → the claim references
#: already decided that the correction would decide differently (``claims.services.claims_decided_otherwise``).
DECIDED_ELSEWISE = N_(
    "would change the decision of claim(s) %(claims)s, already decided: a claims officer overrides that decision"
    " first (or record the person's exit and enrol them again), then correct"
)


def _reason(reason, problems: list[Problem]) -> str:
    """The correction's reason: required, at most 500 characters."""
    try:
        return text(reason, 500)
    except FieldError as exc:
        problems.append(Problem(str(exc), column="reason"))
        return ""


def correct_person(session, person: Person, changes: dict, *, reason: str, actor=None, guard=None) -> Person:
    """Correct a person (``CORRECTABLE_PERSON``, ``relationship`` for the attribute ``relation``), with the reason;
    the audit row keeps the values before and after. Values equal to the stored ones are left out.

    Raises ``RegisterError`` naming each refused field (unknown fields included; the reason when blank; a birth
    date after the enrolment; a change that would decide an already decided claim otherwise); nothing changes.
    The caller refreshes the household's derived rows. ``guard`` is required when sex, birth date or relationship
    change (members cannot read claims).
    """
    readers = {
        "first_name": lambda x: text(x, 100),
        "last_name": lambda x: text(x, 100),
        "sex": lambda x: v.choice(str(x or "").strip().upper(), SEXES, "sex"),
        "date_of_birth": v.day,
        "relationship": lambda x: v.choice(x, RELATIONSHIPS, "relationship"),
        "village": lambda x: text(x, 100, required=False),
        "phone": lambda x: text(x, 40, required=False),
        "national_id": lambda x: text(x, 40, required=False),
    }
    problems: list[Problem] = []
    values = _read_changes(changes, readers, problems)
    reason = _reason(reason, problems)
    values = {name: value for name, value in values.items() if _stored_value(person, name) != value}
    if "relationship" in values:
        if values["relationship"] == "head":
            problems.append(Problem(N_("the head is chosen on the household's correction"), column="relationship"))
        elif person.relation == "head":
            problems.append(
                Problem(
                    N_("%(name)s is the head: choose another head on the household's correction first"),
                    column="relationship",
                    params={"name": person.full_name},
                )
            )
    if "date_of_birth" in values and values["date_of_birth"] > person.enrolment_date:
        problems.append(
            Problem(
                N_("%(day)s is after the enrolment date %(enrolment)s"),
                column="date_of_birth",
                params={"day": values["date_of_birth"].isoformat(), "enrolment": person.enrolment_date.isoformat()},
            )
        )
    if not problems and not values:
        problems.append(Problem(N_("nothing to correct: every value is the one stored")))
    if not problems:
        problems.extend(_decided_problems(session, person, values, guard))
    if problems:
        raise RegisterError(problems)
    _correct(session, person, "person", {_ATTRIBUTE.get(k, k): val for k, val in values.items()}, actor, reason)
    person.last_key = name_key(person.last_name)
    person.first_key = name_key(person.first_name)
    person.phone_key = phone_key(person.phone)
    session.flush()
    return person


_ATTRIBUTE = {"relationship": "relation"}


def _stored_value(row, name: str):
    return getattr(row, _ATTRIBUTE.get(name, name))


def _decided_problems(session, person: Person, values: dict, guard) -> list[Problem]:
    """The problem of a correction of sex, birth date or relationship that would change a decided claim."""
    deciding = [name for name in DECIDING if name in values]
    if not deciding:
        return []
    if guard is None:
        raise TypeError("a correction of sex, date of birth or relationship needs the decided-claims guard")  # a bug
    facts = {name: values.get(name, _stored_value(person, name)) for name in DECIDING}
    claims = guard(session, person, facts)
    if not claims:
        return []
    return [Problem(DECIDED_ELSEWISE, column=deciding[0], params={"claims": ", ".join(claims)})]


def correct_household(
    session, household: Household, changes: dict, *, reason: str, actor=None, guard=None
) -> Household:
    """Correct a household (``CORRECTABLE_HOUSEHOLD``), with the reason; the audit row keeps the values before.

    ``head`` (a member number) makes another present member the head; the former head takes
    ``former_head_relationship``. The household's enrolment date is its head's (data-formats.md), so only a
    member enrolled on that day can become the head: anyone else would move the enrolment date under the
    periods and claims already decided — record an exit and enrol a new household instead. Both persons'
    relationships go through ``guard`` like a person's correction. The category changes from a date through
    ``change_category``.
    """
    readers = {
        "village": lambda x: text(x, 100, required=False),
        "phone": lambda x: text(x, 40, required=False),
        "language": lambda x: v.choice(text(x, 10, required=False) or "", ("", "en", "fr"), "language"),
        "head": lambda x: text(x, 40),
        "former_head_relationship": lambda x: v.choice(x, RELATIONSHIPS, "relationship"),
    }
    problems: list[Problem] = []
    values = _read_changes(changes, readers, problems)
    reason = _reason(reason, problems)
    former_relation = values.pop("former_head_relationship", None)
    members = list(session.scalars(select(Person).where(Person.household_id == household.id)))
    old_head = next((p for p in members if p.relation == "head"), None)
    new_head = None
    if "head" in values:
        wanted = values.pop("head")
        new_head = next((p for p in members if p.member_no == wanted), None)
        if new_head is None:
            problems.append(
                Problem(N_("%(no)s is not a member of this household"), column="head", params={"no": wanted})
            )
        elif new_head is old_head:
            new_head = None
        elif new_head.exit_date is not None:
            problems.append(
                Problem(
                    N_("%(name)s left on %(day)s"),
                    column="head",
                    params={"name": new_head.full_name, "day": new_head.exit_date.isoformat()},
                )
            )
        elif new_head.enrolment_date != household.enrolment_date:
            problems.append(
                Problem(
                    N_(
                        "%(name)s enrolled on %(day)s, not on the household's enrolment %(enrolment)s: the head's"
                        " enrolment date is the household's, so record an exit and enrol a new household instead"
                    ),
                    column="head",
                    params={
                        "name": new_head.full_name,
                        "day": new_head.enrolment_date.isoformat(),
                        "enrolment": household.enrolment_date.isoformat(),
                    },
                )
            )
        if new_head is not None and (former_relation is None or former_relation == "head"):
            problems.append(Problem(N_("choose the former head's new relationship"), column="former_head_relationship"))
    values = {name: value for name, value in values.items() if getattr(household, name) != value}
    if not problems and not values and new_head is None:
        problems.append(Problem(N_("nothing to correct: every value is the one stored")))
    if not problems and new_head is not None:
        if old_head is not None:
            problems.extend(_decided_problems(session, old_head, {"relationship": former_relation}, guard))
        problems.extend(_decided_problems(session, new_head, {"relationship": "head"}, guard))
        for problem in problems:
            problem.column = "head" if problem.column == "relationship" else problem.column
    if problems:
        raise RegisterError(problems)
    before_head = None
    if new_head is not None:
        values["head"] = new_head.member_no
        values["former_head_relationship"] = former_relation
        before_head = {"head": old_head.member_no if old_head is not None else None}
        if old_head is not None:
            old_head.relation = former_relation
        new_head.relation = "head"
    _correct(session, household, "household", values, actor, reason, before_extra=before_head)
    return household


def _correct(session, row, entity: str, values: dict, actor, reason: str, before_extra: dict | None = None) -> None:
    """Set ``values`` on ``row`` and audit the correction with the values before and after, and its reason."""
    before = {name: getattr(row, name) for name in values if hasattr(row, name)}
    before.update(before_extra or {})
    for name, value in values.items():
        if hasattr(row, name):
            setattr(row, name, value)
    session.flush()
    record(
        session,
        actor=actor,
        entity=entity,
        entity_id=row.id,
        scheme_id=row.scheme_id,
        action="correct",
        before=before,
        after={**values, "reason": reason},
    )


def _read_changes(changes: dict, readers: dict, problems: list[Problem]) -> dict:
    """Typed values of a correction; every refused field added to ``problems``."""
    values = {}
    for name, value in changes.items():
        if name not in readers:
            problems.append(Problem(N_("%(name)s cannot be corrected here"), column=name, params={"name": name}))
            continue
        try:
            values[name] = readers[name](value)
        except FieldError as exc:
            problems.append(Problem.of(exc, column=name))
    if not changes:
        problems.append(Problem(N_("nothing to correct: every value is the one stored")))
    return values
