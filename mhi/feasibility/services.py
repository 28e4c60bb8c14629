"""Saved feasibility studies (feasibility.md) and the step from a study to a product of a scheme.

A saved study keeps the input exactly as the promoter gave it (amounts as strings, never floats) and the
result of its last run. Who sees a study: an administrator every study; a federation reviewer the studies of
his federation and of its schemes; a scheme user the studies of his scheme; anyone the studies he made himself.
Services flush, never commit: the view or the command owns the transaction. Every change writes an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import false, or_, select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_, Message, UserError
from mhi.core.validation import FieldError
from mhi.feasibility.method import StudyError, parse_study, run_study
from mhi.feasibility.models import Study
from mhi.schemes.models import Benefit, Product, ProductVersion, Scheme

#: The money figures of a study compared side by side, in the order a board reads them.
KEY_FIGURES = (
    "pure_premium",
    "adjusted_pure_premium",
    "contribution_per_person_year",
    "contribution_per_person_month",
    "contribution_per_household_year",
    "member_share",
)
#: The ratio and count figures compared side by side.
KEY_RATIOS = ("expected_claims_ratio", "affordability_ratio", "willingness_share")
#: feasibility.md step 9: the last projection year's figures shown in a comparison.
LAST_YEAR_FIGURES = ("beneficiaries", "claims", "result", "reserve")
LAST_YEAR_RATIOS = ("claims_ratio", "reserve_months")

#: How a product made from a study charges its contribution: per person, by month or by year (task brief).
CONTRIBUTION_PERIODS = {1: "contribution_per_person_month", 12: "contribution_per_person_year"}
#: A waiting period in months becomes days at 30 days a month (task brief "From study to product").
DAYS_PER_MONTH = 30

MAX_COMPARED = 4


class StudyLocked(UserError):
    """A study that backs a product version cannot change: it is the evidence the version was approved on."""


class ProductError(UserError):
    """A product cannot be made from a study; the message says why."""


# ------------------------------------------------------------------------------------------------ visibility


def visible_filter(user):
    """A WHERE clause on ``Study`` keeping the studies ``user`` may see (see the module docstring)."""
    if not getattr(user, "is_authenticated", False):
        return false()
    if user.role == "admin":
        return Study.id.isnot(None)
    own = Study.created_by_id == user.id
    if user.role == "federation_reviewer":
        if user.federation_id is None:
            return own
        federation_schemes = select(Scheme.id).where(Scheme.federation_id == user.federation_id)
        return or_(own, Study.federation_id == user.federation_id, Study.scheme_id.in_(federation_schemes))
    if user.scheme_id is None:
        return own
    return or_(own, Study.scheme_id == user.scheme_id)


def visible_studies(session, user) -> list[Study]:
    """The studies ``user`` may see, newest first."""
    query = select(Study).where(visible_filter(user)).order_by(Study.created_at.desc(), Study.id.desc())
    return list(session.scalars(query))


def visible_study(session, user, study_id: int) -> Study | None:
    """The study ``study_id`` if ``user`` may see it, else None (the view answers 404 either way)."""
    return session.scalar(select(Study).where(Study.id == study_id, visible_filter(user)))


def studies_of_scheme(session, scheme: Scheme) -> list[Study]:
    """The studies attached to ``scheme``, newest run first (to attach one to a product version)."""
    query = select(Study).where(Study.scheme_id == scheme.id).order_by(Study.run_at.desc(), Study.id.desc())
    return list(session.scalars(query))


# --------------------------------------------------------------------------------------------- saving studies


def run_input(data: dict[str, Any]) -> dict:
    """Validate and run a study input (the study JSON as a dict); raise ``StudyError`` naming every bad field."""
    return run_study(parse_study(data))


def save_study(
    session,
    data: dict[str, Any],
    *,
    scheme: Scheme | None,
    federation_id: int | None,
    actor,
    now: datetime,
) -> Study:
    """Run ``data`` and keep it as a new study, attached to ``scheme`` (and its federation) when given."""
    result = run_input(data)
    _check_currency(data, scheme)
    if scheme is not None:
        federation_id = scheme.federation_id
    study = Study(
        name=str(data["name"]).strip(),
        scheme_id=scheme.id if scheme is not None else None,
        federation_id=federation_id,
        input=_storable(data),
        result=result,
        run_at=now,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(study)
    session.flush()
    record(
        session,
        actor=actor,
        entity="study",
        entity_id=study.id,
        scheme_id=study.scheme_id,
        action="create",
        after={"name": study.name, "contribution_per_person_year": result["contribution_per_person_year"]},
    )
    return study


def update_study(session, study: Study, data: dict[str, Any], *, scheme: Scheme | None, actor, now: datetime) -> Study:
    """Re-run a study on changed input (and scheme); refused for a study that backs a product version (the
    evidence of a decision does not change afterwards: copy it instead)."""
    if is_locked(session, study):
        raise StudyLocked(N_("this study backs a product version and cannot change; make a copy and change the copy"))
    result = run_input(data)
    _check_currency(data, scheme)
    before = {
        "name": study.name,
        "scheme_id": study.scheme_id,
        "contribution_per_person_year": (study.result or {}).get("contribution_per_person_year"),
    }
    if scheme is not None:
        study.scheme_id, study.federation_id = scheme.id, scheme.federation_id
    else:
        study.scheme_id = None
    study.name = str(data["name"]).strip()
    study.input = _storable(data)
    study.result = result
    study.run_at = now
    session.flush()
    record(
        session,
        actor=actor,
        entity="study",
        entity_id=study.id,
        scheme_id=study.scheme_id,
        action="update",
        before=before,
        after={
            "name": study.name,
            "scheme_id": study.scheme_id,
            "contribution_per_person_year": result["contribution_per_person_year"],
        },
    )
    return study


def copy_study(session, study: Study, *, name: str, actor, now: datetime) -> Study:
    """A new study with the same input under ``name``, run again (the method may have been corrected since)."""
    data = dict(study.input)
    data["name"] = name
    return save_study(session, data, scheme=study.scheme, federation_id=study.federation_id, actor=actor, now=now)


def is_locked(session, study: Study) -> bool:
    """True when a product version points at ``study`` (it is the evidence that version was decided on)."""
    return session.scalar(select(ProductVersion.id).where(ProductVersion.study_id == study.id).limit(1)) is not None


def _check_currency(data: dict[str, Any], scheme: Scheme | None) -> None:
    """A study attached to a scheme is in the scheme's currency (conventions.md: every amount has one)."""
    if scheme is not None and data.get("currency") != scheme.currency:
        message = Message(
            N_("the scheme %(code)s keeps its accounts in %(currency)s"), code=scheme.code, currency=scheme.currency
        )
        raise StudyError([("currency", message)])


