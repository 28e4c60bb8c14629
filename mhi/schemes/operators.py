"""The scheme's payment operators: the mobile wallets and banks its members pay through (issue 14).

A scheme that has not edited its list yet works with ``DEFAULT_OPERATORS`` (the wallets common in West Africa and
a bank); the first change a manager saves writes the defaults as the scheme's own rows, and from then on the rows
are the list. Operators are never deleted (receipts name them): a manager deactivates one, and an inactive
operator takes no new receipt. Services flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from mhi.core.audit import record
from mhi.core.errors import UserError
from mhi.schemes.models import PaymentOperator, Scheme

OPERATOR_CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,19}$")
OPERATOR_METHODS = ("mobile_money", "bank")

#: (code, name, method): the list a scheme starts with.
DEFAULT_OPERATORS: tuple[tuple[str, str, str], ...] = (
    ("wave", "Wave", "mobile_money"),
    ("orange_money", "Orange Money", "mobile_money"),
    ("free_money", "Free Money", "mobile_money"),
    ("bank", "Bank", "bank"),
)


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a translation marker
    """Mark ``message`` for extraction; the view translates it with its parameters."""
    return message


class OperatorError(UserError):
    """An operator that cannot be saved or used: ``message`` is an English template marked for translation,
    ``params`` its values, ``field`` the form field it concerns."""


@dataclass(frozen=True)
class Operator:
    """One operator as the screens and the statement reader use it."""

    code: str
    name: str
    method: str
    active: bool = True
    column_map: dict | None = None
    decimal_comma: bool = False
    delimiter: str = ","


def _as_operator(row: PaymentOperator) -> Operator:
    """A stored row as an Operator."""
    return Operator(
        code=row.code,
        name=row.name,
        method=row.method,
        active=row.active,
        column_map=dict(row.column_map or {}),
        decimal_comma=row.decimal_comma,
        delimiter=row.delimiter or ",",
    )


def scheme_operators(session, scheme: Scheme) -> list[Operator]:
    """The scheme's operators in code order: its own rows, or the defaults while it has none."""
    rows = session.scalars(
        select(PaymentOperator).where(PaymentOperator.scheme_id == scheme.id).order_by(PaymentOperator.code)
    ).all()
    if rows:
        return [_as_operator(row) for row in rows]
    return sorted((Operator(code, name, method) for code, name, method in DEFAULT_OPERATORS), key=lambda o: o.code)


def find_operator(session, scheme: Scheme, code: str | None) -> Operator | None:
    """The scheme's operator with ``code`` (active or not), or None."""
    return next((o for o in scheme_operators(session, scheme) if o.code == code), None)


def usable_operator(session, scheme: Scheme, code: str) -> Operator:
    """The active operator ``code`` of the scheme, or OperatorError (unknown or inactive)."""
    operator = find_operator(session, scheme, (code or "").strip())
    if operator is None:
        known = ", ".join(o.code for o in scheme_operators(session, scheme) if o.active)
        raise OperatorError(
            N_("Unknown operator %(operator)s (this scheme's operators: %(known)s)."),
            "operator",
            operator=code,
            known=known,
        )
    if not operator.active:
        raise OperatorError(N_("Operator %(operator)s is no longer in use."), "operator", operator=code)
    return operator


def _materialise(session, scheme: Scheme) -> dict[str, PaymentOperator]:
    """The scheme's rows by code, writing the defaults first when it has none (its first edit)."""
    rows = session.scalars(select(PaymentOperator).where(PaymentOperator.scheme_id == scheme.id)).all()
    if not rows:
        rows = [
            PaymentOperator(scheme_id=scheme.id, code=code, name=name, method=method, column_map={})
            for code, name, method in DEFAULT_OPERATORS
        ]
        session.add_all(rows)
        session.flush()
    return {row.code: row for row in rows}


def save_operator(
    session,
    scheme: Scheme,
    *,
    code: str,
    name: str,
    method: str,
    active: bool = True,
    column_map: dict | None = None,
    decimal_comma: bool = False,
    delimiter: str = ",",
    actor=None,
) -> Operator:
    """Add the operator ``code`` to the scheme's list, or change it; audited. ``column_map`` maps statement.csv's
    columns to the operator's own column names (blank values dropped)."""
    code = (code or "").strip()
    if not OPERATOR_CODE.match(code):
        raise OperatorError(
            N_("%(code)s is not a valid operator code (small letters, digits and _, at most 20)."), "code", code=code
        )
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise OperatorError(N_("The operator's name is required (at most 100 characters)."), "name")
    if method not in OPERATOR_METHODS:
        raise OperatorError(N_("The method must be mobile money or bank."), "method")
    if delimiter not in (",", ";", "\t"):
        raise OperatorError(N_("The separator must be a comma, a semicolon or a tab."), "delimiter")
    mapping = {k: v.strip() for k, v in (column_map or {}).items() if v and v.strip()}
    rows = _materialise(session, scheme)
    row = rows.get(code)
    before = None if row is None else _as_operator(row).__dict__
    if row is None:
        row = PaymentOperator(scheme_id=scheme.id, code=code)
        session.add(row)
    row.name, row.method, row.active = name, method, bool(active)
    row.column_map, row.decimal_comma, row.delimiter = mapping, bool(decimal_comma), delimiter
    session.flush()
    record(
        session,
        actor=actor,
        entity="payment_operator",
        entity_id=row.id,
        scheme_id=scheme.id,
        action="create" if before is None else "update",
        before=before,
        after=_as_operator(row).__dict__,
    )
    return _as_operator(row)
