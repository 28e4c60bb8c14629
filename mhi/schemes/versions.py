"""Product versions made on screen: a product's contribution or benefits change only through a new version with an
effective date, which starts as a draft and becomes active when the scheme manager activates it.

Rules never change retroactively: a draft takes effect today or later, after every version the product already
has. Activating needs a feasibility study attached to the version, run within the last 12 months on the
version's own rules (same benefits, coverage rates and ceilings; a contribution at least what the study found
necessary) — the STEP guide's advice that a scheme re-studies before it changes its package — and a resolution
adopted by the scheme's general assembly or board at a meeting with quorum (C102 art. 72, mhi/governance). Versions loaded
from scheme.json (``source == "file"``) were set up outside the application and are shown as such.

Messages go through Flask-Babel (an application context is needed, as in every view and command). The
study is passed in by the caller (the feasibility layer loads it), so this module reads only its
``id``, ``scheme_id``, ``run_at``, ``input`` and ``result``. Services flush, never commit; each change is
audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import has_request_context
from sqlalchemy import select

from mhi.core.audit import record
from mhi.core.dates import add_months
from mhi.core.errors import N_, Message, Term, UserError, say
from mhi.core.money import round_money
from mhi.schemes.models import Benefit, Product, ProductVersion

#: The rule fields of a version a manager edits (the benefits are edited as rows beside them).
VERSION_FIELDS = (
    "effective_from",
    "basis",
    "amount",
    "period_months",
    "registration_fee",
    "waiting_period_days",
    "grace_period_days",
    "lapse_after_days",
    "submission_limit_days",
    "newborn_days",
)
BENEFIT_FIELDS = (
    "code",
    "name",
    "kind",
    "coverage_rate",
    "amount",
    "ceiling_per_case",
    "ceiling_per_year",
    "max_cases_per_year",
    "waiting_period_days",
    "sex",
    "min_age_years",
    "max_age_years",
)
#: A study older than this many months no longer supports an activation (task brief).
STUDY_VALID_MONTHS = 12


#: What runs after a write changed a scheme's contribution rules: registered by the features downstream that
#: keep derived rows (contributions registers the refresh of every household); schemes cannot import them.
_RULES_CHANGED: dict[str, Callable] = {}


def on_rules_changed(hook: Callable) -> None:
    """Register ``hook(session, scheme)`` to run after a scheme's rules changed (once per function)."""
    _RULES_CHANGED[f"{hook.__module__}.{hook.__qualname__}"] = hook


def rules_changed(session, scheme) -> None:
    """Tell the registered features that ``scheme``'s rules changed, inside the caller's transaction."""
    session.flush()
    for hook in _RULES_CHANGED.values():
        hook(session, scheme)


#: What says up to which day a scheme's figures are closed: registered by the features that close periods (pooling
#: registers its closed settlements); each returns ``(from, to)`` of the latest closed period, or None.
_CLOSED_PERIODS: dict[str, Callable] = {}


def on_closed_period(hook: Callable) -> None:
    """Register ``hook(session, scheme) -> (date_from, date_to) | None``: the scheme's latest closed period."""
    _CLOSED_PERIODS[f"{hook.__module__}.{hook.__qualname__}"] = hook


def check_rules_date(session, scheme, day: date) -> None:
    """Refuse a rule change taking effect on ``day`` when a closed period ends on or after it: the closed figures
    were settled on the rules then in force and never change (a closed pool settlement, pooling.md)."""
    for hook in _CLOSED_PERIODS.values():
        period = hook(session, scheme)
        if period is not None and day <= period[1]:
            raise VersionError(
                N_(
                    "the effective date %(day)s falls in the closed pool settlement of %(start)s to %(end)s; rules "
                    "cannot change on or before %(end)s — choose a later date"
                ),
                day=day.isoformat(),
                start=period[0].isoformat(),
                end=period[1].isoformat(),
            )


class VersionError(UserError):
    """A version change that is refused; the message says why in words a scheme manager understands."""


def versions_of(session, product: Product) -> list[ProductVersion]:
    """Every version of ``product``, oldest first."""
    query = select(ProductVersion).where(ProductVersion.product_id == product.id)
    return list(session.scalars(query.order_by(ProductVersion.effective_from)))


