"""Every change to people, money, rules and decisions writes an audit row (issue "Trust").

A static walk over the write side (services, operations, imports, versions of every feature) lists each public
function that writes to the session and proves it reaches ``record(...)``, itself or through a function of its
module; the few writes that are not changes of record (derived data, preferences, print jobs) are named here
with the reason. Then the paths added for this issue are exercised: a scheme file loaded again with a new
product, programme and provider, a renamed product and changed tariffs.
"""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

from sqlalchemy import select

from mhi.core.audit import AuditEvent
from mhi.schemes.services import load_scheme
from tests.claims.claim_helpers import SCHEME

MHI = Path(__file__).resolve().parents[2] / "mhi"
WRITE_SIDE = ("services.py", "operations.py", "imports.py", "versions.py")
WRITES = ("add", "add_all", "delete", "merge")

#: Writes that are not a change of record, each with why it is not audited.
NOT_AUDITED = {
    # Derived from the receipts and the register, recomputed at will: the changes that cause them are audited.
    "mhi/contributions/services.py:refresh_households",
    # A display preference of the account's owner, not a right or a record.
    "mhi/auth/operations.py:set_user_locale",
    # Print jobs of member cards: a file being made, nothing about a member changes.
    "mhi/cards/services.py:create_card_job",
    # The SMS sender: each message row is its own log (status, attempts, last error); nothing else changes.
    "mhi/messaging/services.py:send_due_messages",
}


def _writes(node: ast.AST) -> bool:
    """True when the function calls session.add/delete/…, executes an insert/update/delete statement, or sets
    attributes (``record.field = …``, ``setattr``) and flushes them."""
    flushes = any(
        isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr == "flush" for c in ast.walk(node)
    )
    sets = any(
        (isinstance(n, (ast.Assign, ast.AugAssign)) and any(isinstance(t, ast.Attribute) for t in _targets(n)))
        or (isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setattr")
        for n in ast.walk(node)
    )
    if flushes and sets:
        return True
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Name) and func.id == "bulk_insert":
            return True
        if isinstance(func, ast.Attribute) and func.attr in WRITES and _is_session(func.value):
            return True
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "execute" and call.args:
            first = call.args[0]
            inner = first
            while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                inner = inner.func.value
            if isinstance(inner, ast.Call) and getattr(inner.func, "id", "") in ("insert", "update", "delete"):
                return True
    return False


def _targets(node) -> list:
    """The assignment targets of an Assign or AugAssign."""
    return node.targets if isinstance(node, ast.Assign) else [node.target]


def _is_session(node: ast.AST) -> bool:
    """True for ``session`` or ``<something>.session`` (the receiver of add/delete)."""
    return (isinstance(node, ast.Name) and node.id in ("session", "db_session")) or (
        isinstance(node, ast.Attribute) and node.attr == "session"
    )


def _called(node: ast.AST) -> set[str]:
    """Names of the plain functions ``node`` calls."""
    return {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}


def unaudited_writers() -> list[str]:
    """``path:function`` of every public write-side function that writes without reaching record()."""
    found = []
    for path in sorted(MHI.rglob("*.py")):
        if path.name not in WRITE_SIDE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        records: dict[str, bool] = {}

        def reaches_record(name: str, seen: frozenset = frozenset(), functions=functions, records=records) -> bool:
            if name in records:
                return records[name]
            calls = _called(functions[name])
            result = "record" in calls or any(
                reaches_record(other, seen | {name}) for other in calls if other in functions and other not in seen
            )
            records[name] = result
            return result

        for name, node in functions.items():
            if name.startswith("_") or not _writes(node):
                continue
            key = f"{path.relative_to(MHI.parent).as_posix()}:{name}"
            if key not in NOT_AUDITED and not reaches_record(name):
                found.append(key)
    return found


def test_every_write_path_reaches_the_audit_trail():
    missing = unaudited_writers()

    assert not missing, "write paths without an audit row (add record(...) or explain in NOT_AUDITED):\n" + "\n".join(
        missing
    )


def test_every_exception_names_a_write_path_that_exists():
    stale = [key for key in NOT_AUDITED if not _defines(*key.split(":"))]

    assert not stale, f"NOT_AUDITED names functions that no longer exist: {stale}"


def _defines(relative: str, name: str) -> bool:
    """True when the module at ``relative`` (from the repository root) defines the function ``name``."""
    path = MHI.parent / relative
    return path.exists() and any(
        isinstance(n, ast.FunctionDef) and n.name == name for n in ast.parse(path.read_text(encoding="utf-8")).body
    )


def events(session, entity: str) -> list[tuple[str, dict | None, dict | None]]:
    """(action, before, after) of the audit rows about ``entity``, oldest first."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.before, AuditEvent.after)
        .where(AuditEvent.entity == entity)
        .order_by(AuditEvent.id)
    )
    return [tuple(row) for row in rows]


def test_loading_a_scheme_again_audits_every_addition_and_change(session):
    load_scheme(session, SCHEME, today=date(2024, 1, 1))
    session.commit()
    document = {
        **SCHEME,
        "products": [
            {**SCHEME["products"][0], "name": "Renamed package"},
            {**SCHEME["products"][0], "code": "EXTRA", "name": "Extra package"},
        ],
        "subsidy_programmes": [*SCHEME.get("subsidy_programmes", []), *_programme(SCHEME)],
        "providers": [
            {**SCHEME["providers"][0], "tariffs": {"OPD": "2500"}},
            *SCHEME["providers"][1:],
            {**SCHEME["providers"][0], "code": "NEW", "name": "Poste de santé", "tariffs": {"OPD": "1500"}},
        ],
    }

    load_scheme(session, document, today=date(2024, 6, 1))
    session.commit()

    products = events(session, "product")
    assert ("rename", {"name": SCHEME["products"][0]["name"]}, {"name": "Renamed package"}) in products
    assert any(action == "create" and after["code"] == "EXTRA" for action, _before, after in products)
    assert any(a == "create" and after["code"] == "P-NEW" for a, _b, after in events(session, "subsidy_programme"))
    providers = events(session, "provider")
    assert any(action == "create" and after["code"] == "NEW" for action, _before, after in providers)
    tariffs = [(before, after) for action, before, after in providers if action == "tariffs"]
    assert tariffs, "a changed tariff is audited"
    before, after = tariffs[-1]
    assert after["OPD"] == "2500" and before.get("OPD") != "2500"  # the value before the change, not after


def _programme(scheme: dict) -> list[dict]:
    """One more subsidy programme, shaped like the document's own (or a minimal one)."""
    existing = scheme.get("subsidy_programmes") or []
    if existing:
        return [{**existing[0], "code": "P-NEW"}]
    return [
        {
            "code": "P-NEW",
            "funder": "Etat",
            "categories": ["indigent"],
            "share": "0.5",
            "valid_from": "2024-01-01",
            "valid_to": None,
        }
    ]
