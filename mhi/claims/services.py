"""Claims on the database: the rules' context loaded in bulk, deciding and storing, overrides, payment batches
and the eligibility check at the health centre (adjudication.md, contributions.md §4).

One code path decides every claim, whether typed in a form, sent to the API or imported: ``decide_and_store``.
It loads what the rules look up with a fixed number of queries per batch (never one per claim), decides in the
order adjudication.md fixes, and bulk-inserts the claims with their automatic decision.
Services flush, never commit: the view or command owns the transaction.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Text, bindparam, cast, func, insert, select
from sqlalchemy.exc import IntegrityError

from mhi.claims.models import Claim, ClaimDecision, ClaimLine, PaymentBatch
from mhi.claims.rules import (
    APPROVED,
    CASH,
    DEATH_BENEFIT_CODES,
    PAYING_STATUSES,
    REDUCED,
    REJECTED,
    BenefitRule,
    ClaimInput,
    Decision,
    History,
    PatientRule,
    ProductRule,
    ProviderRule,
    benefit_window,
    decide_batch,
    first_covered_day,
    is_death_benefit,
)
from mhi.contributions.models import CoverageSpan
from mhi.contributions.rules import not_covered_reason
from mhi.core import clock
from mhi.core.audit import record
from mhi.core.dates import version_on
from mhi.core.db import one_of
from mhi.core.errors import N_, UserError
from mhi.core.money import ZERO, money_str, quantum
from mhi.core.numbering import allocate_number
from mhi.core.validation import AMOUNT_LIMIT
from mhi.members.models import Household, Person, ProductChange
from mhi.members.products import household_versions, product_on
from mhi.schemes.models import Benefit, Product, ProductVersion, Provider, Scheme, Tariff
from mhi.schemes.tariffs import history as tariff_history

#: Above this many keys a lookup loads the scheme's rows and filters in Python: still one query, and no
#: statement ever carries more bind parameters than SQLite and PostgreSQL accept.
IN_LIMIT = 500


class ClaimError(UserError):
    """A claims action refused; the message says why in words a claims officer understands."""


# --------------------------------------------------------------------------------------------------------------
# The rules' context, from the database


@dataclass(frozen=True)
class ClaimEntry:
    """A claim as received, before its decision: what a form, the API or a claims.csv row gives."""

    claim_ref: str
    member_no: str
    provider_code: str | None
    benefit_code: str
    date_of_service: date
    date_submitted: date
    amount_claimed: Decimal
    paid_on: date | None = None
    diagnosis_code: str = ""
    guarantee_ref: str = ""  # the guarantee letter the claim cites (adjudication.md), blank for most claims
    lines: tuple[tuple[str, Decimal], ...] = ()
    discharge_date: date | None = None  # a hospital stay's last day (date_of_service is the admission)


class _VersionLookup:
    """The product version in force on a day, as ``schemes.services.version_in_force`` chooses it: the last
    active version dated on or before the day, else the first one."""

    __slots__ = ("_dates", "_versions")

    def __init__(self, versions: list[tuple[date, ProductRule]]):
        """``versions`` are the product's active versions in date order."""
        self._dates = [day for day, _ in versions]
        self._versions = versions

    @property
    def items(self) -> list[tuple[date, ProductRule]]:
        """(effective_from, rules) of the versions in date order."""
        return self._versions

    def __call__(self, day: date) -> ProductRule | None:
        """The rules in force on ``day`` (None when the product has no active version)."""
        chosen = version_on(self._versions, day, dates=self._dates)
        return None if chosen is None else chosen[1]


@dataclass
class DbContext:
    """The rules' ``Context`` over rows loaded once for a batch (or for one claim).

    ``household_key`` is the household id; coverage is read from the ``CoverageSpan`` rows that
    ``contributions.services.refresh_households`` keeps current: covered on D iff a span has start ≤ D < end.
    """

    patients: dict[str, PatientRule]
    person_ids: dict[str, int]
    providers: dict[str, ProviderRule]
    provider_ids: dict[str, int]
    spans: dict[int, list[tuple[date, date | None]]]
    benefit_kinds: dict[str, str] = field(default_factory=dict)

    def patient(self, member_no: str) -> PatientRule | None:
        """The person with this member number, or None."""
        return self.patients.get(member_no)

    def provider(self, code: str) -> ProviderRule | None:
        """The provider with this code, or None."""
        return self.providers.get(code)

    def household_covered(self, household_key: Any, day: date) -> bool:
        """Whether the household has a coverage span [start, end) holding ``day`` (contributions.md §4)."""
        for start, end in self.spans.get(household_key, ()):
            if start <= day and (end is None or day < end):
                return True
        return False


def _benefit_rule(row: Benefit) -> BenefitRule:
    """A stored benefit as the checks see it."""
    return BenefitRule(
        code=row.code,
        kind=row.kind,
        coverage_rate=row.coverage_rate,
        amount=row.amount,
        ceiling_per_case=row.ceiling_per_case,
        ceiling_per_year=row.ceiling_per_year,
        max_cases_per_year=row.max_cases_per_year,
        waiting_period_days=row.waiting_period_days,
        sex=row.sex,
        min_age_years=row.min_age_years,
        max_age_years=row.max_age_years,
    )


def product_lookups(session, scheme, product_ids=None) -> dict[int, _VersionLookup]:
    """The active versions of the scheme's products (or of ``product_ids``) as lookups by day: two queries."""
    versions_q = (
        select(ProductVersion)
        .join(Product, ProductVersion.product_id == Product.id)
        .where(Product.scheme_id == scheme.id, ProductVersion.status == "active")
        .order_by(ProductVersion.product_id, ProductVersion.effective_from)
    )
    if product_ids is not None:
        versions_q = versions_q.where(ProductVersion.product_id.in_(product_ids))
    versions = list(session.scalars(versions_q))
    benefits: dict[int, list[Benefit]] = defaultdict(list)
    if versions:
        benefit_rows = session.scalars(
            select(Benefit)
            .where(Benefit.version_id.in_([v.id for v in versions]))
            .order_by(Benefit.version_id, Benefit.position)
        )
        for row in benefit_rows:
            benefits[row.version_id].append(row)
    by_product: dict[int, list[tuple[date, ProductRule]]] = defaultdict(list)
    for version in versions:
        rule = ProductRule(
            waiting_period_days=version.waiting_period_days,
            submission_limit_days=version.submission_limit_days,
            benefits={b.code: _benefit_rule(b) for b in benefits[version.id]},
            newborn_days=version.newborn_days,
        )
        by_product[version.product_id].append((version.effective_from, rule))
    return {product_id: _VersionLookup(items) for product_id, items in by_product.items()}


