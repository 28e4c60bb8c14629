"""Which schemes and federations a user may see (health data is private: core/access.py's roles, scoped here to
the rows of schemes): ``visible_scheme_ids``, ``scheme_filter`` for queries, and the ``…_or_404`` loaders — a record
of a scheme the user may not see answers 404, exactly as a record that does not exist. In the schemes feature
because they read schemes and federations (core names no feature)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from mhi.core.db import db
from mhi.schemes.models import Federation, Scheme


def visible_scheme_ids(user) -> list[int] | None:
    """The ids of the schemes ``user`` may see, or None for every scheme (admin)."""
    if not getattr(user, "is_authenticated", False):
        return []
    if user.role == "admin":
        return None
    if user.role == "funder":
        return []  # a funder reaches its programmes through its own pages (subsidies/funders.py), never a scheme
    if user.role == "federation_reviewer":
        if user.federation_id is None:
            return []
        return list(db.session.scalars(select(Scheme.id).where(Scheme.federation_id == user.federation_id)))
    return [user.scheme_id] if user.scheme_id is not None else []


def bound_provider_id(user=None) -> int | None:
    """The provider a facility account is bound to (issue 13), or None for every other account: its claims,
    payment batches and guarantee letters are those of that provider only."""
    user = user or current_user
    if not getattr(user, "is_authenticated", False) or user.role != "facility":
        return None
    return user.provider_id if user.provider_id is not None else -1  # never None for a facility: sees nothing


def scheme_filter(column, user=None):
    """A WHERE clause restricting ``column`` (a scheme_id column) to the user's schemes."""
    ids = visible_scheme_ids(user or current_user)
    if ids is None:
        return column.isnot(None) | column.is_(None)
    return column.in_(ids)


def scheme_or_404(code: str, user=None):
    """The scheme with ``code`` if the user may see it; 404 otherwise (also when it exists elsewhere)."""
    scheme = db.session.scalar(select(Scheme).where(Scheme.code == code))
    ids = visible_scheme_ids(user or current_user)
    if scheme is None or (ids is not None and scheme.id not in ids):
        abort(404)
    return scheme


def in_scope_or_404(model, record_id: int, user=None):
    """Load ``model`` by id if its ``scheme_id`` is one of the user's schemes — and, for a facility account, its
    ``provider_id`` is the account's provider (a record without one is not the facility's); 404 otherwise."""
    user = user or current_user
    record = db.session.get(model, record_id)
    ids = visible_scheme_ids(user)
    if record is None or (ids is not None and record.scheme_id not in ids):
        abort(404)
    provider_id = bound_provider_id(user)
    if provider_id is not None and getattr(record, "provider_id", None) != provider_id:
        abort(404)
    return record


def federation_or_404(code: str, user=None):
    """The federation with ``code`` if the user may see it (admin, or its reviewer); 404 otherwise."""
    user = user or current_user
    federation = db.session.scalar(select(Federation).where(Federation.code == code))
    if federation is None:
        abort(404)
    if user.role == "admin" or (user.role == "federation_reviewer" and user.federation_id == federation.id):
        return federation
    abort(404)