def previous_version(session, version: ProductVersion) -> ProductVersion | None:
    """The active version the new one replaces: the last active one taking effect before it."""
    query = (
        select(ProductVersion)
        .where(
            ProductVersion.product_id == version.product_id,
            ProductVersion.status == "active",
            ProductVersion.effective_from < version.effective_from,
            ProductVersion.id != version.id,
        )
        .order_by(ProductVersion.effective_from.desc())
        .limit(1)
    )
    return session.scalar(query)


def new_draft(session, product: Product, *, effective_from: date, today: date, actor) -> ProductVersion:
    """A draft version of ``product`` from ``effective_from``, starting from the latest version's rules."""
    versions = versions_of(session, product)
    _check_date(versions, effective_from, today, None)
    if not versions:
        raise VersionError(N_("this product has no version to start from"))
    latest = versions[-1]
    benefits = [
        Benefit(position=i, **{k: getattr(b, k) for k in BENEFIT_FIELDS}) for i, b in enumerate(latest.benefits)
    ]
    draft = ProductVersion(
        product_id=product.id,
        effective_from=effective_from,
        status="draft",
        source="app",
        **{k: getattr(latest, k) for k in VERSION_FIELDS if k != "effective_from"},
    )
    session.add(draft)
    draft.benefits.extend(benefits)
    session.flush()
    record(
        session,
        actor=actor,
        entity="product_version",
        entity_id=draft.id,
        scheme_id=product.scheme_id,
        action="new_draft",
        after={"product": product.code, "effective_from": effective_from, "copied_from": latest.id},
    )
    return draft


def update_draft(
    session, version: ProductVersion, *, values: dict[str, Any], benefits: list[dict[str, Any]], today: date, actor
) -> ProductVersion:
    """Change a draft's rules and benefits. Only drafts change: an active version is history."""
    if version.status != "draft":
        raise VersionError(N_("an active version cannot change; make a new version with its own effective date"))
    _check_rules(values, benefits)
    _check_date(versions_of(session, version.product), values["effective_from"], today, version)
    before = _snapshot(version)
    for key in VERSION_FIELDS:
        setattr(version, key, values[key])
    version.benefits.clear()
    session.flush()  # the old rows go before the new ones take their (version, code) keys
    for position, benefit in enumerate(benefits):
        version.benefits.append(Benefit(position=position, **{k: benefit.get(k) for k in BENEFIT_FIELDS}))
    session.flush()
    record(
        session,
        actor=actor,
        entity="product_version",
        entity_id=version.id,
        scheme_id=version.product.scheme_id,
        action="update_draft",
        before=_flat(before),
        after=_flat(_snapshot(version)),
    )
    return version


def attach_study(session, version: ProductVersion, study, *, actor) -> ProductVersion:
    """Attach the feasibility study the version is decided on; it must be a study of the product's scheme."""
    if version.status != "draft":
        raise VersionError(N_("an active version keeps the study it was activated on"))
    if study.scheme_id != version.product.scheme_id:
        raise VersionError(N_("attach a study of this scheme"))
    before = {"study_id": version.study_id}
    version.study_id = study.id
    session.flush()
    record(
        session,
        actor=actor,
        entity="product_version",
        entity_id=version.id,
        scheme_id=version.product.scheme_id,
        action="attach_study",
        before=before,
        after={"study_id": study.id},
    )
    return version


def activation_problems(version: ProductVersion, study, *, today: date) -> list[Message]:
    """Why ``version`` cannot be activated today with ``study`` (its attached study, or None); empty if it can."""
    if version.status != "draft":
        return [Message(N_("this version is already active"))]
    problems = []
    if version.effective_from < today:
        problems.append(
            Message(
                N_(
                    "the version takes effect on %(day)s, in the past; rules never change retroactively — set a date "
                    "from today on"
                ),
                day=version.effective_from.isoformat(),
            )
        )
    if study is None:
        problems.append(Message(N_("attach a feasibility study run on this version's rules before activating it")))
        return problems
    if study.run_at is None or study.result is None:
        problems.append(Message(N_("the attached study has not been run")))
        return problems
    oldest = add_months(today, -STUDY_VALID_MONTHS)
    if study.run_at.date() < oldest:
        problems.append(
            Message(
                N_(
                    "the attached study was run on %(day)s, more than %(months)s months ago; run it again (or a copy "
                    "of it) on the current figures"
                ),
                day=study.run_at.date().isoformat(),
                months=STUDY_VALID_MONTHS,
            )
        )
    problems.extend(rule_differences(version, study))
    return problems