def household_product_changes(session, scheme, household_ids=None) -> dict[int, list[tuple[date, int]]]:
    """(from_date, product id) of the product changes of the scheme's households (or of ``household_ids``), in
    date order, by household: one query."""
    query = select(ProductChange.household_id, ProductChange.from_date, ProductChange.product_id).where(
        ProductChange.scheme_id == scheme.id
    )
    if household_ids is not None:
        query = query.where(one_of(session, ProductChange.household_id, sorted(household_ids) or [-1]))
    changes: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for household_id, day, product_id in session.execute(
        query.order_by(ProductChange.household_id, ProductChange.from_date)
    ):
        changes[household_id].append((day, product_id))
    return dict(changes)


def _household_lookup(session, scheme, initial: int, dated: list[tuple[date, int]]) -> _VersionLookup:
    """The version lookup of one household moved to other products (members/products.py): two queries."""
    lookups = product_lookups(session, scheme, {initial, *(p for _, p in dated)})
    return _VersionLookup(household_versions(initial, dated, {p: lk.items for p, lk in lookups.items()}))


def scheme_benefit_kinds(session, scheme) -> dict[str, str]:
    """Every benefit code of the scheme's products (all versions) with its kind; ``cash`` wins if a code is
    cash in any version (a claims.csv amount of 0 is then readable, data-formats.md)."""
    rows = session.execute(
        select(Benefit.code, Benefit.kind)
        .join(ProductVersion, Benefit.version_id == ProductVersion.id)
        .join(Product, ProductVersion.product_id == Product.id)
        .where(Product.scheme_id == scheme.id)
    )
    kinds: dict[str, str] = {}
    for code, kind in rows:
        if kinds.get(code) != CASH:
            kinds[code] = kind
    return kinds


def load_context(session, scheme, member_nos: Iterable[str] | None = None, provider_codes=None) -> DbContext:
    """The rules' context for a batch of claims: persons, their households' products and coverage spans,
    providers and tariffs, with a fixed number of queries whatever the batch size.

    ``member_nos`` / ``provider_codes`` narrow the load for a handful of claims (a form, the API); a large batch
    loads the scheme's rows in one query each.
    """
    wanted = None if member_nos is None else set(member_nos)
    person_q = (
        select(
            Person.member_no,
            Person.id,
            Person.household_id,
            Person.enrolment_date,
            Person.exit_date,
            Person.sex,
            Person.date_of_birth,
            Person.relation,
            Household.enrolment_date.label("household_enrolment"),
            Household.product_id,
        )
        .join(Household, Person.household_id == Household.id)
        .where(Person.scheme_id == scheme.id)
    )
    narrow = wanted is not None and len(wanted) <= IN_LIMIT
    if narrow:
        person_q = person_q.where(Person.member_no.in_(wanted))
    person_rows = session.execute(person_q).all()
    if wanted is not None and not narrow:
        person_rows = [row for row in person_rows if row.member_no in wanted]

    changes = household_product_changes(session, scheme, {row.household_id for row in person_rows} if narrow else None)
    product_ids = None
    if narrow:
        product_ids = {row.product_id for row in person_rows} | {p for dated in changes.values() for _, p in dated}
    lookups = product_lookups(session, scheme, product_ids)
    empty = _VersionLookup([])
    # A household moved to another product reads its versions over time (members/products.py): one lookup each.
    moved = {
        hid: _VersionLookup(household_versions(initial, changes[hid], {p: lk.items for p, lk in lookups.items()}))
        for hid, initial in {(row.household_id, row.product_id) for row in person_rows if row.household_id in changes}
    }
    patients: dict[str, PatientRule] = {}
    person_ids: dict[str, int] = {}
    household_ids: set[int] = set()
    for row in person_rows:
        dated = changes.get(row.household_id, ())
        patients[row.member_no] = PatientRule(
            member_no=row.member_no,
            enrolment_date=row.enrolment_date,
            exit_date=row.exit_date,
            household_key=row.household_id,
            product_at=moved[row.household_id] if dated else lookups.get(row.product_id, empty),
            sex=row.sex,
            date_of_birth=row.date_of_birth,
            relationship=row.relation,
            household_enrolment=row.household_enrolment,
            product_changes=tuple(day for day, _ in dated),
        )
        person_ids[row.member_no] = row.id
        household_ids.add(row.household_id)

    span_q = select(CoverageSpan.household_id, CoverageSpan.start, CoverageSpan.end).where(
        CoverageSpan.scheme_id == scheme.id
    )
    if narrow:
        span_q = span_q.where(CoverageSpan.household_id.in_(household_ids or {-1}))
    spans: dict[int, list[tuple[date, date | None]]] = defaultdict(list)
    for household_id, start, end in session.execute(span_q.order_by(CoverageSpan.household_id, CoverageSpan.start)):
        if household_id in household_ids:
            spans[household_id].append((start, end))

    providers, provider_ids = _providers(session, scheme, provider_codes)
    return DbContext(patients, person_ids, providers, provider_ids, dict(spans))


def _providers(session, scheme, codes=None) -> tuple[dict[str, ProviderRule], dict[str, int]]:
    """The scheme's providers (or those with ``codes``) with their tariffs: two queries."""
    provider_q = select(Provider).where(Provider.scheme_id == scheme.id)
    if codes is not None:
        provider_q = provider_q.where(Provider.code.in_([c for c in codes if c] or [""]))
    rows = list(session.scalars(provider_q))
    tariff_rows: dict[int, list] = defaultdict(list)
    if rows:
        for provider_id, effective_from, benefit_code, amount in session.execute(
            select(Tariff.provider_id, Tariff.effective_from, Tariff.benefit_code, Tariff.amount).where(
                Tariff.provider_id.in_([p.id for p in rows])
            )
        ):
            tariff_rows[provider_id].append((effective_from, benefit_code, amount))
    rules = {}
    for p in rows:
        dated = tariff_history(tariff_rows.get(p.id, ()))
        first = dated[0][1] if dated else {}
        rules[p.code] = ProviderRule(p.code, p.contract_from, p.contract_to, first, tuple(dated[1:]))
    return rules, {p.code: p.id for p in rows}


