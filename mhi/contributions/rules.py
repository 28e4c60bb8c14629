"""The contribution, subsidy and coverage rules of contributions.md, as a pure engine (no database).

The database layer bulk-loads one household's rows into a ``HouseholdInput`` and calls ``build_ledger`` once;
the ``Ledger`` then answers every question of contributions.md cheaply: its periods (§1), subsidy shares (§2),
``paid_until`` (§3), coverage on a day and as half-open spans (§4), the strike-off date (§5) and the amounts a
report needs for [F, T] (§6).

Decisions where the spec is silent (the brief of this module):
- Subsidy programmes' share and categories are dated too (``Programme.terms``): a period takes the terms in
  force on its start_k, the registration fee those at E.
- Products change by effective-dated versions (data-formats.md "scheme.json"). The period grid
  (``period_months``), the grace and the lapse come from the version in force at E; each period's amount
  and basis come from the version in force on its start_k; the registration fee from the version at E.
  The version "in force" on a day is the last one dated on or before it; the first version applies from E even
  when it is dated later.
- A household moved to another product from D (docs/decisions.md "Product changes"): ``terms`` are its
  versions over time, so periods starting on or after D take the new product's amount and basis. D is a period
  boundary (the service refuses other days); when the new product's period length differs, the grid restarts at
  D with the new length (``grid_next``), else it goes on unchanged. Grace, lapse and registration fee stay those of
  the version in force at E.
- ``paid_until`` returns ``None`` while it is undefined and the sentinel ``UNBOUNDED`` (``date.max``) when
  it is unbounded (§3: every due period from some k on has member due 0 and all before it are paid).
- A receipt and its reversal counter-entry carry the same date, so the §5 walk takes the receipts of one
  date together (``paid_until`` of that date counts all of them); a reversed receipt is as if never made.
- The schedule is generated lazily. Once start_k passes every date on which something can change (persons'
  enrolment and exit dates, programme validity, product versions) the periods repeat: a repeated member due
  of 0 is the unbounded, fully subsidised tail, so no loop runs past that point looking for an unpaid period.
- ``contributions_earned`` divides by the days of each period, which Decimal cannot always hold exactly; the
  report amounts carry the exact value as a ``Fraction`` too (``earned_gross_fraction``), and
  ``round_exact_sum`` sums those over households and rounds once (§6 "summed exactly and rounded once").

Money is kept as integer minor units inside the ledger (exact, and fast in the inner loops); every amount that
leaves it is a ``Decimal`` in the household's currency.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import lru_cache

from mhi.core.dates import add_months, version_on
from mhi.core.money import minor_units, split_cumulative
from mhi.schemes.programmes import ProgrammeTerms, terms_on

#: ``paid_until`` of a household whose dues from some period on are all 0 and paid (contributions.md §3).
UNBOUNDED = date.max
#: No period starts after this day: dates past it plus a grace or lapse period would leave the calendar (year 9999).
CALENDAR_END = date(9000, 1, 1)

_ONE = Decimal(1)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Terms:
    """A product version's contribution terms (data-formats.md "scheme.json", contributions.md notation)."""

    basis: str  # "person" | "household"
    amount: Decimal  # per period
    period_months: int  # 1, 3 or 12
    registration_fee: Decimal
    grace_days: int  # 0 when the product has none
    lapse_days: int | None  # None = never struck off


@dataclass(frozen=True)
class Programme:
    """A subsidy programme; a household's programmes are given in scheme.json order (contributions.md §2).

    ``terms`` are its dated shares and categories in date order (``mhi.schemes.programmes``), read with
    ``terms_on`` on each period's start; without them ``share`` and ``categories`` hold throughout.
    """

    code: str
    categories: frozenset[str]
    share: Decimal
    valid_from: date
    valid_to: date | None
    terms: tuple[ProgrammeTerms, ...] = ()

    def __post_init__(self) -> None:
        if not self.terms:
            first = ProgrammeTerms(self.valid_from, self.share, frozenset(self.categories))
            object.__setattr__(self, "terms", (first,))


@dataclass(frozen=True)
class PersonDates:
    """The two dates of a person that the rules use."""

    enrolment: date
    exit: date | None


