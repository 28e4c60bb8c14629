"""The decision of a claim (adjudication.md), as a pure function fed by the database layer.

``decide`` runs the thirteen checks in the order adjudication.md lists them; the first that fails rejects the
claim with its code and the checks after it are shown as not reached (``Check.passed is None``). A claim
that passes them all is APPROVED, or REDUCED with its notes in step order. ``decide_batch`` decides an import
in the order (date_of_service, date_submitted, claim_ref), each decision seeing the paying ones before it.

Everything a decision looks up comes from a ``Context`` (people, providers, household coverage) and a
``History`` (the APPROVED/REDUCED claims decided so far, kept in dicts): a decision is a handful of dict
lookups and never scans earlier claims, so a million-claim import stays linear.

Check details for the officer's screen are ``(message, params)``: ``message`` is an English template with
``%(name)s`` placeholders taken from ``MESSAGES`` (it is also the gettext msgid), ``params`` holds typed
values (``str``, ``int``, ``Decimal``, ``date``). The web layer translates with
``flask_babel.gettext(check.message, **formatted_params)`` after formatting amounts and dates for the locale;
``Check.detail`` renders the plain English text (ISO dates, amounts as given) for logs, the CLI and tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol

from mhi.core.dates import add_months
from mhi.core.money import ZERO, round_money

APPROVED = "APPROVED"
REDUCED = "REDUCED"
REJECTED = "REJECTED"
#: Statuses that pay, and so count for duplicates, cases and the annual ceiling (adjudication.md checks 10-13).
PAYING_STATUSES = frozenset({APPROVED, REDUCED})

SERVICE = "service"
CASH = "cash"
#: Cash benefits paid for a person's death (data-formats.md names death among cash benefits; scheme.json has no
#: field saying so, so the code does: docs/decisions.md). A person dies once: see ``decide`` and History.
DEATH_BENEFIT_CODES = frozenset({"DEATH", "DECES"})


def is_death_benefit(code: str, kind: str | None) -> bool:
    """Whether a benefit pays for a death: a cash benefit coded DEATH (or DECES)."""
    return kind == CASH and code in DEATH_BENEFIT_CODES


# Reject codes, in the order adjudication.md runs the checks.
UNKNOWN_MEMBER = "UNKNOWN_MEMBER"
UNKNOWN_BENEFIT = "UNKNOWN_BENEFIT"
NOT_FOR_PATIENT = "NOT_FOR_PATIENT"
PROVIDER_NOT_CONTRACTED = "PROVIDER_NOT_CONTRACTED"
INVALID_DATES = "INVALID_DATES"
LATE_SUBMISSION = "LATE_SUBMISSION"
NOT_ENROLLED = "NOT_ENROLLED"
WAITING_PERIOD = "WAITING_PERIOD"
NOT_COVERED = "NOT_COVERED"
DUPLICATE = "DUPLICATE"
MAX_CASES = "MAX_CASES"
NOTHING_PAYABLE = "NOTHING_PAYABLE"
CEILING_PER_YEAR = "CEILING_PER_YEAR"
CHECK_CODES: tuple[str, ...] = (
    UNKNOWN_MEMBER,
    UNKNOWN_BENEFIT,
    NOT_FOR_PATIENT,
    PROVIDER_NOT_CONTRACTED,
    INVALID_DATES,
    LATE_SUBMISSION,
    NOT_ENROLLED,
    WAITING_PERIOD,
    NOT_COVERED,
    DUPLICATE,
    MAX_CASES,
    NOTHING_PAYABLE,
    CEILING_PER_YEAR,
)

# Notes of a REDUCED claim, in the order of the amount steps (adjudication.md "Amount").
TARIFF_CAPPED = "TARIFF_CAPPED"
CEILING_PER_CASE = "CEILING_PER_CASE"
NOTE_CODES: tuple[str, ...] = (TARIFF_CAPPED, CEILING_PER_CASE, CEILING_PER_YEAR)

#: Every detail template a check can show, by message id. The English text is the gettext msgid.
MESSAGES: dict[str, str] = {
    "not_reached": "Not checked: an earlier check rejected the claim.",
    "member_unknown": "No person with member number %(member_no)s in this scheme.",
    "member_found": "Member %(member_no)s is a person of the scheme.",
    "no_product": "The household has no product in force on %(day)s.",
    "benefit_unknown": "Benefit %(benefit)s is not part of the household's product on %(day)s.",
    "benefit_found": "Benefit %(benefit)s (%(kind)s) is part of the household's product.",
    "patient_sex": "Benefit %(benefit)s is for sex %(limit)s only; this person's sex is %(sex)s.",
    "patient_too_young": "Benefit %(benefit)s is from age %(limit)s; this person is %(age)s on %(day)s.",
    "patient_too_old": "Benefit %(benefit)s is up to age %(limit)s; this person is %(age)s on %(day)s.",
    "patient_ok": "Benefit %(benefit)s is open to this person (aged %(age)s on %(day)s).",
    "patient_any": "Benefit %(benefit)s is open to every member.",
    "provider_cash": "Cash benefit: no provider needed.",
    "provider_blank": "No provider given for a service benefit.",
    "provider_unknown": "Provider %(provider)s is not known to the scheme.",
    "provider_outside": "Provider %(provider)s is under contract from %(start)s to %(end)s, not on %(day)s.",
    "provider_outside_open": "Provider %(provider)s is under contract from %(start)s, not on %(day)s.",
    "provider_ok": "Provider %(provider)s is under contract on %(day)s.",
    "dates_service_after_submission": ("Date of service %(service)s is after the submission date %(submitted)s."),
    "dates_submitted_after_recorded": (
        "Submission date %(submitted)s is after the day the claim was recorded, %(recorded)s."
    ),
    "dates_ok": "Service on %(service)s, submitted on %(submitted)s, recorded on %(recorded)s.",
    "late": "Submitted %(days)s after the service; the limit is %(limit)s.",
    "in_time": "Submitted %(days)s after the service, within the limit of %(limit)s.",
    "no_limit": "Submitted %(days)s after the service; the product sets no limit.",
    "not_yet_enrolled": "Not enrolled on %(day)s: enrolled from %(enrolment)s.",
    "exited": "Not enrolled on %(day)s: left the scheme on %(exit)s.",
    "enrolled": "Enrolled on %(day)s (from %(enrolment)s).",
    "newborn_not_born": "Not covered on %(day)s: a newborn is covered from birth, on %(birth)s.",
    "newborn_enrolled": (
        "Newborn registered within %(days)s of birth: covered from birth (%(birth)s), enrolled on %(enrolment)s."
    ),
    "waiting": ("Waiting period of %(days)s: this benefit is covered from %(first_day)s, not on %(service)s."),
    "waiting_over": "Waiting period of %(days)s over: this benefit is covered from %(first_day)s.",
    "newborn_no_wait": "Newborn: no waiting period, covered from birth (%(first_day)s).",
    "not_covered": ("The household is not covered on %(day)s (contributions unpaid, lapsed, struck off or left)."),
    "covered": "The household is covered on %(day)s.",
    "duplicate_service": (
        "An approved claim already has the same member, benefit, provider, date of service and amount."
    ),
    "duplicate_cash": "An approved claim already pays %(benefit)s for this person on %(service)s.",
    "duplicate_death": (
        "A death allowance was already approved for this person (death on %(day)s): a death is paid once."
    ),
    "not_duplicate": "No earlier approved claim is the same.",
    "max_cases": "Already %(cases)s approved cases of %(benefit)s in %(year)s; the limit is %(limit)s.",
    "cases_ok": "%(cases)s earlier approved cases of %(benefit)s in %(year)s; the limit is %(limit)s.",
    "cases_unlimited": "No limit on the number of cases of %(benefit)s.",
    "nothing_payable": ("Nothing is payable: the admissible amount %(admissible)s at a rate of %(rate)s comes to 0."),
    "nothing_payable_cash": "Nothing is payable: the benefit's amount comes to 0.",
    "payable": "Payable before the annual ceiling: %(amount)s.",
    "ceiling_used_up": "The annual ceiling of %(ceiling)s for %(benefit)s in %(year)s is used up.",
    "ceiling_ok": "%(remaining)s of the annual ceiling of %(ceiling)s remained; %(amount)s approved.",
    "no_ceiling": "No annual ceiling; %(amount)s approved.",
    "letter_used": "Guarantee letter %(letter)s used: its own reservation is left out of the annual ceiling.",
    "letter_no_match": (
        "Guarantee letter %(letter)s does not match this claim (unknown, used, cancelled, or another person,"
        " benefit, provider or period): decided as if it cited none."
    ),
}
#: The extra line shown when a claim cites a guarantee letter (not a reject code: the claim is decided either way).
GUARANTEE_LETTER = "GUARANTEE_LETTER"

_NO_PARAMS: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class BenefitRule:
    """One benefit of a product version (data-formats.md scheme.json ``benefits``)."""

    code: str
    kind: str  # "service" or "cash"
    coverage_rate: Decimal | None = None  # service: share of the admissible bill paid
    amount: Decimal | None = None  # cash: the fixed amount paid
    ceiling_per_case: Decimal | None = None
    ceiling_per_year: Decimal | None = None
    max_cases_per_year: int | None = None
    waiting_period_days: int | None = None  # replaces the product's when given
    sex: str | None = None  # "F" or "M": the benefit is for that sex only (check 3)
    min_age_years: int | None = None  # age bounds on the date of service, both inclusive (check 3)
    max_age_years: int | None = None


@dataclass(frozen=True, slots=True)
class ProductRule:
    """The claim rules of one product version."""

    waiting_period_days: int
    submission_limit_days: int | None
    benefits: Mapping[str, BenefitRule]
    newborn_days: int | None = None  # adjudication.md "Start day and newborns"


@dataclass(frozen=True, slots=True)
class ProviderRule:
    """A provider's contract: dates both inclusive (``contract_to`` None = open end) and tariffs."""

    code: str
    contract_from: date
    contract_to: date | None
    tariffs: Mapping[str, Decimal]
    # Later tariff lists (date, list) of convention amendments; ``tariffs`` is the list before the first of them.
    changes: tuple[tuple[date, Mapping[str, Decimal]], ...] = ()

    def tariffs_on(self, day: date) -> Mapping[str, Decimal]:
        """The tariff list in force on ``day`` (the day of care): amendments never reach earlier care."""
        current = self.tariffs
        for since, tariffs in self.changes:
            if since <= day:
                current = tariffs
        return current


