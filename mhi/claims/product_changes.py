"""Moving a household to another product from a date (issue 12; docs/decisions.md "Product changes"): the service
behind the household page's form, and product_changes.csv (the data-formats extension) behind ``flask import
product-changes`` and the web upload.

Here in claims because the one rule that protects money already decided needs the claims: a change dated on or
before the service date of a decided claim of the household is refused (it would change what that claim was
decided on). The other checks: a reason (on screen), a known product with an active version, another product than
the one in force on the day, not before enrolment, after the household's latest product change, not in a closed
pool period, and on a period start of the household's grid (a change never cuts a period). A change is written,
audited with before/after, and the household's coverage, arrears, strike-off and stored ledgers are recomputed in
the same transaction (``refresh_households``). Services flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from mhi.claims.models import Claim
from mhi.contributions.rules import period_boundaries
from mhi.contributions.services import inputs_with_product_changes, refresh_households
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.db import one_of
from mhi.core.errors import N_
from mhi.core.tabular import PREVIEW_ROWS, ImportResult, bulk_insert, check_columns, import_event, stored_rows
from mhi.core.validation import FieldError, InputRejected, Problem
from mhi.members.imports import dated_rows
from mhi.members.models import Household, Person, ProductChange
from mhi.members.products import product_on
from mhi.members.services import text
from mhi.schemes.models import Product, ProductVersion, Scheme
from mhi.schemes.versions import VersionError, check_rules_date

COLUMNS = ("household_ref", "from_date", "product_code", "reason")


class ProductChangeError(InputRejected):
    """A product change refused: ``problems`` name the field (or the file's row) and say what to do instead."""


def stored_changes(session, household_ids) -> dict[int, list[tuple[date, int]]]:
    """(from_date, product id) of the stored product changes of these households, in date order: one query."""
    changes: dict[int, list[tuple[date, int]]] = defaultdict(list)
    ids = sorted(set(household_ids))
    if ids:
        for household_id, day, product_id in session.execute(
            select(ProductChange.household_id, ProductChange.from_date, ProductChange.product_id)
            .where(one_of(session, ProductChange.household_id, ids))
            .order_by(ProductChange.household_id, ProductChange.from_date)
        ):
            changes[household_id].append((day, product_id))
    return changes


def _last_decided_claims(session, household_ids) -> dict[int, date]:
    """The latest service date of a decided claim of each household (every stored claim carries its decision,
    REJECTED included: a decision of 0 is money decided too): one aggregate query."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Person.household_id, func.max(Claim.date_of_service))
        .join(Person, Claim.person_id == Person.id)
        .where(Person.household_id.in_(ids))
        .group_by(Person.household_id)
    )
    return {household_id: day for household_id, day in rows if day is not None}


def _products(session, scheme: Scheme, codes) -> dict[str, tuple[int, bool]]:
    """The scheme's products with these codes: code → (id, has an active version). One query."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    active = select(ProductVersion.id).where(ProductVersion.product_id == Product.id, ProductVersion.status == "active")
    rows = session.execute(
        select(Product.code, Product.id, active.exists()).where(
            Product.scheme_id == scheme.id, Product.code.in_(wanted)
        )
    )
    return {code: (pid, bool(has)) for code, pid, has in rows}


def _closed_problem(session, scheme: Scheme, day: date, **where) -> Problem | None:
    """The closed pool period refusal of a change on ``day`` (rules cannot change there: schemes/versions.py)."""
    try:
        check_rules_date(session, scheme, day)
    except VersionError as exc:
        return Problem(exc.message, params=exc.params, **where)
    return None


def _check_rows(session, scheme: Scheme, rows: list[dict], *, file: str | None = None) -> list[Problem]:
    """Every problem of the product changes ``rows`` (dicts with household (a Household row or row-like with id,
    ref, product_id, enrolment_date), from_date, product_id, product_code and row number or None), checked
    together: a fixed number of queries whatever the number of rows. Empty list: they can be written."""
    problems: list[Problem] = []
    if not rows:
        return problems
    household_ids = {r["household"].id for r in rows}
    stored = stored_changes(session, household_ids)
    decided = _last_decided_claims(session, household_ids)
    codes = {
        pid: code
        for code, pid in session.execute(select(Product.code, Product.id).where(Product.scheme_id == scheme.id))
    }
    by_household: dict[int, list[dict]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r["household"].id, r["from_date"])):
        by_household[r["household"].id].append(r)
    extra = {hid: [(r["from_date"], r["product_id"]) for r in items] for hid, items in by_household.items()}
    inputs, _ = inputs_with_product_changes(session, scheme, extra)
    closed_checked: dict[date, Problem | None] = {}

    def at(r, column, message, **params) -> None:
        problems.append(Problem(message, row=r.get("row"), column=column, file=file, params=params))

    for hid, items in by_household.items():
        household = items[0]["household"]
        dated = list(stored.get(hid, []))
        for r in items:
            day = r["from_date"]
            if day < household.enrolment_date:
                at(r, "from_date", N_("is before the household's enrolment on %(enrolment_date)s"),
                   enrolment_date=household.enrolment_date.isoformat())  # fmt: skip
                continue
            if dated and day <= dated[-1][0]:
                at(r, "from_date",
                   N_("product changes are added in date order: household %(household_ref)s already changes product "
                      "on %(day)s — choose a later date"),
                   household_ref=household.ref, day=dated[-1][0].isoformat())  # fmt: skip
                continue
            current = product_on(household.product_id, dated, day)
            if current == r["product_id"]:
                at(r, "product_code", N_("household %(household_ref)s already has product %(product)s on %(day)s"),
                   household_ref=household.ref, product=r["product_code"], day=day.isoformat())  # fmt: skip
                continue
            if day not in closed_checked:
                closed_checked[day] = _closed_problem(session, scheme, day, row=r.get("row"), column="from_date",
                                                      file=file)  # fmt: skip
            if closed_checked[day] is not None:
                problems.append(closed_checked[day])
                continue
            last = decided.get(hid)
            if last is not None and last >= day:
                # The grid without this change: the day suggested is a period start as things stand.
                _, following = period_boundaries(inputs[hid], last, changes_before=day)
                at(r, "from_date",
                   N_("household %(household_ref)s has claims already decided for care on or after %(day)s (the last "
                      "on %(last)s): a product change cannot alter them — choose %(next)s or a later period start, "
                      "or correct those claims first"),
                   household_ref=household.ref, day=day.isoformat(), last=last.isoformat(),
                   next=following.isoformat())  # fmt: skip
                continue
            start, following = period_boundaries(inputs[hid], day)
            if start != day:
                at(r, "from_date",
                   N_("%(day)s is not the start of a contribution period of household %(household_ref)s: a product "
                      "changes on a period start, here %(before)s or %(after)s"),
                   day=day.isoformat(), household_ref=household.ref, before=start.isoformat(),
                   after=following.isoformat())  # fmt: skip
                continue
            r["before"] = codes.get(current, "")
            dated.append((day, r["product_id"]))
    return problems