@dataclass
class HouseholdInput:
    """Everything the rules need about one household, as the database layer loads it."""

    enrolment: date  # the head's enrolment date E
    category: str  # "standard" when blank; the category before the first dated change
    persons: Sequence[PersonDates]
    # Any order; a reversal counter-entry carries the original's date and the negated amount.
    receipts: Sequence[tuple[date, Decimal]]
    # Effective-dated product versions sorted by date; the first applies from E.
    terms: Sequence[tuple[date, Terms]]
    programmes: Sequence[Programme]
    currency: str
    # Dated category changes (from_date, category), data-formats.md categories.csv: c_k is the category of the
    # latest change with from_date ≤ start_k, else ``category`` (contributions.md notation).
    category_changes: Sequence[tuple[date, str]] = ()
    # The dates of the household's product changes (docs/decisions.md "Product changes"); ``terms`` is then the
    # household's versions over time (mhi.members.products.household_versions). At a change to a product whose
    # period length differs the period grid restarts on that day.
    product_changes: Sequence[date] = ()


@dataclass(frozen=True)
class Period:
    """One due period k = [start, end) with its gross due, subsidy parts and member due (§1, §2)."""

    k: int
    start: date
    end: date
    persons: int
    gross: Decimal
    subsidies: tuple[tuple[str, Decimal], ...]
    member_due: Decimal


@dataclass(frozen=True)
class ReportAmounts:
    """One household's share of the §6 report amounts for [F, T]; the report sums them over households."""

    contributions_expected: Decimal
    period_dues_paid: Decimal
    subsidies_due: Decimal
    subsidies_due_by_programme: dict[str, Decimal]
    registration_fees: Decimal
    earned_gross_exact: Decimal
    earned_member_exact: Decimal
    arrears_at_T: Decimal
    C_T: Decimal
    contributions_collected: Decimal
    earned_gross_fraction: Fraction = field(default=Fraction(0))
    earned_member_fraction: Fraction = field(default=Fraction(0))


@dataclass(frozen=True)
class CoverStatus:
    """A household's cover on a day (contributions.md §4, §5), as ``Ledger.status`` gives it.

    ``reason`` when not covered: "not_enrolled" (``reason_date`` = E), "exited" / "struck_off" (that day) or
    "unpaid": ``reason_date`` = paid_until, the first unpaid day, and ``uncovered_since`` = paid_until + grace,
    the first day without cover; a household that never paid a period has ``paid_until`` None and
    ``reason_date`` = E. In grace ``reason_date`` is paid_until too. ``covered_until`` is the last covered day (None: no end, or not covered).
    """

    status: str  # "covered" | "grace" | "not_covered"
    reason: str | None = None
    reason_date: date | None = None
    covered_until: date | None = None
    paid_until: date | None = None
    uncovered_since: date | None = None


def not_covered_reason(
    day: date, enrolment: date, exit_date: date | None, strike_off_date: date | None, uncovered_since: date | None
) -> tuple[str, date | None]:
    """Why a household is not covered on ``day``, the most decisive reason first (contributions.md §4, §5):
    not enrolled yet, exited, struck off, else unpaid (since ``uncovered_since``, None when never paid).

    The one "why not covered": ``Ledger.status`` (household page, statement) and the eligibility answer (from
    the stored coverage spans) call it; it says "unpaid" only for a household known not to be covered.
    """
    if day < enrolment:
        return "not_enrolled", enrolment
    if exit_date is not None and exit_date <= day:
        return "exited", exit_date
    if strike_off_date is not None and strike_off_date <= day:
        return "struck_off", strike_off_date
    return "unpaid", uncovered_since


def household_exit_date(h: HouseholdInput) -> date | None:
    """The day the household exited: the latest exit date once every member has one (data-formats.md)."""
    if not h.persons:
        return None
    latest: date | None = None
    for person in h.persons:
        if person.exit is None:
            return None
        if latest is None or person.exit > latest:
            latest = person.exit
    return latest


def round_exact_sum(values: Iterable[Fraction], currency: str) -> Decimal:
    """Sum exact amounts (e.g. ``earned_gross_fraction`` over households) and round once, half up (§6)."""
    scaled = sum(values, Fraction(0)) * 10 ** minor_units(currency)
    # ROUND_HALF_UP (conventions.md): halves go away from zero, computed on the exact fraction.
    magnitude = math.floor(abs(scaled) + Fraction(1, 2))
    return _from_minor(-magnitude if scaled < 0 else magnitude, minor_units(currency))