@dataclass(frozen=True, slots=True)
class PatientRule:
    """A person of the scheme as the checks see them.

    ``product_at(day)`` gives the household's product version in force on ``day`` (None if there is none).
    """

    member_no: str
    enrolment_date: date
    exit_date: date | None
    household_key: Any
    product_at: Callable[[date], ProductRule | None]
    sex: str | None = None
    date_of_birth: date | None = None
    relationship: str | None = None
    household_enrolment: date | None = None  # the household's enrolment date E (its head's)
    # The household's product change dates (docs/decisions.md "Product changes"); ``product_at`` already follows
    # them. A benefit the product before a change did not have waits from the change (``first_covered_day``).
    product_changes: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """A claim as received: ``recorded_on`` is the day it was typed, received by the API or imported."""

    claim_ref: str
    member_no: str
    provider_code: str | None
    benefit_code: str
    date_of_service: date
    date_submitted: date
    amount_claimed: Decimal
    recorded_on: date
    guarantee_ref: str | None = None  # the guarantee letter the claim cites (adjudication.md)


@dataclass(frozen=True, slots=True)
class LetterRule:
    """An issued guarantee letter, not used nor cancelled (adjudication.md "Guarantee letters")."""

    ref: str
    member_no: str
    benefit_code: str
    provider_code: str
    valid_from: date
    valid_to: date
    amount: Decimal

    @property
    def year_key(self) -> tuple[str, str, int]:
        """The person, benefit and year whose annual ceiling the letter reserves (the year of valid_from)."""
        return (self.member_no, self.benefit_code, self.valid_from.year)

    def matches(self, claim: ClaimInput) -> bool:
        """A claim from its provider for its person and benefit, with date_of_service inside its validity."""
        return (
            claim.member_no == self.member_no
            and claim.benefit_code == self.benefit_code
            and (claim.provider_code or "") == self.provider_code
            and self.valid_from <= claim.date_of_service <= self.valid_to
        )