def _storable(data: dict[str, Any]) -> dict[str, Any]:
    """The input as JSON can keep it exactly: Decimals become strings (a JSON column would make them floats)."""
    if isinstance(data, dict):
        return {key: _storable(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_storable(value) for value in data]
    if isinstance(data, Decimal):
        return str(data)
    return data


# ----------------------------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Studies side by side: one row per figure, one cell per study (``kind`` says how to format it)."""

    studies: list[Study]
    rows: list[tuple[str, str, list[Any]]]


def compare_studies(studies: list[Study]) -> Comparison:
    """Key figures and the last projection year of 2 to 4 studies, each row one figure across the studies."""
    if not 2 <= len(studies) <= MAX_COMPARED:
        raise ValueError(f"compare 2 to {MAX_COMPARED} studies")
    results = [study.result or {} for study in studies]
    rows: list[tuple[str, str, list[Any]]] = []
    for key in KEY_FIGURES:
        rows.append((key, "money", [r.get(key) for r in results]))
    for key in KEY_RATIOS:
        rows.append((key, "ratio", [r.get(key) for r in results]))
    rows.append(("break_even_beneficiaries", "count", [r.get("break_even_beneficiaries") for r in results]))
    lasts = [(r.get("projection") or [{}])[-1] for r in results]
    rows.append(("year", "count", [last.get("year") for last in lasts]))
    for key in LAST_YEAR_FIGURES:
        rows.append((key, "count" if key == "beneficiaries" else "money", [last.get(key) for last in lasts]))
    for key in LAST_YEAR_RATIOS:
        rows.append((key, "ratio" if key == "claims_ratio" else "number", [last.get(key) for last in lasts]))
    return Comparison(studies, rows)


# ------------------------------------------------------------------------------------- from study to product


def create_product_from_study(
    session,
    study: Study,
    scheme: Scheme,
    *,
    code: str,
    name: str,
    period_months: int,
    effective_from: date,
    actor,
    newborn_days: int | None = None,
) -> Product:
    """Turn a study into a new product of ``scheme`` with one draft version the manager then edits.

    The version charges per person the study's contribution per month or per year, no registration fee, and
    has one service benefit per study service (its coverage rate and ceiling per case); the waiting period is
    the study's months at 30 days each. The draft keeps the study attached, so it can be activated on it.
    """
    try:
        code = v.code(code.strip().upper(), "product code")
    except FieldError as exc:
        raise ProductError.of(exc) from exc
    if not name.strip():
        raise ProductError(N_("give the product a name"), "name")
    if period_months not in CONTRIBUTION_PERIODS:
        raise ProductError(N_("a product made from a study charges by month or by year"))
    if study.result is None:
        raise ProductError(N_("run the study before making a product of it"))
    if study.input.get("currency") != scheme.currency:
        raise ProductError(
            N_("the study is in %(study)s, the scheme's accounts in %(scheme)s"),
            study=study.input.get("currency"),
            scheme=scheme.currency,
        )
    if session.scalar(select(Product.id).where(Product.scheme_id == scheme.id, Product.code == code)):
        raise ProductError(N_("the scheme already has a product %(code)s"), "code", code=code)
    benefits = _benefits_from_study(study.input)
    product = Product(scheme=scheme, code=code, name=name.strip())
    session.add(product)
    version = ProductVersion(
        product=product,
        effective_from=effective_from,
        status="draft",
        source="app",
        basis="person",
        amount=Decimal(study.result[CONTRIBUTION_PERIODS[period_months]]),
        period_months=period_months,
        registration_fee=Decimal(0),
        waiting_period_days=int(study.input.get("waiting_period_months") or 0) * DAYS_PER_MONTH,
        grace_period_days=0,
        newborn_days=newborn_days,
        study_id=study.id,
    )
    version.benefits.extend(benefits)
    session.add(version)
    if study.scheme_id is None:
        # The study now speaks for this scheme: its members may see it (and it backs the version).
        study.scheme_id = scheme.id
        study.federation_id = scheme.federation_id
    session.flush()
    record(
        session,
        actor=actor,
        entity="product",
        entity_id=product.id,
        scheme_id=scheme.id,
        action="create_from_study",
        after={
            "code": code,
            "name": product.name,
            "study_id": study.id,
            "version_id": version.id,
            "amount": version.amount,
            "period_months": period_months,
            "effective_from": effective_from,
        },
    )
    return product


def _benefits_from_study(data: dict[str, Any]) -> list[Benefit]:
    """One service benefit per study service; a service code that cannot be a benefit code is refused."""
    benefits = []
    for position, service in enumerate(data.get("services") or []):
        try:
            code = v.code(service.get("code"), "benefit code")
        except FieldError as exc:
            raise ProductError(N_("service %(row)s: %(problem)s"), row=position + 1, problem=exc) from exc
        ceiling = service.get("ceiling_per_case")
        benefits.append(
            Benefit(
                position=position,
                code=code,
                name=str(service.get("name") or code)[:200],
                kind="service",
                coverage_rate=Decimal(str(service["coverage_rate"])),
                ceiling_per_case=Decimal(str(ceiling)) if ceiling not in (None, "") else None,
            )
        )
    return benefits


# ------------------------------------------------------------------------------------ versions' claims ratios


@dataclass
class ClaimsRatio:
    """A version's expected claims ratio and where it comes from: ``study`` (feasibility.md step 6) or
    ``observed`` (the scheme's incurred_claims_ratio, indicators.md, over the last 12 months)."""

    value: Any
    source: str | None


def study_claims_ratio(session, version: ProductVersion) -> ClaimsRatio:
    """The expected claims ratio of the study attached to ``version`` (None without one)."""
    study = session.get(Study, version.study_id) if version.study_id else None
    if study is None or not study.result:
        return ClaimsRatio(None, None)
    return ClaimsRatio(study.result.get("expected_claims_ratio"), "study")


def replaced_claims_ratio(session, version: ProductVersion, *, today: date) -> ClaimsRatio:
    """For the version being replaced: its study's expected claims ratio, else what the scheme observed over
    the last 12 months (when the reports module offers it), else nothing."""
    from mhi.feasibility.experience import last_twelve_months, scheme_indicator

    found = study_claims_ratio(session, version)
    if found.value is not None:
        return found
    date_from, date_to = last_twelve_months(today)
    observed = scheme_indicator(session, version.product.scheme, date_from, date_to, "incurred_claims_ratio")
    return ClaimsRatio(observed, "observed" if observed is not None else None)
