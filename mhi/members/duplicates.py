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

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

import numpy as np
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from mhi.core.db import one_of, split_over_processes
from mhi.core.tabular import chunked
from mhi.members.models import WITH_PHONE, Household, Person
from mhi.members.services import SEXES, name_key, phone_key

#: The difflib ratio from which two name keys are "alike".
SIMILAR = 0.9
#: The shortest phone key compared (shorter numbers are placeholders such as "0").
PHONE_DIGITS = 7
#: Above this many keys looked up, the scheme's register is scanned once instead of IN lists.
SCAN_ABOVE = 2000
#: The register's scan is read, and compared in numpy (``_Sieve``), this many rows at a time.
SCAN_BATCH = 100_000
#: From this many rows read at once, they are compared in numpy (``_Sieve``) rather than one by one.
SIEVE_FROM = 64
#: From this many stored persons of the scheme, a written import's scan of the register is split over processes.
SPLIT_ABOVE = 200_000
#: From this many people in a written import whose duplicates cannot refuse it, the whole check runs in a process
#: of its own from before the households' COPY to the end of the writes (``core.db.read_apart``); below, on the
#: import's process during the persons' COPY (a web upload of a few households never forks its worker).
APART_FROM = 20_000
#: How many processes share that scan: the cores, at most four (the import's own connection copies meanwhile).
SCAN_PARTS = max(1, min(4, os.cpu_count() or 1))
#: The keys, in the order a pair is reported by (a pair is reported once, by its first key).
KEYS = ("national_id", "phone", "name_and_birth", "similar_name")


class Candidate(NamedTuple):
    """A person about to be added: ``row`` is the file's row number or the form's position (1 = the head).
    A named tuple: a national file makes one per person, at less than half a frozen dataclass's cost (issue 17)."""

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


def _sought(entries: Sequence[_Entry]) -> tuple[set, set, set, set]:
    """The keys looked for in the register: national ids, phones, (last name, birth date), (village, sex)."""
    return (
        {e.national_id for e in entries if e.national_id},
        {e.phone for e in entries if e.phone},
        {(e.last_key, e.born) for e in entries},
        {(e.village, e.sex) for e in entries if e.village},
    )


def _scans(sought: tuple[set, ...]) -> bool:
    """Whether so many keys are looked for that the scheme's register is scanned rather than searched."""
    return sum(map(len, sought)) > SCAN_ABOVE


def _key_columns(scheme_id: int):
    """The register's persons as rows of their keys only: id, first_key, last_key, sex, date_of_birth, village,
    phone_key, national_id (a stored person's household is read for the matches only, ``_persons``)."""
    return select(
        Person.id,
        Person.first_key,
        Person.last_key,
        Person.sex,
        Person.date_of_birth,
        Person.village,
        Person.phone_key,
        Person.national_id,
    ).where(Person.scheme_id == scheme_id)


def _stored_rows(session, scheme_id: int, entries: Sequence[_Entry]):
    """The register's persons that may share a key with ``entries``, as rows of their keys only (``_key_columns``):
    one query of IN lists (narrowed by birth date for the names, by sex for the village), or one scan of the
    scheme when many keys are looked for.

    The scan is streamed and its rows are only compared with the file's buckets (``_register_matches``): a file of
    50,000 households shares a similar-name bucket (village, sex, two parts of the birth date) with most of the
    register, so no index narrows it, but what each row costs in Python now does (issue 17)."""
    sought = _sought(entries)
    national_ids, phones, names, villages = sought
    statement = _key_columns(scheme_id)
    if _scans(sought):
        return _streamed(session.connection(), statement)
    # A national id stored with other spaces or case is not found by the IN list (the same spelling is the
    # common case: ids are copied from the card).
    conditions = [Person.national_id.in_(chunk) for chunk in chunked(sorted(national_ids))]
    conditions += [and_(WITH_PHONE, Person.phone_key.in_(chunk)) for chunk in chunked(sorted(phones))]
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
        matching = sorted({s for s in spellings if s and _village_key(s) in wanted})
        if matching:
            conditions.append(and_(Person.village.in_(matching), Person.sex.in_(sorted({sex for _, sex in villages}))))
    return [list(session.execute(statement.where(or_(*conditions))))] if conditions else []