class Context(Protocol):
    """What a decision looks up besides earlier claims."""

    def patient(self, member_no: str) -> PatientRule | None:
        """The person with this member number, or None."""

    def provider(self, code: str) -> ProviderRule | None:
        """The provider with this code, or None."""

    def household_covered(self, household_key: Any, day: date) -> bool:
        """Whether the household is covered on ``day`` (contributions.md §4)."""


@dataclass(frozen=True)
class StaticContext:
    """A ``Context`` over dicts already loaded (an import, a test) and a coverage function."""

    patients: Mapping[str, PatientRule]
    providers: Mapping[str, ProviderRule]
    coverage: Callable[[Any, date], bool]

    def patient(self, member_no: str) -> PatientRule | None:
        """The person with this member number, or None."""
        return self.patients.get(member_no)

    def provider(self, code: str) -> ProviderRule | None:
        """The provider with this code, or None."""
        return self.providers.get(code)

    def household_covered(self, household_key: Any, day: date) -> bool:
        """Whether the household is covered on ``day`` (contributions.md §4)."""
        return self.coverage(household_key, day)


@dataclass(frozen=True, slots=True)
class Check:
    """One check's result for the officer's screen: ``passed`` is None when the check was not reached."""

    code: str
    passed: bool | None
    message: str  # an English template from MESSAGES, also the gettext msgid
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        """The message in plain English, for logs, the CLI and tests."""
        return self.message % {key: _plain(value) for key, value in self.params.items()}


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of a claim: status, amount, reasons (the reject code, or the notes of a REDUCED claim)."""

    status: str
    amount_approved: Decimal
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]
    co_payment: Decimal | None  # service claims that pay: amount_claimed − amount_approved
    letter_used: str | None = None  # the guarantee letter this paying decision uses, and so closes


def _plain(value: Any) -> str:
    """A parameter as plain text: ISO dates, decimals as given."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class History:
    """The APPROVED/REDUCED claims decided so far, indexed so checks 10, 11 and 13 are dict lookups.

    ``add``/``remove`` take any decision-like object with ``status`` and ``amount_approved`` (a ``Decision``,
    an officer's override, a stored row); decisions that do not pay are ignored. Both duplicate keys are kept
    for every claim so the benefit's kind is only needed when checking.
    """

    __slots__ = (
        "_service_keys",
        "_cash_keys",
        "_cases",
        "_approved",
        "_letters",
        "_reserving",
        "_reserved",
        "_deaths",
    )

    def __init__(self) -> None:
        """Start empty (a new scheme, or a test)."""
        self._service_keys: dict[tuple, int] = {}
        self._cash_keys: dict[tuple, int] = {}
        self._cases: dict[tuple, int] = {}
        self._approved: dict[tuple, Decimal] = {}
        self._letters: dict[str, LetterRule] = {}  # issued, neither used nor cancelled
        self._reserving: set[str] = set()  # of those, the ones not past valid_to: they reserve their amount
        self._reserved: dict[tuple, Decimal] = {}
        self._deaths: dict[str, dict[date, int]] = {}  # member_no → days of death paid (any year), counted

    def add_death(self, member_no: str, day: date, step: int = 1) -> None:
        """Count (or, with ``step`` -1, uncount) a paying death-allowance claim of this person on ``day``."""
        days = self._deaths.setdefault(member_no, {})
        count = days.get(day, 0) + step
        if count > 0:
            days[day] = count
        else:
            days.pop(day, None)
            if not days:
                self._deaths.pop(member_no, None)

    def death_of(self, member_no: str) -> date | None:
        """The day of death of an earlier paying death-allowance claim of this person, or None."""
        days = self._deaths.get(member_no)
        return min(days) if days else None

    def add_letter(self, letter: LetterRule, *, reserves: bool) -> None:
        """An issued letter a claim may cite; ``reserves`` when it is not past its valid_to (adjudication.md)."""
        self._letters[letter.ref] = letter
        if reserves:
            self._reserving.add(letter.ref)
            self._reserved[letter.year_key] = self._reserved.get(letter.year_key, ZERO) + letter.amount

    def letter_for(self, claim: ClaimInput) -> LetterRule | None:
        """The open letter the claim cites, if it matches the claim; None otherwise."""
        letter = self._letters.get(claim.guarantee_ref or "")
        return letter if letter is not None and letter.matches(claim) else None

    def use_letter(self, ref: str) -> None:
        """The letter is used by a paying claim: it reserves nothing more and no other claim may use it."""
        letter = self._letters.pop(ref, None)
        if letter is not None and ref in self._reserving:
            self._reserving.discard(ref)
            self._reserved[letter.year_key] -= letter.amount

    def reserved_total(self, member_no: str, benefit_code: str, year: int, *, leaving_out=None) -> Decimal:
        """Σ amount of the open letters of this person, benefit and year, but ``leaving_out`` (a LetterRule)."""
        total = self._reserved.get((member_no, benefit_code, year), ZERO)
        if leaving_out is not None and leaving_out.ref in self._reserving:
            total -= leaving_out.amount
        return total

    def add(self, claim: ClaimInput, decision: Any) -> None:
        """Count a paying decision for later duplicate, case and annual-ceiling checks."""
        if decision.status not in PAYING_STATUSES:
            return
        year_key = (claim.member_no, claim.benefit_code, claim.date_of_service.year)
        _bump(self._service_keys, _service_key(claim), 1)
        _bump(self._cash_keys, _cash_key(claim), 1)
        _bump(self._cases, year_key, 1)
        self._approved[year_key] = self._approved.get(year_key, ZERO) + decision.amount_approved
        if claim.benefit_code in DEATH_BENEFIT_CODES:
            self.add_death(claim.member_no, claim.date_of_service)
        letter = getattr(decision, "letter_used", None)
        if letter:
            self.use_letter(letter)

    def remove(self, claim: ClaimInput, decision: Any) -> None:
        """Undo ``add`` for a decision superseded by an override or a correction (adjudication.md)."""
        if decision.status not in PAYING_STATUSES:
            return
        year_key = (claim.member_no, claim.benefit_code, claim.date_of_service.year)
        _bump(self._service_keys, _service_key(claim), -1)
        _bump(self._cash_keys, _cash_key(claim), -1)
        _bump(self._cases, year_key, -1)
        if claim.benefit_code in DEATH_BENEFIT_CODES:
            self.add_death(claim.member_no, claim.date_of_service, -1)
        left = self._approved.get(year_key, ZERO) - decision.amount_approved
        if self._cases.get(year_key):
            self._approved[year_key] = left
        else:
            self._approved.pop(year_key, None)

    def is_duplicate(self, claim: ClaimInput, kind: str) -> bool:
        """Whether an earlier paying claim is the same (check 10; a cash key ignores provider and amount)."""
        if kind == CASH:
            return _cash_key(claim) in self._cash_keys
        return _service_key(claim) in self._service_keys

    def cases(self, member_no: str, benefit_code: str, year: int) -> int:
        """Paying claims of this person and benefit with a date of service in ``year``."""
        return self._cases.get((member_no, benefit_code, year), 0)

    def approved_total(self, member_no: str, benefit_code: str, year: int) -> Decimal:
        """Σ amount_approved of this person's paying claims of this benefit in ``year``."""
        return self._approved.get((member_no, benefit_code, year), ZERO)