def rule_differences(version: ProductVersion, study) -> list[Message]:
    """Where the version's rules differ from those the study was run on (benefits, coverage, ceilings, price)."""
    data = study.input or {}
    services = {str(s.get("code")): s for s in data.get("services") or []}
    benefits = {b.code: b for b in version.benefits}
    problems = []
    for code in sorted(set(services) - set(benefits)):
        problems.append(Message(N_("the study covers %(code)s, which this version does not"), code=code))
    for code in sorted(set(benefits) - set(services)):
        problems.append(Message(N_("this version covers %(code)s, which the study does not"), code=code))
    for code in sorted(set(services) & set(benefits)):
        service, benefit = services[code], benefits[code]
        coverage = Decimal(str(service["coverage_rate"]))
        ceiling = _optional_decimal(service.get("ceiling_per_case"))
        if benefit.kind == "cash":
            per_case = Decimal(str(service["unit_cost"]))
            if ceiling is not None:
                per_case = min(per_case, ceiling)
            if per_case * coverage != benefit.amount:
                problems.append(
                    Message(
                        N_("%(code)s: the study pays %(study)s a case, this version %(version)s"),
                        code=code,
                        study=per_case * coverage,
                        version=benefit.amount,
                    )
                )
            continue
        if benefit.coverage_rate != coverage:
            problems.append(
                Message(
                    N_("%(code)s: the study covers %(study)s, this version %(version)s"),
                    code=code,
                    study=coverage,
                    version=benefit.coverage_rate,
                )
            )
        if benefit.ceiling_per_case != ceiling:
            problems.append(
                Message(
                    N_("%(code)s: the study's ceiling per case is %(study)s, this version's %(version)s"),
                    code=code,
                    study=ceiling if ceiling is not None else Term(N_("none")),
                    version=benefit.ceiling_per_case if benefit.ceiling_per_case is not None else Term(N_("none")),
                )
            )
    needed = study_contribution(version, study)
    if needed is not None and version.amount < needed:
        problems.append(
            Message(
                N_("the contribution %(amount)s is below the %(needed)s the study found necessary"),
                amount=version.amount,
                needed=needed,
            )
        )
    return problems


def study_contribution(version: ProductVersion, study) -> Decimal | None:
    """What the study says this version should charge for its basis and period (feasibility.md step 5).

    Per person: P · months / 12, rounded (by month that is exactly the study's contribution_per_person_month);
    per household: the same times the study's household size.
    """
    result, data = study.result or {}, study.input or {}
    if "contribution_per_person_year" not in result:
        return None
    currency = result["currency"]
    yearly = Decimal(result["contribution_per_person_year"])
    if version.basis == "household":
        yearly *= Decimal(str(data.get("household_size") or 1))
    return round_money(yearly * version.period_months / 12, currency)


#: The rule saying whether a resolution supports an activation: registered by governance (which comes after
#: schemes in the import order), ``rule(resolution, scheme_id, today) -> UserError | None``.
_RESOLUTION_RULE: list[Callable] = []


def on_resolution_check(rule: Callable) -> None:
    """Register the governance rule that ``resolution_problems`` applies (one rule: the last registered)."""
    _RESOLUTION_RULE[:] = [rule]


def resolution_problems(version: ProductVersion, resolution, *, today: date) -> list[str]:
    """Why ``resolution`` cannot support activating ``version`` today (C102 art. 72: the insured decide through
    their general assembly or board); empty when it can. The rule is ``governance.services.resolution_problem``,
    registered through ``on_resolution_check``."""
    if not _RESOLUTION_RULE:
        raise RuntimeError("the governance feature is not loaded: no rule for resolutions")
    problem = _RESOLUTION_RULE[0](resolution, version.product.scheme_id, today)
    if problem is None:
        return []
    return [problem.translated() if has_request_context() else str(problem)]


