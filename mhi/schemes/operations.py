"""Scheme set-up done on screen: an administrator creates a federation or a scheme, a scheme manager edits the
scheme's name, target population, locale and settings. Loading from files is ``services.py``'s job.

Services flush, never commit: the view owns the transaction. Each change writes an audit row.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_, UserError
from mhi.core.money import MINOR_UNITS
from mhi.core.validation import CODE_RE, FieldError
from mhi.schemes.models import Federation, Scheme
from mhi.schemes.settings import CARD_LAYOUTS, THRESHOLD_KEYS, bound_names, check_bounds, thresholds_in


class SetupError(UserError):
    """A set-up request that cannot be carried out; the message says why."""


def create_federation(session, *, code: str, name: str, currency: str, actor) -> Federation:
    """Create an empty federation (its pool rules come from federation.json, pooling.md)."""
    _check_code(session, Federation, code)
    _check_currency(currency)
    federation = Federation(code=code, name=name.strip(), currency=currency)
    session.add(federation)
    session.flush()
    record(
        session,
        actor=actor,
        entity="federation",
        entity_id=federation.id,
        action="create",
        after={"code": code, "name": federation.name, "currency": currency},
    )
    return federation


def create_scheme(
    session,
    *,
    code: str,
    name: str,
    country: str,
    currency: str,
    federation: Federation | None,
    target_population: int,
    opening_date: date,
    opening_reserve: Decimal,
    opening_cash: Decimal,
    locale: str,
    actor,
) -> Scheme:
    """Create a scheme without products (they come from scheme.json or the product screens)."""
    _check_code(session, Scheme, code)
    _check_currency(currency)
    # data-formats.md: a scheme in a federation shares its currency (the pool sums their amounts).
    if federation is not None and federation.currency != currency:
        raise SetupError(N_("the federation's currency is %(currency)s"), currency=federation.currency)
    if target_population < 0 or opening_reserve < 0 or opening_cash < 0:
        raise SetupError(N_("figures cannot be negative"))
    scheme = Scheme(
        code=code,
        name=name.strip(),
        country=country.upper(),
        currency=currency,
        federation=federation,
        target_population=target_population,
        opening_date=opening_date,
        opening_reserve=opening_reserve,
        opening_cash=opening_cash,
        locale=locale,
        settings={},
    )
    session.add(scheme)
    session.flush()
    record(
        session,
        actor=actor,
        entity="scheme",
        entity_id=scheme.id,
        scheme_id=scheme.id,
        action="create",
        after={
            "code": code,
            "name": scheme.name,
            "country": scheme.country,
            "currency": currency,
            "federation": federation.code if federation else None,
            "opening_date": opening_date,
            "opening_reserve": opening_reserve,
            "opening_cash": opening_cash,
        },
    )
    return scheme


def update_scheme(
    session,
    scheme: Scheme,
    *,
    name: str,
    target_population: int,
    locale: str,
    card_layout: str,
    threshold_overrides: dict[str, dict[str, Decimal]],
    actor,
    override_approval_above=None,
    quorum_share=None,
) -> None:
    """Change what a scheme manager may change; ``threshold_overrides`` holds only the bounds set by hand."""
    if card_layout not in CARD_LAYOUTS:
        raise SetupError(N_("unknown card layout %(card_layout)s"), card_layout=repr(card_layout))
    if target_population < 0:
        raise SetupError(N_("the target population cannot be negative"))
    stored: dict[str, dict[str, str]] = {}
    for key, bounds in threshold_overrides.items():
        if key not in THRESHOLD_KEYS or set(bounds) - set(bound_names(key)):
            raise SetupError(N_("unknown threshold %(key)s"), key=repr(key))
        values = {name: str(value) for name, value in bounds.items() if value is not None}
        if values:
            stored[key] = values
    settings = {**(scheme.settings or {}), "card_layout": card_layout, "thresholds": stored}
    # Four eyes on overrides (issue 13): blank = no second approval.
    if override_approval_above in (None, ""):
        settings.pop("override_approval_above", None)
    else:
        try:
            settings["override_approval_above"] = str(v.amount(override_approval_above, scheme.currency, positive=True))
        except FieldError as exc:
            raise SetupError(N_("override approval amount: %(exc)s"), exc=exc) from exc
    # The quorum of meetings (mhi/governance): blank = the default half.
    if quorum_share is None:
        settings.pop("governance", None)
    else:
        if not (0 < Decimal(quorum_share) <= 1):
            raise SetupError(N_("the quorum is a share between 0 and 1"))
        settings["governance"] = {"quorum_share": str(quorum_share)}
    # Check the bounds in force after the change, defaults included (indicators.md "Thresholds").
    for key, bounds in thresholds_in(settings).items():
        if check_bounds(key, bounds):
            raise SetupError(N_("the thresholds of %(key)s are not in order"), key=key)
    before = {
        "name": scheme.name,
        "target_population": scheme.target_population,
        "locale": scheme.locale,
        "settings": scheme.settings,
    }
    scheme.name = name.strip()
    scheme.target_population = target_population
    scheme.locale = locale
    # A new dict, not an in-place change: the JSON column only notices assignment.
    scheme.settings = settings
    session.flush()
    record(
        session,
        actor=actor,
        entity="scheme",
        entity_id=scheme.id,
        scheme_id=scheme.id,
        action="update",
        before=before,
        after={"name": scheme.name, "target_population": target_population, "locale": locale, "settings": settings},
    )


def _check_code(session, model, code: str) -> None:
    """A code has the shape of data-formats.md and is not taken yet."""
    if not CODE_RE.match(code or ""):
        raise SetupError(N_("%(code)s is not a valid code"), code=repr(code))
    if session.scalar(select(func.count()).select_from(model).where(model.code == code)):
        raise SetupError(N_("%(code)s already exists"), code=code)


def _check_currency(currency: str) -> None:
    """Only currencies whose minor units mhi knows (conventions.md "Money")."""
    if currency not in MINOR_UNITS:
        raise SetupError(N_("%(currency)s is not a currency mhi knows"), currency=currency)