def _service_key(claim: ClaimInput) -> tuple:
    """Duplicate key of a service claim: member, benefit, provider, day and amount claimed."""
    return (
        claim.member_no,
        claim.benefit_code,
        claim.provider_code or None,
        claim.date_of_service,
        claim.amount_claimed,
    )


def _cash_key(claim: ClaimInput) -> tuple:
    """Duplicate key of a cash claim: the same person, benefit and day, whatever the amount claimed."""
    return (claim.member_no, claim.benefit_code, claim.date_of_service)


def _bump(counter: dict[tuple, int], key: tuple, step: int) -> None:
    """Add ``step`` to a count, dropping the key at 0 so membership means "at least one"."""
    count = counter.get(key, 0) + step
    if count > 0:
        counter[key] = count
    else:
        counter.pop(key, None)


def _check(code: str, passed: bool, message_id: str, **params: Any) -> Check:
    """A check result with one of the MESSAGES templates."""
    return Check(code, passed, MESSAGES[message_id], params)


def _rejected(checks: list[Check], failed: Check) -> Decision:
    """A REJECTED decision: the failing check's code is the single reason, the rest are not reached."""
    checks.append(failed)
    not_reached = MESSAGES["not_reached"]
    for code in CHECK_CODES[len(checks) :]:
        checks.append(Check(code, None, not_reached, _NO_PARAMS))
    return Decision(REJECTED, ZERO, (failed.code,), tuple(checks), None)


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years a with add_months(date_of_birth, 12·a) ≤ day (adjudication.md "Age"; 29 February clamps to
    28 February): 0 until the first birthday, 5 from the fifth birthday on."""
    years = day.year - date_of_birth.year
    if add_months(date_of_birth, 12 * years) > day:
        years -= 1
    return years


def is_newborn(patient: PatientRule, product: ProductRule) -> bool:
    """adjudication.md "Start day and newborns": a child born on or after the household's enrolment and enrolled
    within the product's newborn_days of birth."""
    if product.newborn_days is None or patient.relationship != "child" or patient.date_of_birth is None:
        return False
    household_start = patient.household_enrolment if patient.household_enrolment is not None else patient.enrolment_date
    born = patient.date_of_birth
    return born >= household_start and patient.enrolment_date <= born + timedelta(days=product.newborn_days)