def _streamed(connection, statement) -> Iterator[list]:
    """The rows of ``statement`` (a scan of the register's keys) in lists of ``SCAN_BATCH``. On PostgreSQL, plain tuples
    from a server-side cursor of the driver's: the register is scanned for each file of a national import, and
    SQLAlchemy's rows cost a fifth more CPU than the driver's tuples (10.8 against 8.5 s for 5.1 M persons, issue
    17). Elsewhere, Core rows with ``yield_per`` (an option on the statement: on the connection it would outlive it
    and stream every later statement). Lists, not rows one by one: ``_matches`` sieves each list at once."""
    if connection.dialect.name != "postgresql":
        yield from connection.execute(statement.execution_options(yield_per=SCAN_BATCH)).partitions()
        return
    compiled = statement.compile(dialect=connection.dialect)
    # A named cursor lives in the transaction SQLAlchemy began on this connection, and is closed at the end.
    with connection.connection.driver_connection.cursor(name="mhi_register_scan") as cursor:
        cursor.execute(str(compiled), compiled.params)
        while rows := cursor.fetchmany(SCAN_BATCH):
            yield rows


@dataclass(slots=True)
class _Buckets:
    """The positions of the entries, in order, under each key: one hash table per key. The similar-name key's
    buckets are grouped by place: (village, sex) → {date code (``_date_codes``): positions}, so that a stored
    person of a place no entry lives in costs one look-up, and the three date buckets are plain integers."""

    national_id: dict[str, list[int]]
    phone: dict[str, list[int]]
    name_and_birth: dict[tuple, list[int]]
    similar: dict[tuple[str, str], dict[int, list[int]]]
    # 1 for an entry sharing a bucket with an earlier one: only those are compared with the file's earlier rows
    # (most people of a file share none).
    earlier: bytearray


def _date_codes(b: date) -> tuple[int, int, int]:
    """The similar-name key's three date buckets, in their order (the first shared is the one a pair is reported
    by): year and month, month and day, year and day, each as one integer in a range of its own (year and month
    below 1,000,000; month and day negative; year and day from 1,000,101)."""
    return b.year * 100 + b.month, -(b.month * 100 + b.day), 1_000_000 + b.year * 100 + b.day


def _buckets(entries: Sequence[_Entry]) -> _Buckets:
    """The entries' hash buckets, built once for the register's scan and for the file's own rows."""
    by_national: dict[str, list[int]] = defaultdict(list)
    by_phone: dict[str, list[int]] = defaultdict(list)
    by_name: dict[tuple, list[int]] = defaultdict(list)
    by_place: dict[tuple[str, str], dict[int, list[int]]] = {}
    earlier = bytearray(len(entries))
    for i, e in enumerate(entries):
        # Each list was empty before this entry unless an earlier one shares the bucket.
        shared = False
        if e.national_id:
            positions = by_national[e.national_id]
            if positions:
                shared = True
            positions.append(i)
        if e.phone:
            positions = by_phone[e.phone]
            if positions:
                shared = True
            positions.append(i)
        positions = by_name[(e.first_key, e.last_key, e.born)]
        if positions:
            shared = True
        positions.append(i)
        if e.village:
            place = by_place.get((e.village, e.sex))
            if place is None:
                place = by_place[(e.village, e.sex)] = {}
            for code in _date_codes(e.born):
                positions = place.get(code)
                if positions is None:
                    place[code] = [i]
                else:
                    shared = True
                    positions.append(i)
        if shared:
            earlier[i] = 1
    return _Buckets(dict(by_national), dict(by_phone), dict(by_name), by_place, earlier)


def _register_matches(
    session, scheme_id: int, entries: Sequence[_Entry], buckets: _Buckets
) -> dict[int, list[tuple[str, int]]]:
    """For each of ``entries`` (by position) that is likely a person of the register: [(key, person id)], each
    person once, by its first key in the order of KEYS, then (similar names) by the first bucket shared, then by
    person id — the order in which the register's hash buckets, filled in id order, reported them."""
    return _in_order(_matches(_stored_rows(session, scheme_id, entries), entries, buckets))


