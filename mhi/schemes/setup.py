"""The scheme's set-up on screen (issue 12): providers (kind, contract dates, convention amendments as dated
tariff lists), subsidy programmes (dated terms through ``services.change_programme_terms``) and the expense book
(enter, reverse with a reason). What used to need scheme.json, expenses.csv and a shell.

Every change is audited; nothing financial is deleted (an expense is reversed by a counter-entry); rules never
change retroactively (a tariff list or programme terms take effect from a date, after the latest). Services flush,
never commit; errors are ``SetupInputError`` naming the field, in the user's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_, UserError
from mhi.core.reversal import reverse_entry
from mhi.core.validation import FieldError
from mhi.schemes.imports import CATEGORIES as EXPENSE_CATEGORIES
from mhi.schemes.models import Expense, Provider, Scheme, SubsidyProgramme, Tariff
from mhi.schemes.services import PROVIDER_KINDS
from mhi.schemes.tariffs import rows_for_change
from mhi.schemes.versions import check_rules_date, rules_changed


class SetupInputError(UserError):
    """A set-up change refused; ``field`` names the input the message is about."""


def _code(session, model, scheme: Scheme, code: str, what: str) -> str:
    try:
        code = v.code(code, what)
    except FieldError as exc:
        raise SetupInputError(N_("Capital letters, digits, - and _ only, at most 20 characters."), "code") from exc
    if session.scalar(select(model.id).where(model.scheme_id == scheme.id, model.code == code)) is not None:
        raise SetupInputError(N_("%(code)s is already used in this scheme"), "code", code=code)
    return code


def _contract(contract_from: date, contract_to: date | None) -> None:
    if contract_to is not None and contract_to < contract_from:
        raise SetupInputError(N_("the contract cannot end before it starts"), "contract_to")


def _kind(kind: str) -> str:
    if kind not in PROVIDER_KINDS:
        raise SetupInputError(N_("choose a kind from the list"), "kind")
    return kind


def _tariffs(scheme: Scheme, tariffs: Mapping[str, object]) -> dict[str, Decimal]:
    """Benefit code → amount (> 0); a blank amount leaves the code out (not capped)."""
    out: dict[str, Decimal] = {}
    for code, amount in tariffs.items():
        if amount in (None, ""):
            continue
        try:
            out[v.code(code, "benefit code")] = v.amount(amount, scheme.currency, positive=True)
        except FieldError as exc:
            raise SetupInputError(
                N_("tariff %(code)s: write an amount above 0 in %(currency)s"),
                f"tariff_{code}",
                code=code,
                currency=scheme.currency,
            ) from exc
    return out


def _money_map(tariffs: Mapping[str, Decimal]) -> dict[str, str]:
    return {code: str(amount) for code, amount in sorted(tariffs.items())}


def create_provider(
    session,
    scheme: Scheme,
    *,
    code: str,
    name: str,
    kind: str,
    contract_from: date,
    contract_to: date | None,
    tariffs: Mapping[str, object],
    actor,
) -> Provider:
    """Contract a new provider, with its first tariff list from ``contract_from``."""
    code = _code(session, Provider, scheme, code, "provider code")
    name = (name or "").strip()
    if not name:
        raise SetupInputError(N_("a name is required"), "name")
    _contract(contract_from, contract_to)
    values = _tariffs(scheme, tariffs)
    provider = Provider(
        scheme_id=scheme.id,
        code=code,
        name=name,
        kind=_kind(kind),
        contract_from=contract_from,
        contract_to=contract_to,
    )
    session.add(provider)
    session.flush()
    for bcode, amount in values.items():
        session.add(Tariff(provider_id=provider.id, effective_from=contract_from, benefit_code=bcode, amount=amount))
    session.flush()
    record(
        session,
        actor=actor,
        entity="provider",
        entity_id=provider.id,
        scheme_id=scheme.id,
        action="create",
        after={"code": code, "name": name, "kind": kind, "contract_from": contract_from,
               "contract_to": contract_to, **{f"tariff {k}": x for k, x in _money_map(values).items()}},
    )  # fmt: skip
    return provider


def update_provider(
    session, provider: Provider, *, name: str, kind: str, contract_from: date, contract_to: date | None, actor
) -> bool:
    """Change a provider's name, kind or contract dates (audited with before/after). A contract may not start
    after its first tariff list nor after care already claimed there. Returns whether anything changed."""
    name = (name or "").strip()
    if not name:
        raise SetupInputError(N_("a name is required"), "name")
    _contract(contract_from, contract_to)
    dated = provider.tariff_history()
    if dated and contract_from > dated[0][0]:
        raise SetupInputError(
            N_("the tariffs start on %(day)s: the contract cannot start after them"),
            "contract_from",
            day=dated[0][0].isoformat(),
        )
    values = {"name": name, "kind": _kind(kind), "contract_from": contract_from, "contract_to": contract_to}
    before = {k: getattr(provider, k) for k in values if getattr(provider, k) != values[k]}
    if not before:
        return False
    for key in before:
        setattr(provider, key, values[key])
    session.flush()
    record(
        session,
        actor=actor,
        entity="provider",
        entity_id=provider.id,
        scheme_id=provider.scheme_id,
        action="update",
        before=before,
        after={k: values[k] for k in before},
    )
    return True


def change_tariffs(session, provider: Provider, *, effective_from: date, tariffs: Mapping[str, object], actor) -> bool:
    """A convention amendment: ``tariffs`` are the provider's whole list from ``effective_from`` on; claims for
    care before that day keep the old tariffs. Refused before the contract starts, on or before the latest list's
    date, or in a closed pool period. Returns False when the list is the one already in force."""
    scheme = provider.scheme
    values = _tariffs(scheme, tariffs)
    if effective_from < provider.contract_from:
        raise SetupInputError(
            N_("a tariff change from %(day)s is before the contract starts (%(start)s)"),
            "effective_from",
            day=effective_from.isoformat(),
            start=provider.contract_from.isoformat(),
        )
    dated = provider.tariff_history()
    latest = dated[-1] if dated else None
    if latest is not None and effective_from <= latest[0]:
        raise SetupInputError(
            N_("the tariffs already change on %(day)s; choose a later date"),
            "effective_from",
            day=latest[0].isoformat(),
        )
    previous = latest[1] if latest else {}
    if values == previous:
        return False
    from mhi.schemes.versions import VersionError

    try:
        check_rules_date(session, scheme, effective_from)
    except VersionError as exc:
        raise SetupInputError.of(exc, "effective_from") from exc
    for bcode, amount in rows_for_change(previous, values).items():
        session.add(Tariff(provider_id=provider.id, effective_from=effective_from, benefit_code=bcode, amount=amount))
    session.flush()
    session.expire(provider, ["tariffs"])
    record(
        session,
        actor=actor,
        entity="provider",
        entity_id=provider.id,
        scheme_id=scheme.id,
        action="tariffs",
        before={"effective_from": effective_from, **_money_map(previous)},
        after={"effective_from": effective_from, **_money_map(values)},
    )
    return True


def create_programme(
    session,
    scheme: Scheme,
    *,
    code: str,
    funder: str,
    categories: list[str],
    share,
    valid_from: date,
    valid_to: date | None,
    actor,
) -> SubsidyProgramme:
    """A new subsidy programme with its first terms from ``valid_from``; every household's dues follow."""
    code = _code(session, SubsidyProgramme, scheme, code, "programme code")
    funder = (funder or "").strip()
    if not funder:
        raise SetupInputError(N_("a funder is required"), "funder")
    categories = [c.strip() for c in categories if c and c.strip()]
    if not categories:
        raise SetupInputError(N_("list at least one household category"), "categories")
    try:
        share = v.share(share)
    except FieldError as exc:
        raise SetupInputError(N_("the share must be between 0 and 1"), "share") from exc
    if valid_to is not None and valid_to < valid_from:
        raise SetupInputError(N_("the programme cannot end before it starts"), "valid_to")
    from mhi.schemes.versions import VersionError

    try:
        check_rules_date(session, scheme, valid_from)
    except VersionError as exc:
        raise SetupInputError.of(exc, "valid_from") from exc
    position = (session.scalar(select(func.max(SubsidyProgramme.position)).where(SubsidyProgramme.scheme_id == scheme.id)) or 0) + 1  # fmt: skip
    programme = SubsidyProgramme(
        scheme_id=scheme.id, code=code, funder=funder, position=position, valid_from=valid_from, valid_to=valid_to,
        share=share, categories=categories,
    )  # fmt: skip
    session.add(programme)
    session.flush()
    record(
        session,
        actor=actor,
        entity="subsidy_programme",
        entity_id=programme.id,
        scheme_id=scheme.id,
        action="create",
        after={"code": code, "funder": funder, "categories": ", ".join(categories), "share": str(share),
               "valid_from": valid_from, "valid_to": valid_to},
    )  # fmt: skip
    session.refresh(scheme)
    rules_changed(session, scheme)
    return programme