def start_day(patient: PatientRule, product: ProductRule) -> date:
    """The person's start day: the enrolment date, or the date of birth for a newborn (adjudication.md)."""
    if is_newborn(patient, product):
        return patient.date_of_birth  # type: ignore[return-value]
    return patient.enrolment_date


def waiting_days(patient: PatientRule, product: ProductRule, benefit: BenefitRule) -> int:
    """The waiting period of this benefit for this person: the benefit's own, else the product's; 0 for a
    newborn (adjudication.md check 8)."""
    if is_newborn(patient, product):
        return 0
    return benefit.waiting_period_days if benefit.waiting_period_days is not None else product.waiting_period_days


def benefit_since(patient: PatientRule, code: str, day: date) -> date | None:
    """The latest product change on or before ``day`` that brought benefit ``code`` to the household (the
    product in force the day before did not have it), or None when the household had it before every change
    (docs/decisions.md "Product changes": a benefit kept across a change keeps its waiting period's continuity)."""
    start = patient.household_enrolment or patient.enrolment_date
    for change in reversed(patient.product_changes):
        if change > day or change <= start:
            continue
        before = patient.product_at(change - timedelta(days=1))
        if before is None or code not in before.benefits:
            return change
    return None


def first_covered_day(patient: PatientRule, product: ProductRule, benefit: BenefitRule, on: date | None = None) -> date:
    """The first day of service the waiting period allows: start day + waiting days (check 8); for a benefit new
    to the household at a product change on or before ``on``, the waiting period runs from that change when it is
    later than the start day. The one definition of the waiting period's first day: the claim checks and the
    eligibility desk both read it."""
    start = start_day(patient, product)
    if on is not None and patient.product_changes:
        since = benefit_since(patient, benefit.code, on)
        if since is not None and since > start:
            start = since
    return start + timedelta(days=waiting_days(patient, product, benefit))


def benefit_window(
    patient: PatientRule, product: ProductRule, benefit: BenefitRule, on: date | None = None
) -> tuple[date | None, date | None]:
    """The days of service on which checks 3 and 8 let this person use the benefit: (first, last), last None when
    open-ended; (None, None) when never (a benefit for the other sex). The desk's "may use it, and from when"."""
    if benefit.sex is not None and patient.sex is not None and patient.sex != benefit.sex:
        return None, None
    first = first_covered_day(patient, product, benefit, on)
    last = None
    born = patient.date_of_birth
    if born is not None and benefit.min_age_years is not None:
        first = max(first, add_months(born, 12 * benefit.min_age_years))
    if born is not None and benefit.max_age_years is not None:
        last = add_months(born, 12 * (benefit.max_age_years + 1)) - timedelta(days=1)
        if last < first:
            return None, None
    return first, last