def _register_matches_split(session, scheme_id: int, entries: Sequence[_Entry], buckets: _Buckets) -> dict:
    """``_register_matches`` for a scan of a large register, split by person id over ``SCAN_PARTS`` processes
    (``core.db.split_over_processes``): this one and forked ones, each on a connection of its own, all on
    ``session``'s snapshot. Each stored row is compared on its own, so the parts' matches together are the whole
    scan's (issue 17: from the seventh file of a national register, the scan outlasted the persons' COPY and the
    other core waited)."""
    statement = _key_columns(scheme_id)
    large = session.scalar(
        select(func.count()).select_from(statement.with_only_columns(Person.id).limit(SPLIT_ABOVE).subquery())
    )
    parts = SCAN_PARTS if large >= SPLIT_ABOVE else 1

    def part(connection, k: int, n: int) -> dict:
        rows = statement if n == 1 else statement.where(Person.id % n == k)
        return _matches(_streamed(connection, rows), entries, buckets)

    found: dict[int, list[tuple]] = defaultdict(list)
    for matches in split_over_processes(session, part, parts):
        for i, rows in matches.items():
            found[i].extend(rows)
    return _in_order(found)


def _in_order(found: dict[int, list[tuple]]) -> dict[int, list[tuple[str, int]]]:
    """Each entry's matches (rank, bucket, person id, key) as (key, person id) in the order of
    ``_register_matches``."""
    return {i: [(key, pid) for _, _, pid, key in sorted(rows)] for i, rows in found.items()}


#: The columns of ``_key_columns``' rows.
_ID, _FIRST, _LAST, _SEX, _BORN, _VILLAGE, _PHONE, _NATIONAL = (itemgetter(k) for k in range(8))
#: ``date.toordinal()`` of 1970-01-01, numpy's day 0.
_EPOCH = date(1970, 1, 1).toordinal()
_SEX_BIT = {"F": 0, "M": 1}
#: The classes a name's characters are counted in for difflib's bound on a pair (``_Sieve``): a folded name's
#: letters, digits and space each alone, anything else together (a count by classes bounds the count by characters
#: from above, so the bound stays a bound).
_BIN = {char: k for k, char in enumerate("abcdefghijklmnopqrstuvwxyz0123456789 ")}
_BINS = len(_BIN) + 1