def _to_minor(amount: Decimal, scale: int) -> int:
    """An amount in integer minor units; refuses amounts finer than the currency's minor unit."""
    value = Decimal(amount).scaleb(scale)
    integral = value.to_integral_value()
    if value != integral:
        raise ValueError(f"{amount} has more decimals than the currency allows ({scale})")
    return int(integral)


@lru_cache(maxsize=1 << 14)
def _from_minor(value: int, scale: int) -> Decimal:
    """Integer minor units back to a Decimal with exactly the currency's decimals. Cached (Decimals are
    immutable): a national import turns the same few hundred dues back into Decimals millions of times, and the
    one object per value also keeps its hash for the dictionaries that follow (issue 17)."""
    return Decimal(value).scaleb(-scale)


def _exact_decimal(value: Fraction, scale: int) -> Decimal:
    """A minor-unit fraction as a Decimal in currency units, to 40 significant digits (not rounded)."""
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(value.numerator) / Decimal(value.denominator)).scaleb(-scale)


@lru_cache(maxsize=4096)
def _split_minor(gross: int, shares: tuple[Decimal, ...], currency: str) -> tuple[int, ...]:
    """Programme parts of ``gross`` minor units by the capped ``shares`` with cumulative rounding (§2).

    Goes through money.split_cumulative, the one splitting function; cached because the same gross and
    shares recur across periods and households.
    """
    scale = minor_units(currency)
    parts = split_cumulative(_from_minor(gross, scale), list(shares), currency)
    return tuple(_to_minor(part, scale) for part in parts)


def _effective_shares(programmes: Sequence[Programme], category: str, day: date) -> tuple[tuple[str, ...], tuple]:
    """Codes and capped shares of the programmes applying on ``day`` to ``category``, scheme order (§2)."""
    codes: list[str] = []
    shares: list[Decimal] = []
    used = _ZERO
    for programme in programmes:
        if day < programme.valid_from or (programme.valid_to is not None and day > programme.valid_to):
            continue
        terms = terms_on(programme, day)  # the terms in force on the period's start (§2)
        if category not in terms.categories:
            continue
        # Each effective share is capped by what the earlier ones left, so together they never pass 1.
        share = min(terms.share, _ONE - used)
        used += share
        codes.append(programme.code)
        shares.append(share)
    return tuple(codes), tuple(shares)


def build_ledger(h: HouseholdInput) -> Ledger:
    """Precompute a household's schedule, strike-off date and receipts once, for cheap repeated queries."""
    return Ledger(h)