def patient_check(patient: PatientRule, benefit: BenefitRule, day: date) -> Check:
    """Check 3: the benefit's limits by sex and age on ``day`` (both bounds inclusive)."""
    if benefit.sex is not None and patient.sex is not None and patient.sex != benefit.sex:
        return _check(NOT_FOR_PATIENT, False, "patient_sex", benefit=benefit.code, limit=benefit.sex, sex=patient.sex)
    if patient.date_of_birth is None or (benefit.min_age_years is None and benefit.max_age_years is None):
        return _check(NOT_FOR_PATIENT, True, "patient_any", benefit=benefit.code)
    age = age_on(patient.date_of_birth, day)
    params = {"benefit": benefit.code, "age": age, "day": day}
    if benefit.min_age_years is not None and age < benefit.min_age_years:
        return _check(NOT_FOR_PATIENT, False, "patient_too_young", limit=benefit.min_age_years, **params)
    if benefit.max_age_years is not None and age > benefit.max_age_years:
        return _check(NOT_FOR_PATIENT, False, "patient_too_old", limit=benefit.max_age_years, **params)
    return _check(NOT_FOR_PATIENT, True, "patient_ok", **params)


def _provider_check(claim: ClaimInput, ctx: Context) -> tuple[ProviderRule | None, Check]:
    """Check 4 for a service benefit: a known provider under contract on the day of service."""
    day = claim.date_of_service
    if not claim.provider_code:
        return None, _check(PROVIDER_NOT_CONTRACTED, False, "provider_blank")
    provider = ctx.provider(claim.provider_code)
    if provider is None:
        return None, _check(PROVIDER_NOT_CONTRACTED, False, "provider_unknown", provider=claim.provider_code)
    start, end = provider.contract_from, provider.contract_to
    # contract_to is the contract's last day (adjudication.md check 4: inclusive).
    if day < start or (end is not None and day > end):
        if end is None:
            failed = _check(
                PROVIDER_NOT_CONTRACTED,
                False,
                "provider_outside_open",
                provider=provider.code,
                start=start,
                day=day,
            )
        else:
            failed = _check(
                PROVIDER_NOT_CONTRACTED,
                False,
                "provider_outside",
                provider=provider.code,
                start=start,
                end=end,
                day=day,
            )
        return provider, failed
    return provider, _check(PROVIDER_NOT_CONTRACTED, True, "provider_ok", provider=provider.code, day=day)