def activate_version(session, version: ProductVersion, study, resolution=None, *, today: date, actor) -> ProductVersion:
    """Make a draft the rules from its effective date, once ``activation_problems`` finds nothing and an adopted
    resolution of a meeting with quorum, held on or before today, decided it (stored with the version)."""
    problems = activation_problems(version, study, today=today)
    if version.status == "draft":
        problems += resolution_problems(version, resolution, today=today)
    if problems:
        # Each problem is a message id said in the reader's language (English outside a request).
        raise VersionError("; ".join(say(problem) for problem in problems))
    check_rules_date(session, version.product.scheme, version.effective_from)
    version.status = "active"
    version.resolution_id = resolution.id
    session.flush()
    rules_changed(session, version.product.scheme)
    record(
        session,
        actor=actor,
        entity="product_version",
        entity_id=version.id,
        scheme_id=version.product.scheme_id,
        action="activate",
        before={"status": "draft"},
        after={
            "status": "active",
            "effective_from": version.effective_from,
            "study_id": study.id,
            "resolution_id": resolution.id,
        },
    )
    return version


@dataclass
class BenefitPair:
    """One benefit code on the version page: the old version's benefit and the new one's (either may be None)."""

    code: str
    name: str
    old: Benefit | None
    new: Benefit | None

    @property
    def changed(self) -> bool:
        """True when the benefit was added, dropped or its terms differ."""
        if self.old is None or self.new is None:
            return True
        return any(getattr(self.old, k) != getattr(self.new, k) for k in BENEFIT_FIELDS if k != "name")


def benefit_pairs(old: ProductVersion | None, new: ProductVersion) -> list[BenefitPair]:
    """The benefits of two versions side by side, by code, in the new version's order then the dropped ones."""
    old_by_code = {b.code: b for b in old.benefits} if old is not None else {}
    new_by_code = {b.code: b for b in new.benefits}
    codes = list(new_by_code) + [code for code in old_by_code if code not in new_by_code]
    return [
        BenefitPair(
            code, (new_by_code.get(code) or old_by_code[code]).name, old_by_code.get(code), new_by_code.get(code)
        )
        for code in codes
    ]


def _check_date(versions: list[ProductVersion], effective_from: date, today: date, editing) -> None:
    """A new version takes effect today or later and after every other version of the product."""
    if effective_from < today:
        raise VersionError(N_("rules never change retroactively: the effective date must be today or later"))
    others = [v for v in versions if v is not editing]
    if any(v.effective_from >= effective_from for v in others):
        latest = max(v.effective_from for v in others)
        raise VersionError(
            N_("the product already has a version from %(day)s; choose a later date"), day=latest.isoformat()
        )


def _check_rules(values: dict[str, Any], benefits: list[dict[str, Any]]) -> None:
    """The checks the database would make, said in words (period, basis, amounts, unique benefit codes)."""
    if values["basis"] not in ("person", "household"):
        raise VersionError(N_("the contribution is per person or per household"))
    if values["period_months"] not in (1, 3, 12):
        raise VersionError(N_("the contribution is due by month, quarter or year"))
    if values["amount"] is None or values["amount"] <= 0:
        raise VersionError(N_("the contribution must be more than 0"))
    if not benefits:
        raise VersionError(N_("a version covers at least one benefit"))
    codes = [b["code"] for b in benefits]
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise VersionError(N_("benefit %(codes)s appears twice"), codes=", ".join(duplicates))
    for benefit in benefits:
        if benefit["kind"] == "service" and benefit.get("coverage_rate") is None:
            raise VersionError(N_("%(code)s: a service benefit needs a coverage rate"), code=benefit["code"])
        if benefit["kind"] == "cash" and benefit.get("amount") is None:
            raise VersionError(N_("%(code)s: a cash benefit needs an amount"), code=benefit["code"])
        low, high = benefit.get("min_age_years"), benefit.get("max_age_years")
        if low is not None and high is not None and low > high:
            raise VersionError(N_("%(code)s: the lowest age is above the highest"), code=benefit["code"])


def _snapshot(version: ProductVersion) -> dict[str, Any]:
    """The version's rules as plain values, to tell whether an edit changed them."""
    return {
        **{k: getattr(version, k) for k in VERSION_FIELDS},
        "benefits": [tuple(getattr(b, k) for k in BENEFIT_FIELDS) for b in version.benefits],
    }


def _flat(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A snapshot the audit trail can keep (benefits as one line each)."""
    flat = {k: val for k, val in snapshot.items() if k != "benefits"}
    flat["benefits"] = " | ".join(
        " ".join("" if x is None else str(x) for x in benefit) for benefit in snapshot["benefits"]
    )
    return flat


def _optional_decimal(value) -> Decimal | None:
    """A study's optional amount (a string or a number) as a Decimal, None when absent."""
    if value is None or value == "":
        return None
    return Decimal(str(value))