def _date_parts(ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each ``date.toordinal()``."""
    days = (ordinals - _EPOCH).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    return year, months.astype(np.int64) % 12 + 1, (days - months.astype("datetime64[D]")).astype(np.int64) + 1


def _packed_buckets(place: np.ndarray, ordinals: np.ndarray) -> np.ndarray:
    """The three similar-name buckets (``_date_codes``, in their order) of people at ``place`` (a number ≥ 0), each
    packed with its place and its kind into one integer: kind k of everyone, for k = 0, 1, 2, one after the other."""
    year, month, day = _date_parts(ordinals)
    codes = (year * 100 + month, -(month * 100 + day), 1_000_000 + year * 100 + day)
    return np.concatenate([(((place * 4 + kind) << 21) + code + 2048) for kind, code in enumerate(codes)])


def _found_in(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``keys``: its position in ``sorted_keys`` (unique) and whether it is there. The keys are looked
    up in sorted order: a binary search then walks the table forwards, three to five times faster than at random."""
    if not len(sorted_keys) or not len(keys):
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    order = np.argsort(keys, kind="stable")
    at = np.empty(len(keys), dtype=np.int64)
    at[order] = np.searchsorted(sorted_keys, keys[order])
    np.minimum(at, len(sorted_keys) - 1, out=at)
    return at, sorted_keys[at] == keys


class _Sieve:
    """The register's rows compared with the file's buckets a list at a time, in numpy (issue 17): at a national
    scale most stored rows share no bucket, and a fifth share a similar-name bucket only, for which the per-row loop
    of ``_matches`` cost ≈ 20 µs each.

    ``exact``: the rows that may share a national id, a phone or names and birth date with the file (a superset:
    names and birth date packed as numbers, phones as a set; national ids folded in Python) — the per-row loop
    decides them, as before. ``similar``: for the other rows, every (row, entry) pair sharing a similar-name bucket,
    with the first bucket shared (the loop's order: year and month, month and day, year and day), whose names are
    alike; each pair of names is compared once for the whole scan."""

    def __init__(self, entries: Sequence[_Entry], buckets: _Buckets) -> None:
        count = len(entries)
        self.count = count
        self.places: dict[str, int] = {}  # folded village → its number
        places = self.places
        ordinals = np.fromiter((e.born.toordinal() for e in entries), dtype=np.int64, count=count)
        place = np.fromiter(
            ((places.setdefault(e.village, len(places)) * 2 + _SEX_BIT[e.sex]) if e.village else -1 for e in entries),
            dtype=np.int64,
            count=count,
        )
        keys = _packed_buckets(place, ordinals)
        positions = np.tile(np.arange(count, dtype=np.int64), 3)
        lived = np.tile(place >= 0, 3)
        keys, positions = keys[lived], positions[lived]
        order = np.argsort(keys, kind="stable")  # equal keys: the entries in file order, as in their bucket
        self.positions = positions[order]
        self.keys, self.starts = np.unique(keys[order], return_index=True)
        self.ends = np.append(self.starts[1:], len(order))
        self.spellings: dict = {None: -1, "": -1}  # a stored spelling of a village → its number, or -1
        # Names: one number per name key ("last first"), the file's first; a pair of numbers → alike or not.
        self.names: dict[str, int] = {}
        self.entry_names = np.fromiter(
            (self.names.setdefault(e.name_key, len(self.names)) for e in entries), dtype=np.int64, count=count
        )
        self.texts = list(self.names)
        self.letters = np.zeros((0, _BINS), dtype=np.uint8)  # each name's characters counted by _BIN
        self.lengths = np.zeros(0, dtype=np.int64)
        self.done = 0
        self._counted(len(self.texts))
        self.alike: dict[int, bool] = {}
        self.firsts: dict[str, int] = {}
        self.lasts: dict[str, int] = {}
        for e in entries:
            self.firsts.setdefault(e.first_key, len(self.firsts))
            self.lasts.setdefault(e.last_key, len(self.lasts))
        self.width = len(self.lasts)
        self.name_keys = np.unique(
            (
                (np.fromiter((self.firsts[e.first_key] for e in entries), dtype=np.int64, count=count) * self.width)
                + np.fromiter((self.lasts[e.last_key] for e in entries), dtype=np.int64, count=count)
            )
            << 22
            | ordinals
        )
        self.phones = buckets.phone
        self.national_ids = buckets.national_id

    def _counted(self, known: int) -> None:
        """Count the characters of the names numbered from ``self.done`` to ``known`` (tables grown by doubling)."""
        done = self.done
        if known == done:
            return
        if known > len(self.lengths):
            size = max(known, 2 * len(self.lengths), 1024)
            self.letters = np.concatenate([self.letters[:done], np.zeros((size - done, _BINS), dtype=np.uint8)])
            self.lengths = np.concatenate([self.lengths[:done], np.zeros(size - done, dtype=np.int64)])
        letters, lengths = self.letters, self.lengths
        for k, text in enumerate(self.texts[done:known], start=done):
            row = letters[k]
            for char, times in _letters(text).items():
                row[_BIN.get(char, _BINS - 1)] += times  # a name key has at most 100 characters
            lengths[k] = len(text)
        self.done = known

    def exact(self, rows: list, ordinals: np.ndarray) -> np.ndarray:
        """Whether each row may share a national id, a phone or names and birth date with an entry."""
        n = len(rows)
        firsts = np.fromiter(map(self.firsts.get, map(_FIRST, rows), repeat(-1)), dtype=np.int64, count=n)
        lasts = np.fromiter(map(self.lasts.get, map(_LAST, rows), repeat(-1)), dtype=np.int64, count=n)
        # An ordinal is below 2**22 (year 9999 is 3,652,059).
        keep = _found_in(self.name_keys, ((firsts * self.width + lasts) << 22) | ordinals)[1]
        keep &= (firsts >= 0) & (lasts >= 0)
        if self.phones:
            keep |= np.fromiter(map(self.phones.__contains__, map(_PHONE, rows)), dtype=bool, count=n)
        if self.national_ids:
            national = self.national_ids
            for k, value in enumerate(map(_NATIONAL, rows)):
                if value and _national_key(value) in national:
                    keep[k] = True
        return keep

    def similar(self, rows: list, ordinals: np.ndarray, apart: np.ndarray, found: dict) -> None:
        """Add to ``found`` the similar-name matches of the rows not ``apart``: (3, bucket, person id, key) under
        each entry whose name is alike, once, by the first bucket shared."""
        n = len(rows)
        villages = list(map(_VILLAGE, rows))
        spellings = self.spellings
        for spelling in set(villages).difference(spellings):
            spellings[spelling] = self.places.get(_village_key(spelling), -1)
        village = np.fromiter(map(spellings.__getitem__, villages), dtype=np.int64, count=n)
        sex = np.fromiter(map(_SEX_BIT.get, map(_SEX, rows), repeat(-1)), dtype=np.int64, count=n)
        place = np.where((village >= 0) & (sex >= 0) & ~apart, village * 2 + sex, -1)
        keys = _packed_buckets(np.maximum(place, 0), ordinals)
        at, hit = _found_in(self.keys, keys)
        hit &= np.tile(place >= 0, 3)
        (asked,) = np.nonzero(hit)
        if not len(asked):
            return
        starts, ends = self.starts[at[asked]], self.ends[at[asked]]
        sizes = ends - starts
        # Every (row, kind, entry) sharing a bucket: each asked key repeated once per entry of its bucket.
        firsts = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        entry = self.positions[firsts]
        which = np.repeat(asked, sizes)
        row, kind = which % n, which // n
        # Each (row, entry) once, by its first bucket.
        pairs = np.unique((row * self.count + entry) * 4 + kind)
        pair = pairs >> 2
        first = np.empty(len(pairs), dtype=bool)
        first[0] = True
        np.not_equal(pair[1:], pair[:-1], out=first[1:])
        pairs = pairs[first]
        kind, pair = pairs & 3, pairs >> 2
        row, entry = pair // self.count, pair % self.count
        # The stored rows' names, numbered (only those of the rows sharing a bucket).
        names, texts = self.names, self.texts
        stored = np.full(n, -1, dtype=np.int64)
        for r in np.unique(row).tolist():
            cells = rows[r]
            name = f"{_LAST(cells)} {_FIRST(cells)}"
            number = names.get(name)
            if number is None:
                number = names[name] = len(texts)
                texts.append(name)
            stored[r] = number
        self._counted(len(texts))
        ours, theirs = self.entry_names[entry], stored[row]
        # difflib's two cheap upper bounds (``_similar``) for every pair at once, characters counted by class: a
        # pair failing them is not alike; the few others are compared by ``_similar`` once each.
        total = self.lengths[ours] + self.lengths[theirs]
        bound = 2 * np.minimum(self.lengths[ours], self.lengths[theirs])
        bound = np.minimum(bound, 2 * np.minimum(self.letters[ours], self.letters[theirs]).sum(axis=1, dtype=np.int64))
        (asked,) = np.nonzero(bound >= (SIMILAR - 1e-9) * total)
        named = (ours[asked] << 32) | theirs[asked]
        unique, inverse = np.unique(named, return_inverse=True)
        alike, known = self.alike, []
        for key in unique.tolist():
            answer = alike.get(key)
            if answer is None:
                answer = alike[key] = _similar(texts[key >> 32], texts[key & 0xFFFFFFFF])
            known.append(answer)
        matched = asked[np.array(known, dtype=bool)[inverse.reshape(-1)]]
        for r, i, k in zip(row[matched].tolist(), entry[matched].tolist(), kind[matched].tolist(), strict=True):
            found[i].append((3, k, _ID(rows[r]), "similar_name"))


def _matches(chunks, entries: Sequence[_Entry], buckets: _Buckets) -> dict[int, list[tuple]]:
    """The register's rows (``_key_columns``, in lists) compared with the file's buckets: entry → [(rank, bucket,
    person id, key)], unordered. Each row is compared on its own, so rows may be split in parts (
    ``_register_matches_split``). A list of at least ``SIEVE_FROM`` rows is compared in numpy (``_Sieve``), but for
    the rows that may share a national id, a phone or names and birth date, which go through the loop below."""
    found: dict[int, list[tuple]] = defaultdict(list)  # entry → [(rank, bucket, person id, key)]
    sieve = None
    for chunk in chunks:
        if len(chunk) < SIEVE_FROM:
            _compared(chunk, entries, buckets, found)
            continue
        if sieve is None:
            sieve = _Sieve(entries, buckets)
        ordinals = np.fromiter(map(date.toordinal, map(_BORN, chunk)), dtype=np.int64, count=len(chunk))
        exact = sieve.exact(chunk, ordinals)
        sieve.similar(chunk, ordinals, exact, found)
        _compared([chunk[k] for k in np.flatnonzero(exact).tolist()], entries, buckets, found)
    return dict(found)


def _compared(rows, entries: Sequence[_Entry], buckets: _Buckets, found: dict) -> None:
    """``_matches`` for ``rows``, one at a time."""
    by_national = buckets.national_id
    by_phone = buckets.phone
    by_name = buckets.name_and_birth
    by_place = buckets.similar
    # A stored spelling of a village → {sex: that place's date buckets} (villages are few, persons many): a person
    # of a place no entry lives in costs one look-up more, and no key is built for them.
    places: dict[str, dict[str, dict[int, list[int]]]] = {}
    similar = _similar
    for pid, first, last, sex, born, village, phone, national_id in rows:
        hits: dict[int, int] | None = None  # entry → rank; the phone's other-household rule always holds here
        if national_id and by_national:
            for i in by_national.get(_national_key(national_id), ()):
                hits = hits or {}
                hits[i] = 0
        if phone and len(phone) >= PHONE_DIGITS and by_phone:
            for i in by_phone.get(phone, ()):
                hits = hits or {}
                if i not in hits:
                    hits[i] = 1
        for i in by_name.get((first, last, born), ()):
            hits = hits or {}
            if i not in hits:
                hits[i] = 2
        if hits:
            for i, rank in hits.items():
                found[i].append((rank, 0, pid, KEYS[rank]))
        if not village:
            continue
        by_sex = places.get(village)
        if by_sex is None:
            key = _village_key(village)
            by_sex = places[village] = {s: by_place[(key, s)] for s in SEXES if key and (key, s) in by_place}
        place = by_sex.get(sex)
        if place is None:
            continue
        # ``_date_codes`` of the stored row, written out: no entry object is made for it.
        year, month, day = born.year, born.month, born.day
        buckets_of_row = (
            place.get(year * 100 + month),
            place.get(-(month * 100 + day)),
            place.get(1_000_000 + year * 100 + day),
        )
        if not any(buckets_of_row):
            continue
        name = f"{last} {first}"
        unlike: set[int] = set()
        for kind, others in enumerate(buckets_of_row):
            if not others:
                continue
            for i in others:
                if (hits and i in hits) or i in unlike:
                    continue
                if similar(entries[i].name_key, name):
                    hits = hits or {}
                    hits[i] = 3
                    found[i].append((3, kind, pid, "similar_name"))
                else:
                    unlike.add(i)


def _persons(session, ids: list[int]) -> dict[int, tuple]:
    """id → (member_no, name, household_id, household_ref) of the register's persons ``ids``."""
    out: dict[int, tuple] = {}
    for chunk in chunked(ids):
        for pid, member_no, first_name, last_name, household_id, ref in session.execute(
            select(Person.id, Person.member_no, Person.first_name, Person.last_name, Person.household_id, Household.ref)
            .join(Household, Household.id == Person.household_id)
            .where(one_of(session, Person.id, chunk))
        ):
            out[pid] = (member_no, f"{first_name} {last_name}", household_id, ref)
    return out


def _dob_close(a: date, b: date) -> bool:
    """Two of year, month and day agree (one typo apart, or equal)."""
    return (a.year == b.year) + (a.month == b.month) + (a.day == b.day) >= 2


@lru_cache(maxsize=1 << 16)
def _letters(text: str) -> dict[str, int]:
    """How many times each character occurs in ``text`` (difflib's quick_ratio counts them)."""
    return Counter(text)


@lru_cache(maxsize=1 << 18)
def _similar(a: str, b: str) -> bool:
    """difflib's ratio ≥ SIMILAR, after its two cheap upper bounds computed here without building the matcher
    (real_quick_ratio: the lengths; quick_ratio: the characters in common), by difflib's own formula, so that
    the answer is difflib's. Cached: a register repeats its names, and a national file compares the same two
    names thousands of times (a pure function of ``a`` and ``b``)."""
    total = len(a) + len(b)
    if not total:
        return True
    if 2.0 * min(len(a), len(b)) / total < SIMILAR:
        return False
    theirs = _letters(b)
    common = 0
    for char, count in _letters(a).items():
        other = theirs.get(char)
        if other:
            common += count if count < other else other
    if 2.0 * common / total < SIMILAR:
        return False
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILAR


def _earlier_matches(entries: Sequence[_Entry], i: int, buckets: _Buckets) -> list[tuple[str, int]]:
    """(key, position) for each entry before ``i`` that ``entries[i]`` is likely the same person as, each once,
    by its first key in the order of KEYS, then in file order (a hot loop of a national import: plain loops, no
    closures; each bucket lists its positions in order, so a walk stops at ``i``)."""
    e = entries[i]
    found: dict[int, str] = {}
    if e.national_id:
        for j in buckets.national_id[e.national_id]:
            if j >= i:
                break
            if j not in found:
                found[j] = "national_id"
    if e.phone:
        household = e.household
        for j in buckets.phone[e.phone]:
            if j >= i:
                break
            if j not in found and entries[j].household != household:
                found[j] = "phone"
    for j in buckets.name_and_birth[(e.first_key, e.last_key, e.born)]:
        if j >= i:
            break
        if j not in found:
            found[j] = "name_and_birth"
    if e.village:
        place = buckets.similar[(e.village, e.sex)]
        name = e.name_key
        unlike: set[int] = set()  # compared and not alike: a pair born on the same day shares three buckets
        for code in _date_codes(e.born):
            for j in place[code]:
                if j >= i:
                    break
                if j in found or j in unlike:
                    continue
                if _similar(name, entries[j].name_key):
                    found[j] = "similar_name"
                else:
                    unlike.add(j)
    return [(key, j) for j, key in found.items()] if found else []


def find_duplicates(session, scheme_id: int, candidates: Sequence[Candidate]) -> list[Duplicate]:
    """The likely duplicates of ``candidates`` among the scheme's register and among themselves (each later row
    against the earlier ones), in row order."""
    return read_register(session, scheme_id, candidates)()


def find_duplicates_apart(
    engine, scheme_id: int, candidates: Sequence[Candidate], *, split: bool = True
) -> list[Duplicate]:
    """``find_duplicates`` on a connection of ``engine``'s own, which sees the committed register: the members
    import runs it while its own connection copies the households and persons and writes their derived rows, when
    its transaction has not changed the register (``core.db.engine_seeing_as_this``), so that the register is read
    on one core while the server ingests the file on the other (issue 17). One snapshot (REPEATABLE READ) for the
    whole check. ``split``: a scan of a large register is split over processes that share it
    (``_register_matches_split``) — for a check run during the persons' COPY only; one that runs in a process of
    its own from before the households' COPY (``core.db.read_apart``) scans alone: there a second scanning process
    competed with the import for the two cores and cost 11 s of CPU and 3 s of wall on an eleventh file of a
    national register (docs/scale.md)."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin(), Session(bind=connection) as other:
            return read_register(other, scheme_id, candidates, split=split)()


def read_register(
    session, scheme_id: int, candidates: Sequence[Candidate], *, split: bool = False
) -> Callable[[], list[Duplicate]]:
    """``find_duplicates`` in two steps: the register is read now, and the function returned finishes the work
    without the database (the file's people compared with each other, the list put in row order). A members
    import whose duplicates cannot refuse it runs that second step while the server ingests the persons (issue
    17); it must run before anything else is written to the register. ``split``: a scan of the register may be
    split over processes (``_register_matches_split``; ``session`` is REPEATABLE READ and has written nothing)."""
    if not candidates:
        return list
    keys: dict[str, str] = {}
    entries = [_entry_of_candidate(c, keys) for c in candidates]
    buckets = _buckets(entries)
    if split and _scans(_sought(entries)):
        register = _register_matches_split(session, scheme_id, entries, buckets)
    else:
        register = _register_matches(session, scheme_id, entries, buckets)
    persons = _persons(session, sorted({pid for found in register.values() for _, pid in found}))
    return lambda: _listed(entries, buckets, register, persons)


def _listed(entries: list[_Entry], buckets: _Buckets, register: dict, persons: dict) -> list[Duplicate]:
    """The likely duplicates in row order: each row's register matches, then its matches among earlier rows."""
    out: list[Duplicate] = []
    for i, e in enumerate(entries):
        for key, pid in register.get(i, ()):
            member_no, other_name, household_id, household_ref = persons[pid]
            out.append(
                Duplicate(
                    row=e.row,
                    name=e.name,
                    key=key,
                    other_name=other_name,
                    household_ref=household_ref,
                    member_no=member_no,
                    person_id=pid,
                    household_id=household_id,
                )
            )
        if not buckets.earlier[i]:
            continue
        for key, j in _earlier_matches(entries, i, buckets):
            other = entries[j]
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
    return out
