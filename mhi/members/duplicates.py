"""Likely duplicates caught at the door (issue 12): before a person is enrolled (the enrolment form, the members
import on the command line or the web), the people about to be added are compared with the scheme's register
and with each other. A person is a likely duplicate of another when they have

1. ``national_id`` — the same national id (spaces and case ignored);
2. ``phone`` — the same phone number (``phone_key``: its last nine digits) and are in different households (a
   family shares one phone, so within a household a shared phone says nothing);
3. ``name_and_birth`` — the same first and last names (``name_key``: accents and case ignored) and date of birth;
4. ``similar_name`` — names alike (difflib ratio ≥ ``SIMILAR`` on "last first"), in the same village, of the same
   sex, born on dates agreeing on two of year, month and day (one typo). Namesakes are common in a village (the
   example registers hold dozens of them), so the name alone would warn on distinct people.

A warning never refuses by itself: the caller asks for a confirmation (a checkbox on screen, ``--allow-duplicates``
on the command line). Set-based: the register's candidates are read in a fixed number of queries (one scan of
the scheme when many keys are looked for), never one per person, and compared through hash buckets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher

from sqlalchemy import and_, or_, select

from mhi.core.tabular import chunked
from mhi.members.models import Household, Person
from mhi.members.services import name_key, phone_key

#: The difflib ratio from which two name keys are "alike".
SIMILAR = 0.9
#: The shortest phone key compared (shorter numbers are placeholders such as "0").
PHONE_DIGITS = 7
#: Above this many keys looked up, the scheme's register is scanned once instead of IN lists.
SCAN_ABOVE = 2000
#: The keys, in the order a pair is reported by (a pair is reported once, by its first key).
KEYS = ("national_id", "phone", "name_and_birth", "similar_name")


@dataclass(frozen=True)
class Candidate:
    """A person about to be added: ``row`` is the file's row number or the form's position (1 = the head)."""

    row: int
    first_name: str
    last_name: str
    sex: str
    date_of_birth: date
    household_ref: str
    village: str = ""
    phone: str = ""
    national_id: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True)
class Duplicate:
    """``row``'s person is likely ``other``: a person of the register (``person_id`` set) or an earlier row of the
    same file (``other_row`` set)."""

    row: int
    name: str
    key: str
    other_name: str
    household_ref: str
    member_no: str = ""
    person_id: int | None = None
    household_id: int | None = None
    other_row: int | None = None

    def describe(self) -> str:
        """In plain English, for the command line: ``row 3 (Awa Diop): same national id as NDIA-00002 …``."""
        what = {
            "national_id": "same national id as",
            "phone": "same phone as",
            "name_and_birth": "same names and date of birth as",
            "similar_name": "similar name, village, sex and date of birth as",
        }[self.key]
        if self.other_row is not None:
            other = f"row {self.other_row} ({self.other_name}, household {self.household_ref})"
        else:
            other = f"{self.member_no} {self.other_name} (household {self.household_ref})"
        return f"row {self.row} ({self.name}): {what} {other}"


@dataclass(slots=True)
class _Entry:
    """A person compared: a candidate or a stored person, with their keys."""

    name: str
    name_key: str
    first_key: str
    last_key: str
    sex: str
    born: date
    household: str  # the grouping key: "new:<ref>" or "stored:<id>"
    household_ref: str
    village: str
    phone: str
    national_id: str
    row: int | None = None
    person_id: int | None = None
    household_id: int | None = None
    member_no: str = ""


def _national_key(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def _village_key(value: str | None) -> str:
    return name_key(value)


def _entry_of_candidate(c: Candidate, keys: dict[str, str] | None = None) -> _Entry:
    """``keys``: a cache of folded names and villages (a register repeats a few hundred of them)."""
    if keys is None:
        keys = {}
    first = keys.get(c.first_name)
    if first is None:
        first = keys[c.first_name] = name_key(c.first_name)
    last = keys.get(c.last_name)
    if last is None:
        last = keys[c.last_name] = name_key(c.last_name)
    village = keys.get(c.village)
    if village is None:
        village = keys[c.village] = _village_key(c.village)
    phone = phone_key(c.phone) if c.phone else ""
    return _Entry(
        name=c.name,
        name_key=f"{last} {first}",
        first_key=first,
        last_key=last,
        sex=c.sex,
        born=c.date_of_birth,
        household=f"new:{c.household_ref}",
        household_ref=c.household_ref,
        village=village,
        phone=phone if len(phone) >= PHONE_DIGITS else "",
        national_id=_national_key(c.national_id) if c.national_id else "",
        row=c.row,
    )


def _stored(session, scheme_id: int, entries: Sequence[_Entry]) -> list[_Entry]:
    """The register's persons sharing a key with ``entries``: one query of IN lists (narrowed by birth date for
    the names, by sex for the village), or one scan of the scheme when many keys are looked for; only the rows
    that can match are kept."""
    national_ids = {e.national_id for e in entries if e.national_id}
    phones = {e.phone for e in entries if e.phone}
    names = {(e.last_key, e.born) for e in entries}
    villages = {(e.village, e.sex) for e in entries if e.village}
    statement = (
        select(
            Person.id,
            Person.household_id,
            Household.ref,
            Person.member_no,
            Person.first_name,
            Person.last_name,
            Person.first_key,
            Person.last_key,
            Person.sex,
            Person.date_of_birth,
            Person.village,
            Person.phone_key,
            Person.national_id,
        )
        .join(Household, Household.id == Person.household_id)
        .where(Person.scheme_id == scheme_id)
    )
    village_keys: dict[str, str] = {}  # a stored spelling → its key (villages are few, persons many)

    def village_of(raw: str | None) -> str:
        if raw not in village_keys:
            village_keys[raw] = _village_key(raw)
        return village_keys[raw]

    if len(national_ids) + len(phones) + len(names) + len(villages) > SCAN_ABOVE:
        rows = session.execute(statement)
    else:
        # A national id stored with other spaces or case is not found by the IN list (the same spelling is the
        # common case: ids are copied from the card).
        conditions = [Person.national_id.in_(chunk) for chunk in chunked(sorted(national_ids))]
        conditions += [Person.phone_key.in_(chunk) for chunk in chunked(sorted(phones))]
        if names:
            conditions.append(
                and_(
                    Person.last_key.in_(sorted({last for last, _ in names})),
                    Person.date_of_birth.in_(sorted({born for _, born in names})),
                )
            )
        if villages:
            # Villages are stored as typed: the scheme's distinct spellings (one query) that fold to a wanted key.
            spellings = session.scalars(select(Person.village).where(Person.scheme_id == scheme_id).distinct())
            wanted = {village for village, _ in villages}
            matching = sorted({s for s in spellings if village_of(s) in wanted})
            if matching:
                conditions.append(
                    and_(Person.village.in_(matching), Person.sex.in_(sorted({sex for _, sex in villages})))
                )
        rows = session.execute(statement.where(or_(*conditions))) if conditions else []
    found = []
    for row in rows:
        national_id = _national_key(row.national_id) if row.national_id else ""
        phone = row.phone_key if len(row.phone_key or "") >= PHONE_DIGITS else ""
        village = village_of(row.village) if row.village else ""
        if not (
            (national_id and national_id in national_ids)
            or (phone and phone in phones)
            or (row.last_key, row.date_of_birth) in names
            or (village and (village, row.sex) in villages)
        ):
            continue
        found.append(
            _Entry(
                name=f"{row.first_name} {row.last_name}",
                name_key=f"{row.last_key} {row.first_key}",
                first_key=row.first_key,
                last_key=row.last_key,
                sex=row.sex,
                born=row.date_of_birth,
                household=f"stored:{row.household_id}",
                household_ref=row.ref,
                village=village,
                phone=phone,
                national_id=national_id,
                person_id=row.id,
                household_id=row.household_id,
                member_no=row.member_no,
            )
        )
    return found


def _dob_close(a: date, b: date) -> bool:
    """Two of year, month and day agree (one typo apart, or equal)."""
    return (a.year == b.year) + (a.month == b.month) + (a.day == b.day) >= 2


def _similar(a: str, b: str) -> bool:
    """difflib's ratio ≥ SIMILAR, with its cheap upper bounds first."""
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= SIMILAR and matcher.quick_ratio() >= SIMILAR and matcher.ratio() >= SIMILAR