def history_for(session, scheme, member_nos: Iterable[str], years: Iterable[int]) -> History:
    """The APPROVED/REDUCED claims (current decision) of these persons in these calendar years: one query."""
    wanted = set(member_nos)
    wanted_years = set(years)
    history = History()
    if not wanted or not wanted_years:
        return history
    query = select(
        Claim.member_no,
        Claim.benefit_code,
        Claim.provider_code,
        Claim.date_of_service,
        Claim.amount_claimed,
        Claim.status,
        Claim.amount_approved,
    ).where(
        Claim.scheme_id == scheme.id,
        Claim.status.in_(sorted(PAYING_STATUSES)),
        Claim.date_of_service >= date(min(wanted_years), 1, 1),
        Claim.date_of_service <= date(max(wanted_years), 12, 31),
    )
    narrow = len(wanted) <= IN_LIMIT
    if narrow:
        # Through the persons (paying claims always have one), so the claim index on person_id serves it.
        query = query.where(
            Claim.person_id.in_(select(Person.id).where(Person.scheme_id == scheme.id, Person.member_no.in_(wanted)))
        )
    for row in session.execute(query):
        if row.date_of_service.year in wanted_years and (narrow or row.member_no in wanted):
            # A stored row has every field History keys on, and the status and amount of its decision.
            history.add(row, row)
    # A death is paid once whatever the year (rules.decide): the persons' death allowances of other years too.
    deaths = select(Claim.member_no, Claim.date_of_service).where(
        Claim.scheme_id == scheme.id,
        Claim.status.in_(sorted(PAYING_STATUSES)),
        Claim.benefit_code.in_(sorted(DEATH_BENEFIT_CODES)),
    )
    if narrow:
        deaths = deaths.where(
            Claim.person_id.in_(select(Person.id).where(Person.scheme_id == scheme.id, Person.member_no.in_(wanted)))
        )
    for member_no, day in session.execute(deaths):
        if day.year not in wanted_years and (narrow or member_no in wanted):
            history.add_death(member_no, day)
    return history


def lock_persons(session, scheme, member_nos: Iterable[str]) -> None:
    """On PostgreSQL, lock the persons of a batch (ordered by id, so two batches never deadlock) before the
    history is read: two transactions deciding claims against one annual ceiling then run one after the other
    and the second sees the first's claims. SQLite has a single writer, which serialises them already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    wanted = set(member_nos)
    query = select(Person.id).where(Person.scheme_id == scheme.id).order_by(Person.id).with_for_update()
    if len(wanted) <= IN_LIMIT:
        query = query.where(Person.member_no.in_(wanted or {""}))
    session.execute(query).all()


def claims_decided_otherwise(session, person: Person, facts: dict) -> list[str]:
    """The references of ``person``'s claims already decided to pay (APPROVED or REDUCED) that the same rules
    would decide otherwise if the person's ``facts`` (``sex``, ``date_of_birth``, ``relationship``) were those
    given: the guard of a register correction (members.services.correct_person), which refuses a correction
    that would change money already decided (issue 12).

    Both sides are decided by ``decide_batch`` on the person's paying claims in claim order, from the same empty
    history and the same coverage, once with the stored facts and once with the corrected ones: only the
    correction differs between them, so a difference is the correction's doing.
    """
    claims = list(
        session.scalars(select(Claim).where(Claim.person_id == person.id, Claim.status.in_(sorted(PAYING_STATUSES))))
    )
    if not claims:
        return []
    scheme = session.get(Scheme, person.scheme_id)
    ctx = load_context(session, scheme, [person.member_no], {c.provider_code for c in claims})
    stored = ctx.patient(person.member_no)
    if stored is None:
        return []
    corrected = replace(
        stored,
        sex=facts.get("sex", stored.sex),
        date_of_birth=facts.get("date_of_birth", stored.date_of_birth),
        relationship=facts.get("relationship", stored.relationship),
    )
    corrected_ctx = replace(ctx, patients={**ctx.patients, person.member_no: corrected})
    inputs = [
        ClaimInput(
            claim_ref=c.claim_ref, member_no=c.member_no, provider_code=c.provider_code or None,
            benefit_code=c.benefit_code, date_of_service=c.date_of_service, date_submitted=c.date_submitted,
            amount_claimed=c.amount_claimed, recorded_on=c.recorded_on, guarantee_ref=c.guarantee_ref or None,
        )
        for c in claims
    ]  # fmt: skip
    before = decide_batch(inputs, ctx, History(), scheme.currency)
    after = decide_batch(inputs, corrected_ctx, History(), scheme.currency)
    return sorted(
        claim.claim_ref
        for claim, old, new in zip(claims, before, after, strict=True)
        if (old.status, old.amount_approved) != (new.status, new.amount_approved)
    )


# --------------------------------------------------------------------------------------------------------------
# Deciding and storing


def _param_text(value: Any) -> str:
    """A check parameter as stored: ISO dates, decimals and numbers as plain text."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def checks_json(decision: Decision) -> list[dict[str, Any]]:
    """A decision's checks as stored in ``ClaimDecision.checks`` (params as strings, never floats)."""
    return json.loads(checks_json_text(decision))


#: JSON text of the part of a check before its params, by (code, passed, message): the same dozen shapes
#: repeat in every claim, so a million-claim import serialises each once.
_CHECK_HEADS: dict[tuple, str] = {}
#: Values needing no JSON escaping (dates, amounts, counts, codes and references as validated).
_PLAIN_JSON = re.compile(r"[A-Za-z0-9 ./_:-]*")