class Ledger:
    """One household's contribution ledger (contributions.md §1–§6), built once by ``build_ledger``.

    Periods are generated lazily and kept as parallel lists of integer minor units: ``_starts[k]`` is start_k
    (one more start than generated periods, so the end of the last period is at hand), ``_cum[k]`` is
    d_0 + … + d_k, which ``paid_until`` bisects.
    """

    def __init__(self, h: HouseholdInput) -> None:
        """Read the household, generate what the §5 strike-off walk needs and settle the strike-off date."""
        if not h.terms:
            raise ValueError("a household needs at least one product version")
        if any(t.basis not in ("person", "household") for _, t in h.terms):
            raise ValueError("contribution basis must be 'person' or 'household'")
        self.enrolment = h.enrolment
        self.category = h.category or "standard"
        changes = sorted(h.category_changes)
        self._category_dates = [d for d, _ in changes]
        self._category_values = [c or "standard" for _, c in changes]
        self.currency = h.currency
        self._scale = minor_units(h.currency)
        self._persons = [(p.enrolment, p.exit) for p in h.persons]
        self._programmes = tuple(h.programmes)
        self._term_dates = [d for d, _ in h.terms]
        # Each version with its amount in minor units, chosen by ``version_on`` (the one rule for "in force").
        self._versions = [(d, t, t.basis, _to_minor(t.amount, minor_units(h.currency))) for d, t in h.terms]
        base = self._terms_on(h.enrolment)
        # Decision (module docstring): grid, grace, lapse and registration fee from the version in force at E.
        self._months = base.period_months
        # Period grid anchors (day, months): E with the first product's length, then each product change whose
        # product's length differs (module docstring).
        self._anchors = grid_anchors(h.enrolment, base.period_months, h.product_changes, self._terms_on)
        self._grid_state = (0, 0)  # (anchor index, step within it) of the last generated start
        self.grace_days = base.grace_days
        self.lapse_days = base.lapse_days
        self.exit_date = household_exit_date(h)

        # After this day nothing that shapes a period changes: the schedule repeats (module docstring).
        events = [h.enrolment, *self._term_dates, *self._category_dates]
        for enrolment, exit_ in self._persons:
            events.append(enrolment)
            if exit_ is not None:
                events.append(exit_)
        for programme in self._programmes:
            events.append(programme.valid_from)
            events.extend(terms.effective_from for terms in programme.terms)
            if programme.valid_to is not None:
                events.append(programme.valid_to + timedelta(days=1))
        # Between two of these days a period looks like the one before it, so it is copied, not recomputed.
        self._changes = sorted(set(events))
        self._stationary_from = self._changes[-1]
        self._same_until = h.enrolment  # the current period shape holds for starts before this day
        self._shape: tuple[int, int, tuple[tuple[str, int], ...], int] = (0, 0, (), 0)

        # §2: the registration fee is split on period 0's shares.
        self.registration_fee = _to_minor(base.registration_fee, self._scale)
        codes, shares = _effective_shares(self._programmes, self.category_on(h.enrolment), h.enrolment)
        reg_parts = _split_minor(self.registration_fee, shares, self.currency) if codes else ()
        self._reg_parts = tuple(zip(codes, reg_parts, strict=True))
        self._r = self.registration_fee - sum(reg_parts)

        self._starts: list[date] = [h.enrolment]
        self._n: list[int] = []
        self._g: list[int] = []
        self._subs: list[tuple[tuple[str, int], ...]] = []
        self._d: list[int] = []
        self._cum: list[int] = []
        self._paid_cache: dict[int, int | None] = {}
        self._done = False  # no more due periods (§1: n_k = 0, or start_k on/after the strike-off date)
        self._zero_tail = False  # periods repeat from here with member due 0: the schedule never runs out

        receipts = sorted((d, _to_minor(a, self._scale)) for d, a in h.receipts)
        self._all_receipt_dates = [d for d, _ in receipts]
        self._all_receipt_cum = _running_totals([a for _, a in receipts])
        self._rdates, self._rcum = _by_date(receipts)
        self.strike_off_date = self._walk_strike_off()
        if self.strike_off_date is not None:
            self._cap_at(self.strike_off_date)
            # §3: receipts on or after the strike-off date never pay a period.
            keep = bisect_left(self._rdates, self.strike_off_date)
            self._rdates, self._rcum = self._rdates[:keep], self._rcum[:keep]

    # -- schedule ------------------------------------------------------------------------------------------

    def _terms_on(self, day: date) -> Terms:
        """The product version in force on ``day``; the first one applies from E (module docstring)."""
        return self._version(day)[1]

    def _version(self, day: date) -> tuple[date, Terms, str, int]:
        """(date, terms, basis, amount in minor units) of the version in force on ``day``."""
        return version_on(self._versions, day, dates=self._term_dates)

    def category_on(self, day: date) -> str:
        """The household's category on ``day``: the latest dated change on or before it, else the register's."""
        index = bisect_right(self._category_dates, day) - 1
        return self._category_values[index] if index >= 0 else self.category

    def _next_period(self) -> None:
        """Generate period k = len(self._d), or mark the schedule done when it ends there (§1)."""
        k = len(self._d)
        start = self._starts[k]
        if start is UNBOUNDED:
            # Paid past CALENDAR_END (a mistyped huge amount): nothing later can fall due and the receipts pay
            # for good — paid_until is UNBOUNDED rather than a crash of the date arithmetic (tests/trust).
            self._done = True
            return
        if start >= self._same_until:
            self._shape = self._period_shape(start)
            later = bisect_right(self._changes, start)
            self._same_until = self._changes[later] if later < len(self._changes) else date.max
        persons, gross, parts, due = self._shape
        if persons == 0:
            self._done = True
            return
        self._n.append(persons)
        self._g.append(gross)
        self._subs.append(parts)
        self._d.append(due)
        self._cum.append((self._cum[-1] if self._cum else 0) + due)
        if start < CALENDAR_END:
            following, self._grid_state = grid_next(self._anchors, self._grid_state)
        else:
            following = UNBOUNDED
        self._starts.append(following)
        self._zero_tail = due == 0 and start >= self._stationary_from

    def _period_shape(self, start: date) -> tuple[int, int, tuple[tuple[str, int], ...], int]:
        """n_k, g_k, the programme parts s_kp and d_k of a period starting on ``start`` (§1, §2)."""
        persons = 0
        for enrolment, exit_ in self._persons:
            # §1: joins count from the next period; leavers count until the period after they leave.
            if enrolment <= start and (exit_ is None or exit_ > start):
                persons += 1
        _, _, basis, amount = self._version(start)
        gross = amount * persons if basis == "person" else amount
        codes, shares = _effective_shares(self._programmes, self.category_on(start), start)
        parts = _split_minor(gross, shares, self.currency) if codes else ()
        return persons, gross, tuple(zip(codes, parts, strict=True)), gross - sum(parts)

    def _ensure_date(self, day: date) -> None:
        """Generate every period that starts on or before ``day`` (finite: it stops at a date)."""
        while not self._done and self._starts[len(self._d)] <= day:
            self._next_period()

    def _ensure_amount(self, paid: int) -> None:
        """Generate until cumulative member dues pass ``paid``, the schedule ends or the zero tail starts."""
        while not self._done and not self._zero_tail and (not self._cum or self._cum[-1] <= paid):
            self._next_period()

    def _cap_at(self, strike_off: date) -> None:
        """§1: periods starting on or after the strike-off date are not due; drop any generated ones."""
        self._ensure_date(strike_off)
        keep = bisect_left(self._starts, strike_off, 0, len(self._d))
        del self._n[keep:], self._g[keep:], self._subs[keep:], self._d[keep:], self._cum[keep:]
        del self._starts[keep + 1 :]
        self._done = True
        self._zero_tail = False
        self._paid_cache.clear()

    # -- paying (§3) and strike-off (§5) -------------------------------------------------------------------

    def _c_minor(self, day: date) -> int:
        """C(D) in minor units: receipts dated on or before ``day`` and before the strike-off date (§3)."""
        index = bisect_right(self._rdates, day)
        return self._rcum[index - 1] if index else 0

    def _paid_count(self, paid: int) -> int | None:
        """How many leading due periods ``paid`` minor units pay: None before r is paid, -1 for unbounded."""
        if paid in self._paid_cache:
            return self._paid_cache[paid]
        count: int | None
        if paid < self._r:
            count = None
        else:
            rest = paid - self._r
            self._ensure_amount(rest)
            count = bisect_right(self._cum, rest)
            if count == len(self._cum) and not self._done and self._zero_tail:
                count = -1
        self._paid_cache[paid] = count
        return count

    def _paid_until_minor(self, paid: int) -> date | None:
        """``paid_until`` for a given C in minor units (§3)."""
        count = self._paid_count(paid)
        if count is None or count == 0:
            return None
        if count == -1:
            return UNBOUNDED
        return self._starts[count]

    def _walk_strike_off(self) -> date | None:
        """§5's walk over the receipts in date order; None when the household is never struck off."""
        if self.lapse_days is None:
            return None
        lapse = timedelta(days=self.lapse_days)
        start = self._paid_until_minor(self._c_minor(self.enrolment))
        x = start if start is not None else self.enrolment
        if x is UNBOUNDED:
            return None
        strike_off = None
        for day, cumulative in zip(self._rdates, self._rcum, strict=True):
            if day >= x + lapse:
                strike_off = x + lapse  # that receipt is too late
                break
            paid_until = self._paid_until_minor(cumulative)
            x = paid_until if paid_until is not None else self.enrolment
            if x is UNBOUNDED:
                return None
        if strike_off is None:
            strike_off = x + lapse
        # §5: a household that left on or before that date was not dropped.
        if self.exit_date is not None and self.exit_date <= strike_off:
            return None
        return strike_off

    # -- public queries ------------------------------------------------------------------------------------

    @property
    def registration_split(self) -> tuple[Decimal, tuple[tuple[str, Decimal], ...]]:
        """The member part r of the registration fee and the programme parts r_p (§2)."""
        parts = tuple((code, _from_minor(part, self._scale)) for code, part in self._reg_parts)
        return _from_minor(self._r, self._scale), parts

    def _count_until(self, day: date) -> int:
        """How many due periods start on or before ``day`` (generating them)."""
        self._ensure_date(day)
        return bisect_right(self._starts, day, 0, len(self._d))

    def periods_until(self, day: date) -> list[Period]:
        """The due periods that start on or before ``day`` (§1, §2)."""
        count = self._count_until(day)
        scale = self._scale
        return [
            Period(
                k=k,
                start=self._starts[k],
                end=self._starts[k + 1],
                persons=self._n[k],
                gross=_from_minor(self._g[k], scale),
                subsidies=tuple((code, _from_minor(part, scale)) for code, part in self._subs[k]),
                member_due=_from_minor(self._d[k], scale),
            )
            for k in range(count)
        ]

    def dues_until(self, day: date) -> list[tuple[date, date, Decimal, Decimal]]:
        """(start, end, g_k, d_k) of the due periods that start on or before ``day``: ``periods_until`` without
        the persons and the programme parts, for the stored ledgers (issue 17: a year of receipts stores some
        forty periods a household)."""
        count = self._count_until(day)
        scale, starts, gross, due = self._scale, self._starts, self._g, self._d
        return [
            (starts[k], starts[k + 1], _from_minor(gross[k], scale), _from_minor(due[k], scale)) for k in range(count)
        ]

    def dues_until_minor(self, day: date) -> tuple[int, int, list[date], list[int], list[int]]:
        """(scale, r, starts, g_k, d_k) in minor units of the due periods starting on or before ``day``, the
        starts with the end of the last one: ``dues_until`` without a Decimal per period, for the stored periods
        written as integers (contributions/stored.py ``ledger_rows``)."""
        count = self._count_until(day)
        return self._scale, self._r, self._starts[: count + 1], self._g[:count], self._d[:count]

    def member_dues_minor(self, day: date) -> tuple[int, int, list[date], list[int]]:
        """(scale, r, starts, member dues d_k) in minor units of the due periods starting on or before ``day``: the
        stored ledgers' due totals (contributions/stored.py ``due_parts``) without a Decimal per period."""
        count = self._count_until(day)
        return self._scale, self._r, self._starts[:count], self._d[:count]

    def c_by_day(self) -> tuple[list[date], list[int]]:
        """The days with a receipt counted in C (§3: before the strike-off date) and C at the end of each, in
        minor units (a reversal shares its original's date)."""
        return self._rdates, self._rcum

    def c_by_month(self) -> list[tuple[int, int]]:
        """(year · 12 + month − 1, C at the end of that month in minor units) for each month with a receipt
        counted in C (§3: before the strike-off date), in order."""
        months: list[tuple[int, int]] = []
        for day, total in zip(self._rdates, self._rcum, strict=True):
            month = day.year * 12 + day.month - 1
            if months and months[-1][0] == month:
                months[-1] = (month, total)
            else:
                months.append((month, total))
        return months

    def C(self, day: date) -> Decimal:
        """C(D): receipts dated on or before ``day`` and before the strike-off date (§3)."""
        return _from_minor(self._c_minor(day), self._scale)

    def paid_until(self, day: date) -> date | None:
        """paid_until(D) (§3): None while undefined, ``UNBOUNDED`` (date.max) when unbounded."""
        return self._paid_until_minor(self._c_minor(day))

    def is_covered(self, day: date) -> bool:
        """§4: the household is covered on ``day`` (only receipts dated on or before it count)."""
        if day < self.enrolment:
            return False
        if self.exit_date is not None and self.exit_date <= day:
            return False
        if self.strike_off_date is not None and self.strike_off_date <= day:
            return False
        paid_until = self.paid_until(day)
        if paid_until is None:
            return False
        if paid_until is UNBOUNDED:
            return True
        return (day - paid_until).days < self.grace_days

    def _gone_by(self, day: date) -> bool:
        """The household exited or was struck off on or before ``day`` (§4, §5)."""
        return any(d is not None and d <= day for d in (self.exit_date, self.strike_off_date))

    def _arrears_minor(self, day: date) -> int:
        """§6 arrears at ``day`` in minor units: for a household enrolled and neither exited nor struck off by
        then, r + the member dues of the periods started by then − C(day), when positive."""
        if day < self.enrolment or self._gone_by(day):
            return 0
        self._ensure_date(day)
        started = bisect_right(self._starts, day, 0, len(self._d))
        due = self._r + (self._cum[started - 1] if started else 0)
        return max(0, due - self._c_minor(day))

    def arrears(self, day: date) -> Decimal:
        """ "Arrears at T" (contributions.md §6), the one function: the arrears list, the household page, the
        statement, the API and the reports (through their stored ledgers, tested against it) all give this."""
        return _from_minor(self._arrears_minor(day), self._scale)

    def status(self, day: date) -> CoverStatus:
        """Covered, in grace or not covered on ``day``, and why not (§4, §5): the one "why not covered"."""
        reason, since = not_covered_reason(day, self.enrolment, self.exit_date, self.strike_off_date, None)
        if reason != "unpaid":
            return CoverStatus("not_covered", reason, since)
        paid_until = self.paid_until(day)
        if paid_until is None:
            return CoverStatus("not_covered", "unpaid", self.enrolment)  # never paid: unpaid since E
        if paid_until is UNBOUNDED:
            return CoverStatus("covered", paid_until=paid_until)
        cover_end = paid_until + timedelta(days=self.grace_days)  # the first day without cover
        last_day = cover_end - timedelta(days=1)
        if day < paid_until:
            return CoverStatus("covered", covered_until=last_day, paid_until=paid_until)
        if day < cover_end:
            return CoverStatus("grace", None, paid_until, last_day, paid_until)
        return CoverStatus("not_covered", "unpaid", paid_until, paid_until=paid_until, uncovered_since=cover_end)

    def person_covered(self, person: PersonDates, day: date) -> bool:
        """§4: a person is covered when the household is, they have enrolled and not yet left."""
        if person.enrolment > day or (person.exit is not None and person.exit <= day):
            return False
        return self.is_covered(day)

    def coverage_spans(self) -> list[tuple[date, date | None]]:
        """Half-open [from, to) intervals on which the household is covered (§4); to None = open-ended.

        C(D) only changes on receipt dates, so between two of them paid_until is fixed and coverage is one
        interval [a, min(next receipt, paid_until + G)); the whole is cut at exit and strike-off.
        """
        ends = [d for d in (self.exit_date, self.strike_off_date) if d is not None]
        cap = min(ends) if ends else None
        grace = timedelta(days=self.grace_days)
        first = bisect_right(self._rdates, self.enrolment)
        segment_starts = [self.enrolment, *self._rdates[first:]]
        spans: list[tuple[date, date | None]] = []
        for index, start in enumerate(segment_starts):
            if cap is not None and start >= cap:
                break
            following = segment_starts[index + 1] if index + 1 < len(segment_starts) else None
            paid_until = self.paid_until(start)
            if paid_until is None:
                continue
            end = following
            if paid_until is not UNBOUNDED:
                covered_to = paid_until + grace
                end = covered_to if end is None else min(end, covered_to)
            if cap is not None:
                end = cap if end is None else min(end, cap)
            if end is not None and end <= start:
                continue
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
        return spans

    def person_coverage_spans(self, person: PersonDates) -> list[tuple[date, date | None]]:
        """The household's spans cut to the person's own [enrolment, exit) (§4)."""
        result: list[tuple[date, date | None]] = []
        for start, end in self.coverage_spans():
            lo = max(start, person.enrolment)
            if person.exit is None:
                hi = end
            else:
                hi = person.exit if end is None else min(end, person.exit)
            if hi is None or lo < hi:
                result.append((lo, hi))
        return result

    def amounts(self, date_from: date, date_to: date) -> ReportAmounts:
        """The household's §6 amounts for the reporting period [F, T] (both ends included)."""
        scale = self._scale
        self._ensure_date(date_to)
        due_count = len(self._d)
        lo = bisect_left(self._starts, date_from, 0, due_count)
        hi = bisect_right(self._starts, date_to, 0, due_count)
        enrolled_in = date_from <= self.enrolment <= date_to
        cum_before = self._cum[lo - 1] if lo else 0
        cum_to = self._cum[hi - 1] if hi else 0

        window = cum_to - cum_before + (self._r if enrolled_in else 0)
        before = cum_before + (self._r if self.enrolment < date_from else 0)
        c_t = self._c_minor(date_to)
        dues_paid = min(window, max(0, c_t - before))

        by_programme: dict[str, int] = {}
        for k in range(lo, hi):
            for code, part in self._subs[k]:
                by_programme[code] = by_programme.get(code, 0) + part
        if enrolled_in:
            for code, part in self._reg_parts:
                by_programme[code] = by_programme.get(code, 0) + part

        # §6 earned: periods paid as of T, pro rata of their days inside [F, T+1).
        paid = self._paid_count(c_t)
        paid_periods = 0 if paid is None else (hi if paid == -1 else min(paid, hi))
        window_end = date_to + timedelta(days=1)
        # Whole periods add integers; only the (at most two) cut ones need a fraction.
        whole_gross = whole_member = 0
        earned_gross = earned_member = Fraction(0)
        first = max(bisect_right(self._starts, date_from, 0, paid_periods) - 1, 0)
        for k in range(first, paid_periods):
            start, end = self._starts[k], self._starts[k + 1]
            if start >= date_from and end <= window_end:
                whole_gross += self._g[k]
                whole_member += self._d[k]
                continue
            overlap = (min(end, window_end) - max(start, date_from)).days
            if overlap <= 0:
                continue
            days = (end - start).days
            earned_gross += Fraction(self._g[k] * overlap, days)
            earned_member += Fraction(self._d[k] * overlap, days)
        earned_gross += whole_gross
        earned_member += whole_member

        arrears = self._arrears_minor(date_to)

        lo_r = bisect_left(self._all_receipt_dates, date_from)
        hi_r = bisect_right(self._all_receipt_dates, date_to)
        collected = (self._all_receipt_cum[hi_r - 1] if hi_r else 0) - (self._all_receipt_cum[lo_r - 1] if lo_r else 0)

        unit = 10**scale
        return ReportAmounts(
            contributions_expected=_from_minor(window, scale),
            period_dues_paid=_from_minor(dues_paid, scale),
            subsidies_due=_from_minor(sum(by_programme.values()), scale),
            subsidies_due_by_programme={code: _from_minor(v, scale) for code, v in by_programme.items()},
            registration_fees=_from_minor(self.registration_fee if enrolled_in else 0, scale),
            earned_gross_exact=_exact_decimal(earned_gross, scale),
            earned_member_exact=_exact_decimal(earned_member, scale),
            arrears_at_T=_from_minor(arrears, scale),
            C_T=_from_minor(c_t, scale),
            contributions_collected=_from_minor(collected, scale),
            earned_gross_fraction=earned_gross / unit,
            earned_member_fraction=earned_member / unit,
        )