def update_programme(session, programme: SubsidyProgramme, *, funder: str, valid_to: date | None, actor) -> bool:
    """Change a programme's funder name or end date (audited); every household's dues follow an end date."""
    funder = (funder or "").strip()
    if not funder:
        raise SetupInputError(N_("a funder is required"), "funder")
    if valid_to is not None and valid_to < programme.valid_from:
        raise SetupInputError(N_("the programme cannot end before it starts"), "valid_to")
    values = {"funder": funder, "valid_to": valid_to}
    before = {k: getattr(programme, k) for k in values if getattr(programme, k) != values[k]}
    if not before:
        return False
    if "valid_to" in before:
        from mhi.schemes.versions import VersionError

        try:
            check_rules_date(session, programme.scheme, min(d for d in (valid_to, programme.valid_to) if d) if (valid_to or programme.valid_to) else programme.valid_from)  # fmt: skip
        except VersionError as exc:
            raise SetupInputError.of(exc, "valid_to") from exc
    for key in before:
        setattr(programme, key, values[key])
    session.flush()
    record(
        session,
        actor=actor,
        entity="subsidy_programme",
        entity_id=programme.id,
        scheme_id=programme.scheme_id,
        action="update",
        before=before,
        after={k: values[k] for k in before},
    )
    if "valid_to" in before:
        rules_changed(session, programme.scheme)
    return True