def decide(claim: ClaimInput, ctx: Context, history: History, currency: str) -> Decision:
    """Decide one claim against the rules in force and the paying claims in ``history`` (adjudication.md).

    ``history`` is not changed: the caller adds the decision once it is stored (``decide_batch`` does so).
    """
    checks: list[Check] = []
    service_day = claim.date_of_service

    # 1. The person.
    patient = ctx.patient(claim.member_no)
    if patient is None:
        return _rejected(checks, _check(UNKNOWN_MEMBER, False, "member_unknown", member_no=claim.member_no))
    checks.append(_check(UNKNOWN_MEMBER, True, "member_found", member_no=claim.member_no))

    # 2. The benefit, in the household's product version in force on the day of service.
    product = patient.product_at(service_day)
    if product is None:
        return _rejected(checks, _check(UNKNOWN_BENEFIT, False, "no_product", day=service_day))
    benefit = product.benefits.get(claim.benefit_code)
    if benefit is None:
        return _rejected(
            checks,
            _check(UNKNOWN_BENEFIT, False, "benefit_unknown", benefit=claim.benefit_code, day=service_day),
        )
    checks.append(_check(UNKNOWN_BENEFIT, True, "benefit_found", benefit=benefit.code, kind=benefit.kind))
    is_cash = benefit.kind == CASH

    # 3. The benefit's limits by sex and age on the day of service.
    limits = patient_check(patient, benefit, service_day)
    if not limits.passed:
        return _rejected(checks, limits)
    checks.append(limits)

    # 4. The provider: only service benefits need one; on a cash claim it is recorded and ignored.
    if is_cash:
        provider = None
        checks.append(_check(PROVIDER_NOT_CONTRACTED, True, "provider_cash"))
    else:
        provider, provider_check = _provider_check(claim, ctx)
        if not provider_check.passed:
            return _rejected(checks, provider_check)
        checks.append(provider_check)

    # 5. Dates in the order the claim lived them: service, submission, recording.
    dates = {"service": service_day, "submitted": claim.date_submitted, "recorded": claim.recorded_on}
    if service_day > claim.date_submitted:
        return _rejected(checks, _check(INVALID_DATES, False, "dates_service_after_submission", **dates))
    if claim.date_submitted > claim.recorded_on:
        return _rejected(checks, _check(INVALID_DATES, False, "dates_submitted_after_recorded", **dates))
    checks.append(_check(INVALID_DATES, True, "dates_ok", **dates))

    # 6. Submission limit.
    delay = (claim.date_submitted - service_day).days
    limit = product.submission_limit_days
    if limit is None:
        checks.append(_check(LATE_SUBMISSION, True, "no_limit", days=delay))
    elif delay > limit:
        return _rejected(checks, _check(LATE_SUBMISSION, False, "late", days=delay, limit=limit))
    else:
        checks.append(_check(LATE_SUBMISSION, True, "in_time", days=delay, limit=limit))

    # 7. Enrolment on the eligibility day: the day before a cash event, since a death may itself end the
    # membership and cover must have been in force just before it (adjudication.md). A newborn starts at birth.
    eligibility_day = service_day - timedelta(days=1) if is_cash else service_day
    newborn = is_newborn(patient, product)
    start = start_day(patient, product)
    if eligibility_day < start:
        if newborn:
            failed = _check(NOT_ENROLLED, False, "newborn_not_born", day=eligibility_day, birth=start)
        else:
            failed = _check(NOT_ENROLLED, False, "not_yet_enrolled", day=eligibility_day, enrolment=start)
        return _rejected(checks, failed)
    if patient.exit_date is not None and eligibility_day >= patient.exit_date:
        return _rejected(checks, _check(NOT_ENROLLED, False, "exited", day=eligibility_day, exit=patient.exit_date))
    if newborn:
        checks.append(
            _check(
                NOT_ENROLLED,
                True,
                "newborn_enrolled",
                days=product.newborn_days,
                birth=start,
                enrolment=patient.enrolment_date,
            )
        )
    else:
        checks.append(_check(NOT_ENROLLED, True, "enrolled", day=eligibility_day, enrolment=start))

    # 8. Waiting period: the benefit's own replaces the product's, none for a newborn; on the day of service.
    wait = waiting_days(patient, product, benefit)
    first_day = first_covered_day(patient, product, benefit, on=service_day)
    if service_day < first_day:
        return _rejected(
            checks,
            _check(WAITING_PERIOD, False, "waiting", days=wait, first_day=first_day, service=service_day),
        )
    if newborn:
        checks.append(_check(WAITING_PERIOD, True, "newborn_no_wait", first_day=first_day))
    else:
        checks.append(_check(WAITING_PERIOD, True, "waiting_over", days=wait, first_day=first_day))

    # 9. Household coverage on the eligibility day (contributions.md §4).
    if not ctx.household_covered(patient.household_key, eligibility_day):
        return _rejected(checks, _check(NOT_COVERED, False, "not_covered", day=eligibility_day))
    checks.append(_check(NOT_COVERED, True, "covered", day=eligibility_day))

    # 10. Duplicates among the paying claims decided before.
    year = service_day.year
    max_cases = benefit.max_cases_per_year
    if history.is_duplicate(claim, benefit.kind):
        if is_cash:
            failed = _check(DUPLICATE, False, "duplicate_cash", benefit=benefit.code, service=service_day)
        else:
            failed = _check(DUPLICATE, False, "duplicate_service")
        return _rejected(checks, failed)
    # A person dies once (issue 13, docs/decisions.md): a death allowance whose person's death was already paid on
    # another day is a duplicate too — unless check 11 refuses it anyway, as the contract's examples expect
    # (fatick DIOF-C000279: MAX_CASES). A later day is refused by check 7 already once the death is recorded.
    died = history.death_of(claim.member_no) if is_death_benefit(benefit.code, benefit.kind) else None
    if died is not None and (max_cases is None or history.cases(claim.member_no, benefit.code, year) < max_cases):
        return _rejected(checks, _check(DUPLICATE, False, "duplicate_death", day=died))
    checks.append(_check(DUPLICATE, True, "not_duplicate"))

    # 11. Maximum cases in the calendar year of the day of service.
    if max_cases is None:
        checks.append(_check(MAX_CASES, True, "cases_unlimited", benefit=benefit.code))
    else:
        cases = history.cases(claim.member_no, benefit.code, year)
        params = {"cases": cases, "benefit": benefit.code, "year": year, "limit": max_cases}
        if cases >= max_cases:
            return _rejected(checks, _check(MAX_CASES, False, "max_cases", **params))
        checks.append(_check(MAX_CASES, True, "cases_ok", **params))

    # 12. The amount before the annual ceiling (adjudication.md "Amount", steps 1-4).
    notes: list[str] = []
    if is_cash:
        # A cash benefit pays its fixed amount; amount_claimed is only recorded.
        payable = benefit.amount if benefit.amount is not None else ZERO
        admissible = payable
        rate = Decimal(1)
    else:
        admissible = claim.amount_claimed
        tariff = provider.tariffs_on(claim.date_of_service).get(benefit.code)
        if tariff is not None and admissible > tariff:
            admissible = tariff
            notes.append(TARIFF_CAPPED)
        # A service benefit without a rate pays the whole admissible bill (scheme.json always gives one).
        rate = benefit.coverage_rate if benefit.coverage_rate is not None else Decimal(1)
        payable = round_money(admissible * rate, currency)
    if benefit.ceiling_per_case is not None and payable > benefit.ceiling_per_case:
        payable = benefit.ceiling_per_case
        notes.append(CEILING_PER_CASE)
    if payable <= 0:
        if is_cash:
            failed = _check(NOTHING_PAYABLE, False, "nothing_payable_cash")
        else:
            failed = _check(NOTHING_PAYABLE, False, "nothing_payable", admissible=admissible, rate=rate)
        return _rejected(checks, failed)
    checks.append(_check(NOTHING_PAYABLE, True, "payable", amount=payable))

    # 13. The annual ceiling, over this person's paying claims of the benefit in the year and the open guarantee
    # letters, but the one this claim uses (step 5-6).
    letter = history.letter_for(claim) if claim.guarantee_ref else None
    ceiling = benefit.ceiling_per_year
    if ceiling is None:
        checks.append(_check(CEILING_PER_YEAR, True, "no_ceiling", amount=payable))
    else:
        used = history.approved_total(claim.member_no, benefit.code, year)
        remaining = ceiling - used - history.reserved_total(claim.member_no, benefit.code, year, leaving_out=letter)
        if payable > remaining:
            payable = max(remaining, ZERO)
            if payable == 0:
                return _rejected(
                    checks,
                    _check(
                        CEILING_PER_YEAR,
                        False,
                        "ceiling_used_up",
                        ceiling=ceiling,
                        benefit=benefit.code,
                        year=year,
                    ),
                )
            notes.append(CEILING_PER_YEAR)
        checks.append(
            _check(
                CEILING_PER_YEAR,
                True,
                "ceiling_ok",
                remaining=max(remaining, ZERO),
                ceiling=ceiling,
                amount=payable,
            )
        )

    if claim.guarantee_ref:
        if letter is not None:
            checks.append(_check(GUARANTEE_LETTER, True, "letter_used", letter=letter.ref))
        else:
            checks.append(_check(GUARANTEE_LETTER, False, "letter_no_match", letter=claim.guarantee_ref))
    # The co-payment is what the patient of a service pays; a cash benefit has none.
    co_payment = None if is_cash else claim.amount_claimed - payable
    status = REDUCED if notes else APPROVED
    return Decision(status, payable, tuple(notes), tuple(checks), co_payment, letter.ref if letter else None)