def grid_anchors(enrolment: date, months: int, changes: Sequence[date], terms_on) -> list[tuple[date, int]]:
    """The period grid's anchors (day, months): E with ``months``, then each product change whose version in force
    (``terms_on(day)``) has another period length (docs/decisions.md "Product changes")."""
    anchors = [(enrolment, months)]
    for day in sorted(changes):
        if day <= enrolment:
            continue
        length = terms_on(day).period_months
        if length != anchors[-1][1]:
            anchors.append((day, length))
    return anchors


def period_boundaries(h: HouseholdInput, day: date, *, changes_before: date | None = None) -> tuple[date, date]:
    """The household's period boundaries around ``day`` on the grid its product changes before ``day`` (or before
    ``changes_before``) give: (the last period start on or before it, the first after it); ``day`` is a boundary
    when the first equals it. Used to refuse a product change that would cut a period (docs/decisions.md "Product
    changes"); independent of dues."""
    dates = [d for d, _ in h.terms]

    def terms_on(on: date) -> Terms:
        return version_on(h.terms, on, dates=dates)[1]

    earlier = [c for c in h.product_changes if c < (changes_before or day)]
    anchors = grid_anchors(h.enrolment, terms_on(h.enrolment).period_months, earlier, terms_on)
    start, state = h.enrolment, (0, 0)
    while True:
        following, state = grid_next(anchors, state)
        if following > day:
            return start, following
        start = following