def _json_text(text: str) -> str:
    """A JSON string literal."""
    return f'"{text}"' if _PLAIN_JSON.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def checks_json_text(decision: Decision) -> str:
    """``checks_json`` as JSON text, built from cached pieces (the bulk insert's hot path)."""
    parts = []
    for check in decision.checks:
        key = (check.code, check.passed, check.message)
        head = _CHECK_HEADS.get(key)
        if head is None:
            head = json.dumps(
                {"code": check.code, "passed": check.passed, "message": check.message},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            head = _CHECK_HEADS[key] = head[:-1] + ',"params":{'
        params = ",".join(f'"{name}":{_json_text(_param_text(value))}' for name, value in check.params.items())
        parts.append(head + params + "}}")
    return "[" + ",".join(parts) + "]"


@dataclass
class StoredClaims:
    """What ``decide_and_store`` did: claim ids and decisions in the order of the entries given."""

    claim_ids: list[int]
    decisions: list[Decision]
    paid_on_ignored: int = 0


def decide_and_store(
    session,
    scheme,
    entries: Iterable[ClaimEntry],
    *,
    source: str,
    actor,
    recorded_on: date,
    context: DbContext | None = None,
    history: History | None = None,
) -> StoredClaims:
    """Decide claims by adjudication.md and store each with its automatic decision; the one path for the form,
    the API and the import.

    The batch is decided in (date_of_service, date_submitted, claim_ref) order, each claim seeing the paying
    claims already stored and those decided before it in the batch. ``paid_on`` is kept only for a claim that
    pays (a paid_on on a REJECTED claim is ignored and counted). A caller deciding many chunks (the benchmark)
    passes its own ``context`` and ``history`` so they are loaded once.
    """
    entries = list(entries)
    if not entries:
        return StoredClaims([], [], 0)
    member_nos = {e.member_no for e in entries}
    if context is None:
        context = load_context(
            session,
            scheme,
            member_nos=member_nos,
            provider_codes={e.provider_code for e in entries if e.provider_code} if len(entries) <= IN_LIMIT else None,
        )
    if history is None:
        from mhi.claims.letters import add_open_letters

        years = {e.date_of_service.year for e in entries}
        lock_persons(session, scheme, member_nos)
        history = history_for(session, scheme, member_nos, years)
        # Open guarantee letters reserve against the annual ceiling; a claim may cite one (adjudication.md).
        add_open_letters(session, scheme, history, member_nos, years, recorded_on)
    inputs = [
        ClaimInput(
            claim_ref=e.claim_ref,
            member_no=e.member_no,
            provider_code=e.provider_code or None,
            benefit_code=e.benefit_code,
            date_of_service=e.date_of_service,
            date_submitted=e.date_submitted,
            amount_claimed=e.amount_claimed,
            recorded_on=recorded_on,
            guarantee_ref=e.guarantee_ref or None,
        )
        for e in entries
    ]
    decisions = decide_batch(inputs, context, history, scheme.currency)

    actor_id = getattr(actor, "id", None)
    ignored = 0
    claim_rows = []
    for entry, decision in zip(entries, decisions, strict=True):
        pays = decision.status in PAYING_STATUSES
        if entry.paid_on is not None and not pays:
            ignored += 1  # adjudication.md: a paid_on given for a REJECTED claim is ignored, and said so
        claim_rows.append(
            {
                "scheme_id": scheme.id,
                "claim_ref": entry.claim_ref,
                "member_no": entry.member_no,
                "person_id": context.person_ids.get(entry.member_no),
                "provider_code": entry.provider_code or "",
                "provider_id": context.provider_ids.get(entry.provider_code or ""),
                "benefit_code": entry.benefit_code,
                "date_of_service": entry.date_of_service,
                "discharge_date": entry.discharge_date,
                "date_submitted": entry.date_submitted,
                "recorded_on": recorded_on,
                "amount_claimed": entry.amount_claimed,
                "diagnosis_code": entry.diagnosis_code or "",
                "guarantee_ref": entry.guarantee_ref or "",
                "source": source,
                "status": decision.status,
                "amount_approved": decision.amount_approved,
                "reasons": ";".join(decision.reasons),
                "overridden": False,
                "paid_on": entry.paid_on if pays else None,
                "created_by_id": actor_id,
            }
        )
    # A plain executemany (RETURNING would make SQLite insert row by row), then the new ids by claim_ref: every
    # id above the largest one before the insert that carries one of this batch's refs is one of ours.
    last_id = session.scalar(select(func.max(Claim.id))) or 0
    # Core inserts (not the ORM's bulk insert, which splits a batch into a statement per run of rows with the
    # same None columns): one executemany per table.
    session.execute(insert(Claim.__table__), claim_rows)
    new_ids = dict(
        session.execute(select(Claim.claim_ref, Claim.id).where(Claim.scheme_id == scheme.id, Claim.id > last_id)).all()
    )
    claim_ids = [new_ids[e.claim_ref] for e in entries]
    # The checks go in as JSON text built by checks_json_text, bypassing the JSON type's serialiser; PostgreSQL
    # wants the text cast to json, SQLite stores it as it is (a CAST there would turn it into a number).
    checks_value = bindparam("checks_text", type_=Text)
    if session.get_bind().dialect.name == "postgresql":
        checks_value = cast(checks_value, JSON)
    session.execute(
        insert(ClaimDecision.__table__).values(checks=checks_value),
        [
            {
                "claim_id": claim_id,
                "seq": 1,
                "kind": "automatic",
                "status": decision.status,
                "amount_approved": decision.amount_approved,
                "reasons": ";".join(decision.reasons),
                "checks_text": checks_json_text(decision),
                "note": "",
                "actor_id": actor_id,
            }
            for claim_id, decision in zip(claim_ids, decisions, strict=True)
        ],
    )
    line_rows = [
        {"claim_id": claim_id, "position": position, "label": label, "amount": amount}
        for claim_id, entry in zip(claim_ids, entries, strict=True)
        for position, (label, amount) in enumerate(entry.lines)
    ]
    if line_rows:
        session.execute(insert(ClaimLine.__table__), line_rows)
    used = {d.letter_used: claim_id for claim_id, d in zip(claim_ids, decisions, strict=True) if d.letter_used}
    if used:
        from mhi.claims.letters import close_used_letters

        close_used_letters(session, scheme, used)
    record(
        session,
        actor=actor,
        entity="claim",
        entity_id=claim_ids[0] if len(claim_ids) == 1 else None,
        scheme_id=scheme.id,
        action="decide",
        after={
            "source": source,
            "claims": len(claim_ids),
            "claim_ref": entries[0].claim_ref if len(entries) == 1 else None,
            "approved": sum(1 for d in decisions if d.status == APPROVED),
            "reduced": sum(1 for d in decisions if d.status == REDUCED),
            "rejected": sum(1 for d in decisions if d.status == REJECTED),
        },
    )
    session.flush()
    return StoredClaims(claim_ids, decisions, ignored)


def next_claim_ref(session, scheme, day: date) -> str:
    """A reference for a claim typed without one: ``CLM-<year>-<n>`` from the scheme's claim counter
    (core/numbering.py: distinct under concurrency; references already used are skipped)."""
    return allocate_number(
        session,
        scheme_id=scheme.id,
        kind="claim",
        scope=str(day.year),
        render=lambda n: f"CLM-{day.year}-{n:06d}",
        unique=(Claim.claim_ref, Claim.scheme_id == scheme.id),
    )


def submit_claim(session, scheme, entry: ClaimEntry, *, source: str, actor, recorded_on: date) -> Claim:
    """One claim from the form or the API, decided at once; a claim_ref already used is refused.

    A claim sent without a claim_ref (``""``) is numbered by ``next_claim_ref`` for the year of ``recorded_on``.
    Should another client's own claim take that very reference meanwhile, the claim gets the next one: a client
    is never told that a reference it did not send is taken.
    """
    generated_ref = not entry.claim_ref
    if generated_ref:
        entry = replace(entry, claim_ref=next_claim_ref(session, scheme, recorded_on))
    for _attempt in range(5):
        if session.scalar(select(Claim.id).where(Claim.scheme_id == scheme.id, Claim.claim_ref == entry.claim_ref)):
            if not generated_ref:
                raise ClaimError(
                    N_("Claim %(claim_ref)s already exists: a decided claim is never entered twice."),
                    claim_ref=entry.claim_ref,
                )
        else:
            try:
                with session.begin_nested():
                    stored = decide_and_store(
                        session, scheme, [entry], source=source, actor=actor, recorded_on=recorded_on
                    )
            except IntegrityError as exc:
                # Another request stored the same claim_ref between the check and the insert.
                if not generated_ref:
                    raise ClaimError(
                        N_("Claim %(claim_ref)s already exists: a decided claim is never entered twice."),
                        claim_ref=entry.claim_ref,
                    ) from exc
            else:
                claim = session.get(Claim, stored.claim_ids[0])
                record_death(session, scheme, claim, actor=actor)
                return claim
        entry = replace(entry, claim_ref=next_claim_ref(session, scheme, recorded_on))
    raise ClaimError(N_("No claim reference could be given to this claim; send it again."))


def record_death(session, scheme, claim: Claim, *, actor) -> bool:
    """Death allowance (issue 13): a paying claim of a death benefit records the person's exit on the day of
    death (its date_of_service), reason death, in the same transaction as the decision, through the register's
    own ``record_exit`` (audited; coverage refreshed). Nothing when the person already has an exit date, or
    when the day is before their enrolment (the register refuses such an exit; an override may pay it anyway).

    Claims typed or sent one by one (the form, the API, an override) do this; an imported claims.csv does not:
    members.csv carries the exits (data-formats.md), and the replays of docs/spec/examples depend on it.
    Returns whether an exit was recorded.
    """
    if claim.status not in PAYING_STATUSES or claim.person_id is None:
        return False
    if claim.benefit_code not in DEATH_BENEFIT_CODES:
        return False
    if not is_death_benefit(claim.benefit_code, scheme_benefit_kinds(session, scheme).get(claim.benefit_code)):
        return False
    person = session.get(Person, claim.person_id)
    if person.exit_date is not None or claim.date_of_service < person.enrolment_date:
        return False
    from mhi.members.services import record_exit

    record_exit(session, person, date=claim.date_of_service, reason="death", actor=actor)
    return True


# --------------------------------------------------------------------------------------------------------------
# Overrides


def override_decision(session, claim: Claim, *, status: str, amount_approved, reason: str, actor) -> ClaimDecision:
    """A claims officer's decision superseding the current one (adjudication.md "In the application").

    A written reason is required; a REJECTED claim pays 0, an APPROVED or REDUCED one more than 0. The earlier
    decisions stay in the claim's history; the claim carries the new one. A paid claim cannot be overridden.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError(N_("An override needs a written reason."))
    if status not in (APPROVED, REDUCED, REJECTED):
        raise ClaimError(N_("%(status)s is not a decision (APPROVED, REDUCED or REJECTED)."), status=status)
    amount = Decimal(amount_approved) if amount_approved not in (None, "") else ZERO
    if not amount.is_finite() or abs(amount) >= AMOUNT_LIMIT:
        # "NaN", "Infinity" and 1e309 read as Decimals; comparing or rounding them would raise (tests/trust).
        raise ClaimError(N_("%(amount_approved)s is not an amount."), amount_approved=amount_approved)
    if status == REJECTED:
        if amount != 0:
            raise ClaimError(N_("A rejected claim pays nothing: the amount approved must be 0."))
    elif amount <= 0:
        raise ClaimError(N_("An approved or reduced claim must pay more than 0."))
    currency = _currency_of(session, claim)
    if amount != amount.quantize(quantum(currency)):
        raise ClaimError(N_("%(amount)s has more decimals than %(currency)s allows."), amount=amount, currency=currency)
    if claim.paid_on is not None or (claim.batch is not None and claim.batch.status == "paid"):
        raise ClaimError(N_("This claim has been paid: its decision can no longer change."))
    if claim.person_id is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(select(Person.id).where(Person.id == claim.person_id).with_for_update()).all()
    scheme = session.get(Scheme, claim.scheme_id)
    if status != REJECTED:
        limit = override_limit(session, scheme, claim)
        if amount > limit:
            raise ClaimError(
                N_(
                    "An override may pay at most %(money_str)s here (the amount claimed, the benefit's ceilings and what is left of its annual ceiling)."
                ),
                money_str=money_str(limit, currency),
            )
    threshold = four_eyes_threshold(scheme)
    needs_approval = status != REJECTED and threshold is not None and amount > threshold

    before = {"status": claim.status, "amount_approved": claim.amount_approved, "reasons": claim.reasons}
    seq = (session.scalar(select(func.max(ClaimDecision.seq)).where(ClaimDecision.claim_id == claim.id)) or 0) + 1
    # The override's reasons keep the export's shape: empty for APPROVED, one code otherwise (the officer's
    # written reason is in the decision's note).
    reasons = "" if status == APPROVED else "OVERRIDE"
    decision = ClaimDecision(
        claim_id=claim.id,
        seq=seq,
        kind="override",
        status=status,
        amount_approved=amount,
        reasons=reasons,
        checks=[],
        note=reason,
        actor_id=getattr(actor, "id", None),
        approval_required=needs_approval,
    )
    session.add(decision)
    claim.status = status
    claim.amount_approved = amount
    claim.reasons = reasons
    claim.overridden = True
    claim.awaiting_approval = needs_approval
    if (status == REJECTED or needs_approval) and claim.batch is not None:
        claim.batch = None  # an open batch only pays claims that pay, and approved overrides
    session.flush()
    record_death(session, scheme, claim, actor=actor)
    record(
        session,
        actor=actor,
        entity="claim",
        entity_id=claim.id,
        scheme_id=claim.scheme_id,
        action="override",
        before=before,
        after={
            "status": status,
            "amount_approved": amount,
            "reasons": reasons,
            "note": reason,
            "awaiting_approval": needs_approval,
        },
    )
    return decision


def four_eyes_threshold(scheme) -> Decimal | None:
    """The scheme's amount above which an override needs a second officer's approval (settings), or None."""
    value = (scheme.settings or {}).get("override_approval_above")
    return None if value in (None, "") else Decimal(str(value))


def override_limit(session, scheme, claim: Claim) -> Decimal:
    """The most an override may pay: the amount claimed, and for a service benefit what its ceilings allow (per
    case; per year, after the person's other paying claims and open letters of the benefit in the year); for a
    cash benefit its amount, within the annual ceiling. An unknown person or benefit: the amount claimed."""
    from mhi.claims.letters import add_open_letters

    context = load_context(session, scheme, [claim.member_no], [])
    patient = context.patient(claim.member_no)
    product = patient.product_at(claim.date_of_service) if patient is not None else None
    benefit = product.benefits.get(claim.benefit_code) if product is not None else None
    if benefit is None:
        return claim.amount_claimed
    limit = (benefit.amount or ZERO) if benefit.kind == CASH else claim.amount_claimed
    if benefit.kind != CASH and benefit.ceiling_per_case is not None:
        limit = min(limit, benefit.ceiling_per_case)
    if benefit.ceiling_per_year is not None:
        year = claim.date_of_service.year
        history = history_for(session, scheme, [claim.member_no], {year})
        add_open_letters(session, scheme, history, [claim.member_no], {year}, clock.today())
        others = history.approved_total(claim.member_no, claim.benefit_code, year)
        if claim.status in PAYING_STATUSES:
            others -= claim.amount_approved  # the claim's own current decision is what the override replaces
        reserved = history.reserved_total(claim.member_no, claim.benefit_code, year)
        limit = min(limit, max(benefit.ceiling_per_year - others - reserved, ZERO))
    return limit


def approve_override(session, claim: Claim, *, note: str, actor) -> ClaimDecision:
    """A second officer approves an override above the scheme's four-eyes amount: the claim may then be paid.
    Both people and both reasons are kept (the override's note, and this approval's)."""
    note = (note or "").strip()
    if not note:
        raise ClaimError(N_("An approval needs a written reason."))
    decision = session.scalar(
        select(ClaimDecision).where(ClaimDecision.claim_id == claim.id).order_by(ClaimDecision.seq.desc()).limit(1)
    )
    if not claim.awaiting_approval or decision is None or not decision.approval_required:
        raise ClaimError(N_("This claim's decision awaits no approval."))
    if decision.approved_by_id is not None:
        raise ClaimError(N_("This override is already approved."))
    if getattr(actor, "id", None) is None or actor.id == decision.actor_id:
        raise ClaimError(N_("The officer who made the override cannot approve it: a second officer must."))
    decision.approved_by_id = actor.id
    decision.approval_note = note
    decision.approved_at = clock.stored_now()
    claim.awaiting_approval = False
    session.flush()
    record(
        session,
        actor=actor,
        entity="claim",
        entity_id=claim.id,
        scheme_id=claim.scheme_id,
        action="approve_override",
        before={"awaiting_approval": True},
        after={"awaiting_approval": False, "decision": decision.seq, "note": note},
    )
    return decision


def _currency_of(session, claim: Claim) -> str:
    """The currency of the claim's scheme."""
    from mhi.schemes.models import Scheme

    return session.scalar(select(Scheme.currency).where(Scheme.id == claim.scheme_id))


# --------------------------------------------------------------------------------------------------------------
# Payment batches


def _batch_claims(session, provider: Provider, claim_ids: Iterable[int] | None) -> list[Claim]:
    """The approved unpaid claims of ``provider`` outside a batch (all, or those of ``claim_ids``), else
    ClaimError."""
    query = select(Claim).where(*_approved_unpaid(provider)).order_by(Claim.claim_ref)
    claims = list(session.scalars(query.execution_options(populate_existing=True)))
    if claim_ids is not None:
        wanted = set(claim_ids)
        claims = [c for c in claims if c.id in wanted]
        if len(claims) != len(wanted):
            raise ClaimError(N_("Some claims chosen are not approved unpaid claims of this provider outside a batch."))
    if not claims:
        raise ClaimError(N_("%(code)s has no approved unpaid claims to pay."), code=provider.code)
    return claims


def _approved_unpaid(provider: Provider):
    """The WHERE clause of a provider's claims that pay, are not paid and are in no batch."""
    return (
        Claim.provider_id == provider.id,
        Claim.status.in_(sorted(PAYING_STATUSES)),
        Claim.paid_on.is_(None),
        Claim.batch_id.is_(None),
        Claim.awaiting_approval.is_(False),  # four eyes: an override above the scheme's amount waits
    )


def create_batch(session, provider: Provider, claim_ids: Iterable[int] | None = None, *, actor) -> PaymentBatch:
    """Gather approved unpaid claims of one provider (all of them, or ``claim_ids``) into a payment batch.

    The claims are read again once the batch number is allocated: the counter's lock makes a second batch of the
    same provider wait until this one is committed, so it then finds only the claims left (a claim is never put
    in two batches).
    """
    claims = _batch_claims(session, provider, claim_ids)
    number = allocate_number(
        session,
        scheme_id=provider.scheme_id,
        kind="batch",
        scope=provider.code,
        render=lambda n: f"{provider.code}-{n:04d}",
        unique=(PaymentBatch.number, PaymentBatch.scheme_id == provider.scheme_id),
    )
    claims = _batch_claims(session, provider, claim_ids)
    batch = PaymentBatch(
        scheme_id=provider.scheme_id,
        provider_id=provider.id,
        number=number,
        status="open",
        created_by_id=getattr(actor, "id", None),
    )
    session.add(batch)
    session.flush()
    for claim in claims:
        claim.batch_id = batch.id
    session.flush()
    record(
        session,
        actor=actor,
        entity="payment_batch",
        entity_id=batch.id,
        scheme_id=batch.scheme_id,
        action="create",
        after={"number": batch.number, "claims": len(claims), "total": sum((c.amount_approved for c in claims), ZERO)},
    )
    return batch


def mark_batch_paid(session, batch: PaymentBatch, paid_on: date, *, actor) -> None:
    """Record that a batch was paid on ``paid_on``: every claim in it gets that paid_on. A paid batch is final."""
    if batch.status == "paid":
        raise ClaimError(
            N_("Batch %(number)s was already paid on %(paid_on)s; it cannot change."),
            number=batch.number,
            paid_on=batch.paid_on.isoformat(),
        )
    if paid_on is None:
        raise ClaimError(N_("Give the day the batch was paid."))
    claims = list(session.scalars(select(Claim).where(Claim.batch_id == batch.id)))
    if not claims:
        raise ClaimError(N_("Batch %(number)s holds no claims."), number=batch.number)
    batch.status = "paid"
    batch.paid_on = paid_on
    for claim in claims:
        claim.paid_on = paid_on
    session.flush()
    record(
        session,
        actor=actor,
        entity="payment_batch",
        entity_id=batch.id,
        scheme_id=batch.scheme_id,
        action="paid",
        before={"status": "open"},
        after={"status": "paid", "paid_on": paid_on, "claims": len(claims)},
    )


def remove_from_batch(session, batch: PaymentBatch, claim: Claim, *, actor) -> None:
    """Take a claim out of an open batch (it goes back to the approved unpaid claims)."""
    if batch.status == "paid":
        raise ClaimError(N_("Batch %(number)s is paid; it cannot change."), number=batch.number)
    if claim.batch_id != batch.id:
        raise ClaimError(
            N_("Claim %(claim_ref)s is not in batch %(number)s."), claim_ref=claim.claim_ref, number=batch.number
        )
    claim.batch_id = None
    session.flush()
    record(
        session,
        actor=actor,
        entity="payment_batch",
        entity_id=batch.id,
        scheme_id=batch.scheme_id,
        action="remove_claim",
        after={"claim_ref": claim.claim_ref},
    )


# --------------------------------------------------------------------------------------------------------------
# Eligibility at the health centre

#: Why a person is or is not covered; English templates that are also gettext msgids (as rules.MESSAGES).
ELIGIBILITY_MESSAGES: dict[str, str] = {
    "unknown": "No person with member number %(member_no)s in this scheme.",
    "not_yet_enrolled": "Not enrolled yet: enrolled from %(enrolment)s.",
    "exited": "Left the scheme on %(exit)s.",
    "household_exited": "The household left the scheme on %(exit)s.",
    "struck_off": "The household was struck off on %(day)s for unpaid contributions.",
    "unpaid_since": "Contributions unpaid: not covered since %(day)s.",
    "never_paid": "No contribution period paid yet.",
    "covered": "Covered on %(day)s.",
    "covered_until": "Covered on %(day)s; paid up, with the grace period, until %(until)s.",
    "covered_waiting": "Covered on %(day)s, waiting until %(until)s: no benefit may be used before then.",
    "covered_no_benefit": "Covered on %(day)s, but no benefit of the product is for this person on that day.",
}


@dataclass
class BenefitStanding:
    """One benefit of the product in force for a person: waiting period, and what the year still allows."""

    code: str
    name: str
    kind: str
    first_day: date  # the first day after the waiting period
    waiting_over: bool
    ceiling_per_year: Decimal | None
    used: Decimal
    remaining: Decimal | None
    cases: int
    max_cases: int | None
    # Whether this person may use the benefit on the day asked (covered, the sex and age limits, the waiting period),
    # and the days of service the limits and the waiting period allow (None, None: never, e.g. the other sex).
    usable: bool = False
    usable_from: date | None = None
    usable_until: date | None = None
    refusal: str | None = None  # "not_covered", "not_for_patient", "age" or "waiting" when not usable


@dataclass
class MemberStanding:
    """A member of the household and whether they are covered on the day asked."""

    member_no: str
    name: str
    relationship: str
    covered: bool


@dataclass
class Eligibility:
    """The answer at the health centre's desk: covered or not and why, the household, and each benefit."""

    member_no: str
    on: date
    found: bool
    covered: bool = False
    reasons: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    name: str = ""
    household_ref: str = ""
    product_code: str = ""
    members: list[MemberStanding] = field(default_factory=list)
    benefits: list[BenefitStanding] = field(default_factory=list)
    waiting_until: date | None = None  # covered, but every benefit still waits until this day


def _span_covered(spans: list[tuple[date, date | None]], day: date) -> bool:
    """Whether a span [start, end) holds ``day``."""
    return any(start <= day and (end is None or day < end) for start, end in spans)


def eligibility(session, scheme, member_no: str, on: date) -> Eligibility:
    """Is this member covered on ``on``, and why not; who in the household is; what each benefit still allows.

    Loads one person's household, its coverage spans, its product version and the year's paying claims of
    that person: a handful of small queries, so the desk gets its answer at once.
    """
    member_no = (member_no or "").strip()
    found = session.execute(
        select(Person, Household, Product.code)
        .join(Household, Person.household_id == Household.id)
        .join(Product, Household.product_id == Product.id)
        .where(Person.scheme_id == scheme.id, Person.member_no == member_no)
    ).first()
    if found is None:
        return Eligibility(member_no, on, False, reasons=[(ELIGIBILITY_MESSAGES["unknown"], {"member_no": member_no})])
    person, household, product_code = found
    # The product on the day (members/products.py): a household moved to another product reads the new one.
    dated = household_product_changes(session, scheme, [household.id]).get(household.id, [])
    product_id = product_on(household.product_id, dated, on)
    if product_id != household.product_id:
        product_code = session.scalar(select(Product.code).where(Product.id == product_id))
    members = list(
        session.scalars(select(Person).where(Person.household_id == household.id).order_by(Person.member_no))
    )
    # The desk reads the stored spans, the ledger's cache kept current by every write (contributions/services.py).
    spans = [
        (start, end)
        for start, end in session.execute(
            select(CoverageSpan.start, CoverageSpan.end)
            .where(CoverageSpan.household_id == household.id)
            .order_by(CoverageSpan.start)
        )
    ]
    household_covered = _span_covered(spans, on)

    def person_covered(p: Person) -> bool:
        """contributions.md §4: the household covered, the person enrolled and not exited."""
        return household_covered and p.enrolment_date <= on and (p.exit_date is None or p.exit_date > on)

    result = Eligibility(
        member_no,
        on,
        True,
        covered=person_covered(person),
        name=person.full_name,
        household_ref=household.ref,
        product_code=product_code,
        members=[MemberStanding(p.member_no, p.full_name, p.relation, person_covered(p)) for p in members],
    )
    result.reasons = _why(person, household, spans, on, household_covered, result.covered)

    # The product's versions with their benefits in one query; the version in force on the day is chosen as
    # for a claim (schemes.services.version_in_force).
    by_version: dict[int, tuple[ProductVersion, list[Benefit]]] = {}
    for version, benefit in session.execute(
        select(ProductVersion, Benefit)
        .join(Benefit, Benefit.version_id == ProductVersion.id)
        .where(ProductVersion.product_id == product_id, ProductVersion.status == "active")
        .order_by(ProductVersion.effective_from, Benefit.position)
    ):
        by_version.setdefault(version.id, (version, []))[1].append(benefit)
    versions = list(by_version.values())
    if not versions:
        return result
    version, benefit_rows = version_on(versions, on, key=lambda item: item[0].effective_from)
    rule = ProductRule(
        waiting_period_days=version.waiting_period_days,
        submission_limit_days=version.submission_limit_days,
        benefits={b.code: _benefit_rule(b) for b in benefit_rows},
        newborn_days=version.newborn_days,
    )
    names = {b.code: b.name for b in benefit_rows}
    # Paying claims always have a person (UNKNOWN_MEMBER is rejected): person_id uses the claim index.
    used = {
        code: (count, total or ZERO)
        for code, count, total in session.execute(
            select(Claim.benefit_code, func.count(), func.sum(Claim.amount_approved))
            .where(
                Claim.person_id == person.id,
                Claim.status.in_(sorted(PAYING_STATUSES)),
                Claim.date_of_service >= date(on.year, 1, 1),
                Claim.date_of_service <= date(on.year, 12, 31),
            )
            .group_by(Claim.benefit_code)
        )
    }
    patient = PatientRule(
        member_no=person.member_no,
        enrolment_date=person.enrolment_date,
        exit_date=person.exit_date,
        household_key=household.id,
        product_at=_household_lookup(session, scheme, household.product_id, dated) if dated else lambda day: rule,
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        relationship=person.relation,
        household_enrolment=household.enrolment_date,
        product_changes=tuple(day for day, _ in dated),
    )
    for benefit in rule.benefits.values():
        first_day = first_covered_day(patient, rule, benefit, on)
        cases, total = used.get(benefit.code, (0, ZERO))
        remaining = None if benefit.ceiling_per_year is None else max(benefit.ceiling_per_year - total, ZERO)
        usable_from, usable_until = benefit_window(patient, rule, benefit, on)
        refusal = _refusal(result.covered, on, first_day, usable_from, usable_until)
        result.benefits.append(
            BenefitStanding(
                code=benefit.code,
                name=names.get(benefit.code, benefit.code),
                kind=benefit.kind,
                first_day=first_day,
                waiting_over=on >= first_day,
                ceiling_per_year=benefit.ceiling_per_year,
                used=total,
                remaining=remaining,
                cases=cases,
                max_cases=benefit.max_cases_per_year,
                usable=refusal is None,
                usable_from=usable_from,
                usable_until=usable_until,
                refusal=refusal,
            )
        )
    if result.covered and result.benefits and not any(b.usable for b in result.benefits):
        # No "covered" headline for someone every benefit still refuses (issue 13): say until when they wait.
        later = [b.usable_from for b in result.benefits if b.usable_from is not None and b.usable_from > on]
        plain = (ELIGIBILITY_MESSAGES["covered"], ELIGIBILITY_MESSAGES["covered_until"])
        result.reasons = [r for r in result.reasons if r[0] not in plain]
        if later:
            result.waiting_until = min(later)
            result.reasons.insert(0, (ELIGIBILITY_MESSAGES["covered_waiting"], {"day": on, "until": min(later)}))
        else:
            result.reasons.insert(0, (ELIGIBILITY_MESSAGES["covered_no_benefit"], {"day": on}))
    return result


def _refusal(covered: bool, on: date, first_day: date, usable_from: date | None, usable_until: date | None):
    """Why a person may not use a benefit on ``on`` (None when they may): not covered, the benefit never for this
    person (``not_for_patient``: the other sex, or an age they are already past), another age, or the waiting."""
    if not covered:
        return "not_covered"
    if usable_from is None:
        return "not_for_patient"
    if usable_until is not None and on > usable_until:
        return "age"
    if on < first_day:
        return "waiting"
    if on < usable_from:
        return "age"
    return None


def _why(person, household, spans, on: date, household_covered: bool, covered: bool) -> list[tuple[str, dict]]:
    """The reasons a person is or is not covered on ``on``, most decisive first: the person's own dates, then
    the household's reason from ``contributions.rules.not_covered_reason`` (the one "why not covered")."""
    m = ELIGIBILITY_MESSAGES
    reasons: list[tuple[str, dict]] = []
    if person.enrolment_date > on:
        reasons.append((m["not_yet_enrolled"], {"enrolment": person.enrolment_date}))
    if person.exit_date is not None and person.exit_date <= on:
        reasons.append((m["exited"], {"exit": person.exit_date}))
    if covered:
        current = next((end for start, end in spans if start <= on and (end is None or on < end)), None)
        if current is None:
            reasons.append((m["covered"], {"day": on}))
        else:
            reasons.append((m["covered_until"], {"day": on, "until": current - timedelta(days=1)}))
        return reasons
    if household_covered:
        return reasons
    # A span ends at paid_until + grace: the first day without cover (contributions.md §4).
    ended = [end for _, end in spans if end is not None and end <= on]
    reason, day = not_covered_reason(
        on, household.enrolment_date, household.exit_date, household.strike_off_date, max(ended, default=None)
    )
    if reason == "exited":
        reasons.append((m["household_exited"], {"exit": day}))
    elif reason == "struck_off":
        reasons.append((m["struck_off"], {"day": day}))
    elif reason == "unpaid" and day is not None:
        reasons.append((m["unpaid_since"], {"day": day}))
    elif person.enrolment_date <= on:
        reasons.append((m["never_paid"], {}))
    return reasons