#: The refusal of a letter for a cash benefit (a letter promises a provider payment for care).
LETTER_CASH = "CASH_BENEFIT"
#: The checks a guarantee letter must pass on its valid_from (adjudication.md "Guarantee letters"): 1–4 and 7–11.
LETTER_CHECKS = frozenset(CHECK_CODES[:4] + CHECK_CODES[6:11])


@dataclass(frozen=True, slots=True)
class LetterAnswer:
    """Whether a letter may be issued: ``refusal`` is the first failing code (None: issue it), ``remaining`` the
    annual ceiling left for it (None when the benefit has none), ``checks`` for the screen."""

    refusal: str | None
    remaining: Decimal | None
    checks: tuple[Check, ...]


def check_letter(letter: LetterRule, ctx: Context, history: History, currency: str) -> LetterAnswer:
    """Checks 1–4 and 7–11 on the letter's valid_from taken as the date of service, then the amount: at most the
    annual ceiling left once the paying claims and the other open letters are counted (adjudication.md), so that
    approved claims plus open letters never pass ceiling_per_year."""
    claim = ClaimInput(
        claim_ref=letter.ref,
        member_no=letter.member_no,
        provider_code=letter.provider_code,
        benefit_code=letter.benefit_code,
        date_of_service=letter.valid_from,
        # Submitted and recorded on the day of care: checks 5 and 6 (dates, submission limit) do not apply.
        date_submitted=letter.valid_from,
        amount_claimed=letter.amount,
        recorded_on=letter.valid_from,
    )
    decision = decide(claim, ctx, history, currency)
    checks = tuple(c for c in decision.checks if c.code in LETTER_CHECKS)
    failed = next((c.code for c in checks if c.passed is False), None)
    if failed is not None:
        return LetterAnswer(failed, None, checks)
    patient = ctx.patient(letter.member_no)
    benefit = patient.product_at(letter.valid_from).benefits[letter.benefit_code]  # type: ignore[union-attr]
    if benefit.kind == CASH:
        return LetterAnswer(LETTER_CASH, None, checks)  # a letter promises care: a cash benefit has none
    if benefit.ceiling_per_year is None:
        return LetterAnswer(None, None, checks)
    year = letter.valid_from.year
    remaining = (
        benefit.ceiling_per_year
        - history.approved_total(letter.member_no, letter.benefit_code, year)
        - history.reserved_total(letter.member_no, letter.benefit_code, year)
    )
    remaining = max(remaining, ZERO)
    return LetterAnswer(CEILING_PER_YEAR if letter.amount > remaining else None, remaining, checks)


def claim_sort_key(claim: ClaimInput) -> tuple[date, date, str]:
    """The order claims of one batch are decided in (adjudication.md): plain character order of claim_ref."""
    return (claim.date_of_service, claim.date_submitted, claim.claim_ref)


def decide_batch(claims: Iterable[ClaimInput], ctx: Context, history: History, currency: str) -> list[Decision]:
    """Decide a batch in claim_sort_key order, each decision seeing the paying ones before it.

    Returns the decisions in the order of ``claims`` as given (``result[i]`` decides ``claims[i]``);
    ``history`` ends up holding every paying decision of the batch.
    """
    batch = list(claims)
    decisions: list[Decision | None] = [None] * len(batch)
    for index in sorted(range(len(batch)), key=lambda i: claim_sort_key(batch[i])):
        claim = batch[index]
        decision = decide(claim, ctx, history, currency)
        history.add(claim, decision)
        decisions[index] = decision
    return decisions  # type: ignore[return-value]