def grid_next(anchors: Sequence[tuple[date, int]], state: tuple[int, int]) -> tuple[date, tuple[int, int]]:
    """The next period start after the one ``state`` = (anchor index, step) names, and its state: steps of the
    anchor's months from the anchor's day (add_months from the anchor keeps month-end days), cut at the next
    anchor, where the grid restarts."""
    index, step = state
    anchor, months = anchors[index]
    following = add_months(anchor, (step + 1) * months)
    if index + 1 < len(anchors) and following >= anchors[index + 1][0]:
        return anchors[index + 1][0], (index + 1, 0)
    return following, (index, step + 1)


def _running_totals(values: Sequence[int]) -> list[int]:
    """Cumulative sums of ``values``."""
    totals: list[int] = []
    running = 0
    for value in values:
        running += value
        totals.append(running)
    return totals


def _by_date(receipts: Sequence[tuple[date, int]]) -> tuple[list[date], list[int]]:
    """Distinct receipt dates and C at the end of each (a reversal shares its original's date, §5 walk)."""
    dates: list[date] = []
    totals: list[int] = []
    running = 0
    for day, amount in receipts:
        running += amount
        if dates and dates[-1] == day:
            totals[-1] = running
        else:
            dates.append(day)
            totals.append(running)
    return dates, totals