class _Index:
    """Hash buckets of the entries seen so far, one per key."""

    def __init__(self) -> None:
        self.national_id: dict[str, list[_Entry]] = defaultdict(list)
        self.phone: dict[str, list[_Entry]] = defaultdict(list)
        self.name_and_birth: dict[tuple, list[_Entry]] = defaultdict(list)
        # The similar-name key's buckets: village and sex, and two of the three parts of the birth date.
        self.similar: dict[tuple, list[_Entry]] = defaultdict(list)

    @staticmethod
    def _similar_buckets(e: _Entry) -> list[tuple]:
        b = e.born
        return [
            (e.village, e.sex, 0, b.year, b.month),
            (e.village, e.sex, 1, b.month, b.day),
            (e.village, e.sex, 2, b.year, b.day),
        ]

    def add(self, e: _Entry) -> None:
        if e.national_id:
            self.national_id[e.national_id].append(e)
        if e.phone:
            self.phone[e.phone].append(e)
        self.name_and_birth[(e.first_key, e.last_key, e.born)].append(e)
        if e.village:
            for bucket in self._similar_buckets(e):
                self.similar[bucket].append(e)

    def matches(self, e: _Entry) -> list[tuple[str, _Entry]]:
        """(key, other) for each entry of the index ``e`` is likely the same person as, each other once, in the
        order of KEYS (a hot loop of a national import: plain loops, no closures)."""
        found: dict[int, tuple[str, _Entry]] = {}
        if e.national_id:
            for other in self.national_id.get(e.national_id, ()):
                if id(other) not in found:
                    found[id(other)] = ("national_id", other)
        if e.phone:
            for other in self.phone.get(e.phone, ()):
                if id(other) not in found and other.household != e.household:
                    found[id(other)] = ("phone", other)
        for other in self.name_and_birth.get((e.first_key, e.last_key, e.born), ()):
            if id(other) not in found:
                found[id(other)] = ("name_and_birth", other)
        if e.village:
            similar = self.similar
            unlike: set[int] = set()  # compared and not alike: a pair born on the same day shares three buckets
            for bucket in self._similar_buckets(e):
                others = similar.get(bucket)
                if not others:
                    continue
                for other in others:
                    if id(other) in found or id(other) in unlike:
                        continue
                    if _similar(e.name_key, other.name_key):
                        found[id(other)] = ("similar_name", other)
                    else:
                        unlike.add(id(other))
        return list(found.values()) if found else []


def find_duplicates(session, scheme_id: int, candidates: Sequence[Candidate]) -> list[Duplicate]:
    """The likely duplicates of ``candidates`` among the scheme's register and among themselves (each later row
    against the earlier ones), in row order."""
    if not candidates:
        return []
    keys: dict[str, str] = {}
    entries = [_entry_of_candidate(c, keys) for c in candidates]
    register = _Index()
    for stored in _stored(session, scheme_id, entries):
        register.add(stored)
    seen = _Index()
    out: list[Duplicate] = []
    for e in entries:
        for key, other in register.matches(e):
            out.append(
                Duplicate(
                    row=e.row,
                    name=e.name,
                    key=key,
                    other_name=other.name,
                    household_ref=other.household_ref,
                    member_no=other.member_no,
                    person_id=other.person_id,
                    household_id=other.household_id,
                )
            )
        for key, other in seen.matches(e):
            out.append(
                Duplicate(
                    row=e.row,
                    name=e.name,
                    key=key,
                    other_name=other.name,
                    household_ref=other.household_ref,
                    other_row=other.row,
                )
            )
        seen.add(e)
    return out