def check_product_change(session, household: Household, *, product, from_date, reason: str) -> dict:
    """Every check of ``change_product`` without writing: the change as it would be written (household,
    from_date, product_id, product_code, reason, before = the product code it replaces), or ProductChangeError.
    The household page's confirmation step shows it before anything is written."""
    scheme = session.get(Scheme, household.scheme_id)
    problems: list[Problem] = []
    code = str(product or "").strip()
    day = None
    try:
        day = v.day(from_date)
    except FieldError as exc:
        problems.append(Problem.of(exc, column="from_date"))
    try:
        reason = text(reason, 500)
    except FieldError as exc:
        problems.append(Problem.of(exc, column="reason"))
    known = _products(session, scheme, [code]).get(code)
    if known is None:
        problems.append(Problem(N_("%(product)s is not a product of this scheme"), column="product",
                                params={"product": code}))  # fmt: skip
    elif not known[1]:
        problems.append(Problem(N_("product %(product)s has no active version"), column="product",
                                params={"product": code}))  # fmt: skip
    if problems:
        raise ProductChangeError(problems)
    row = {"household": household, "from_date": day, "product_id": known[0], "product_code": code, "reason": reason}
    problems = _check_rows(session, scheme, [row])
    if problems:
        raise ProductChangeError(problems)
    return row