def record_expense(
    session, scheme: Scheme, *, reference: str, day: date, category: str, amount, description: str, actor
) -> Expense:
    """Enter a running cost in the expense book (expenses.csv's fields and checks)."""
    try:
        reference = v.ref(reference, "reference")
    except FieldError as exc:
        raise SetupInputError(N_("1 to 40 letters, digits or / - _ . characters"), "reference") from exc
    if category not in EXPENSE_CATEGORIES:
        raise SetupInputError(N_("choose a category from the list"), "category")
    try:
        value = v.amount(amount, scheme.currency, positive=True)
    except FieldError as exc:
        raise SetupInputError(
            N_("write an amount above 0 in %(currency)s"), "amount", currency=scheme.currency
        ) from exc
    description = (description or "").strip()
    if len(description) > 500:
        raise SetupInputError(N_("at most 500 characters"), "description")
    taken = session.scalar(select(Expense.id).where(Expense.scheme_id == scheme.id, Expense.reference == reference))
    if taken is not None:
        raise SetupInputError(N_("reference %(ref)s is already used in this scheme"), "reference", ref=reference)
    expense = Expense(
        scheme_id=scheme.id, reference=reference, date=day, category=category, amount=value,
        description=description, created_by_id=getattr(actor, "id", None),
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(expense)
    except IntegrityError as exc:
        raise SetupInputError(
            N_("reference %(ref)s is already used in this scheme"), "reference", ref=reference
        ) from exc
    record(
        session,
        actor=actor,
        entity="expense",
        entity_id=expense.id,
        scheme_id=scheme.id,
        action="record",
        after={"reference": reference, "date": day, "category": category, "amount": value, "description": description},
    )
    return expense


def reverse_expense(session, expense: Expense, *, reason: str, actor) -> Expense:
    """Cancel an expense by a counter-entry (same date, negated amount, ``<reference>-R``) with its reason; once."""
    if not (reason or "").strip():
        raise SetupInputError(N_("a reason is required to reverse an expense"), "reason")
    return reverse_entry(
        session,
        expense,
        number="reference",
        copied=("category", "description"),
        reason=reason,
        actor=actor,
        error=SetupInputError,
        entity="expense",
        check_number_free=True,
        audit_amount=True,
    )