def change_product(session, household: Household, *, product, from_date, reason: str, actor=None) -> ProductChange:
    """Move ``household`` to the product with code ``product`` from ``from_date`` on: the periods starting on or
    after it are due at that product's amount, claims for care on or after it follow its benefits (docs/decisions.md
    "Product changes"). Refused (``ProductChangeError`` naming the field) without a reason, for an unknown product,
    the product already in force, a day before enrolment or not after the latest change, in a closed pool period,
    on a day that is not a period start, or on or before the care of a decided claim. Audited with before/after;
    the household's derived rows are recomputed in the same transaction. Flushes only."""
    row = check_product_change(session, household, product=product, from_date=from_date, reason=reason)
    scheme = session.get(Scheme, household.scheme_id)
    day, code, reason = row["from_date"], row["product_code"], row["reason"]
    change = ProductChange(
        scheme_id=scheme.id,
        household_id=household.id,
        from_date=day,
        product_id=row["product_id"],
        reason=reason,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(change)
    session.flush()
    record(
        session,
        actor=actor,
        entity="household",
        entity_id=household.id,
        scheme_id=scheme.id,
        action="product",
        before={"household_ref": household.ref, "product": row["before"], "from_date": day},
        after={"household_ref": household.ref, "product": code, "from_date": day, "reason": reason},
    )
    refresh_households(session, scheme, [household.id])
    return change


def import_product_changes(
    session, scheme, header, rows, *, dry_run: bool = False, actor=None, file: str | None = "product_changes.csv"
) -> ImportResult:
    """Import product_changes.csv (docs/decisions.md "Product changes"): each row moves a household to a product
    from ``from_date`` on, with the same checks as the household page's form.

    Natural key (household_ref, from_date): a stored pair with the same product is ``unchanged``, with another a
    ``conflict``. Any problem names its row and nothing is written; otherwise the changes are written, audited
    once, and the households' derived rows recomputed in the same transaction.
    """
    result = ImportResult("product-changes")
    result.problems = check_columns(header, ("household_ref", "from_date", "product_code"), ("reason",), file)
    if result.problems:
        return result
    readers = {
        "household_ref": lambda x: v.ref(x, "household_ref"),
        "from_date": v.day,
        "product_code": lambda x: v.code(x, "product_code"),
        "reason": lambda x: text(x, 500, required=False),
    }
    problems = result.problems
    parsed = dated_rows(header, rows, readers, problems, optional="reason", file=file)
    households = {
        row.ref: row
        for row in stored_rows(
            session,
            select(Household.ref, Household.id, Household.enrolment_date, Household.product_id).where(
                Household.scheme_id == scheme.id
            ),
            Household.ref,
            sorted({values["household_ref"] for _, values in parsed}),
        )
    }
    products = _products(session, scheme, [values["product_code"] for _, values in parsed])
    stored = stored_changes(session, [h.id for h in households.values()])
    candidates: list[dict] = []
    for number, values in parsed:
        household = households.get(values["household_ref"])
        if household is None:
            problems.append(
                Problem(
                    N_("%(household_ref)s is not a household of this scheme"),
                    row=number,
                    column="household_ref",
                    file=file,
                    params={"household_ref": values["household_ref"]},
                )  # fmt: skip
            )
            continue
        known = products.get(values["product_code"])
        if known is None:
            problems.append(
                Problem(
                    N_("%(product)s is not a product of this scheme"),
                    row=number,
                    column="product_code",
                    file=file,
                    params={"product": values["product_code"]},
                )  # fmt: skip
            )
            continue
        if not known[1]:
            problems.append(
                Problem(
                    N_("product %(product)s has no active version"),
                    row=number,
                    column="product_code",
                    file=file,
                    params={"product": values["product_code"]},
                )  # fmt: skip
            )
            continue
        existing = dict(stored.get(household.id, [])).get(values["from_date"])
        if existing is not None:
            if existing == known[0]:
                result.unchanged += 1
            else:
                problems.append(
                    Problem(
                        N_(
                            "conflict: %(household_ref)s from %(from_date)s is stored with another product than "
                            "%(product)s"
                        ),
                        row=number,
                        column="product_code",
                        file=file,
                        params={
                            "household_ref": values["household_ref"],
                            "from_date": values["from_date"].isoformat(),
                            "product": values["product_code"],
                        },
                    )  # fmt: skip
                )
            continue
        candidates.append({**values, "row": number, "household": household, "product_id": known[0]})
    if problems:
        return result
    problems.extend(_check_rows(session, scheme, candidates, file=file))
    if problems:
        return result
    result.added = len(candidates)
    result.preview = [
        {"household_ref": r["household_ref"], "from_date": r["from_date"], "product_code": r["product_code"]}
        for r in candidates[:PREVIEW_ROWS]
    ]
    if dry_run or not candidates:
        return result
    bulk_insert(
        session,
        ProductChange.__table__,
        [
            {
                "scheme_id": scheme.id,
                "household_id": r["household"].id,
                "from_date": r["from_date"],
                "product_id": r["product_id"],
                "reason": r["reason"],
                "created_by_id": getattr(actor, "id", None),
            }
            for r in candidates
        ],
    )
    record(session, **import_event(scheme, result, actor=actor, action="product-changes", file=file))
    result.touched = sorted({r["household"].id for r in candidates})
    result.written = True
    refresh_households(session, scheme, result.touched)
    return result
