"""Operators' statements (data-formats.md, statement.csv; cli.md ``import statement``): read, match, reconcile.

Reading: statement.csv's own columns, or an operator's own export read through the column mapping saved for that
operator (``mhi/schemes/operators.py``): its column names, ``;`` or tab separators, decimal commas when the
operator's settings say so. The whole file is checked before anything is written; one bad line writes nothing.

Matching, in data-formats.md's order: the line's reference is a household_ref or member_no of the scheme, else its
payer_phone is the phone of exactly one household; two or more candidates leave it ``ambiguous``, none
``unmatched`` — a waiting line never becomes a receipt on its own. A matched line becomes a receipt with the
operator's method, its operator and transaction id. A line whose (operator, transaction id) is stored already
counts as ``already`` and writes nothing; a transaction a clerk typed by hand already pays its receipt, so its
line is stored as matched to that receipt and counts as ``already`` too. Services flush, never commit.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from mhi.contributions.models import Receipt
from mhi.contributions.services import (
    N_,
    TRANSACTION_ID,
    ContributionError,
    receipt_numbers,
    record_receipt,
    refresh_households,
)
from mhi.core import clock
from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import UserError
from mhi.core.tabular import (
    PREVIEW_ROWS,
    ImportResult,
    Table,
    bulk_insert,
    check_columns,
    chunked,
    import_event,
    parse_rows,
    read_table,
)
from mhi.core.validation import FieldError, InputRejected, Problem
from mhi.members.models import WITH_PHONE, Household, Person
from mhi.members.services import phone_key
from mhi.payments.models import WAITING, GroupPayment, StatementLine
from mhi.schemes.models import Scheme
from mhi.schemes.operators import Operator, scheme_operators

REQUIRED = ("transaction_id", "operator", "date", "amount")
OPTIONAL = ("payer_phone", "reference")
#: The columns an operator's mapping must name for its own files to be read.
MAPPED_REQUIRED = ("transaction_id", "date", "amount")


@dataclass
class StatementResult(ImportResult):
    """An import's result with cli.md's counts: matched (new receipts), unmatched, ambiguous, already.

    ``added`` is the number of new lines (what the upload preview offers to write), ``unchanged`` = ``already``.
    """

    matched: int = 0
    unmatched: int = 0
    ambiguous: int = 0
    operator: str | None = None  # the operator whose own columns were read, when not statement.csv's
    receipt_ids: list[int] = field(default_factory=list)

    @property
    def already(self) -> int:
        """Lines stored before (or paying a receipt typed by hand): nothing new."""
        return self.unchanged

    def counts(self) -> dict[str, int]:
        """cli.md's JSON document."""
        return {
            "matched": self.matched,
            "unmatched": self.unmatched,
            "ambiguous": self.ambiguous,
            "already": self.already,
        }

    def summary(self) -> str:
        """The command's summary line."""
        return (
            f"statement: {self.matched} matched, {self.unmatched} unmatched, {self.ambiguous} ambiguous, "
            f"{self.already} already"
        )


class StatementError(UserError):
    """A reconciliation step that cannot be done: an English template marked for translation, its parameters
    and the form field it concerns (the view translates ``message`` with ``params``)."""


# -- reading ---------------------------------------------------------------------------------------------------


def read_statement(data: bytes, name: str) -> Table:
    """The statement file as a Table: XLSX, or CSV separated by commas, semicolons or tabs (the header row says
    which). Raises InputRejected when the file cannot be read."""
    if name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return read_table(data, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return read_table(data, name)  # its own message: not UTF-8
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    if delimiter == "," or not first.count(delimiter):
        return read_table(data, name)
    # An operator's ";" or tab export, rewritten as the comma CSV every import reads (quotes kept right).
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise InputRejected([Problem(N_("is not valid CSV (%(exc)s)"), file=name, params={"exc": exc})]) from exc
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return read_table(buffer.getvalue().encode("utf-8"), name)


def _columns(
    result: StatementResult, header: list[str], rows: list, operators: list[Operator], file: str | None
) -> tuple[list[str], list] | None:
    """(header, rows) in statement.csv's columns: the file's own when they are statement.csv's, else through the
    one operator whose saved mapping names columns all present in the file. None (problems in ``result``)."""
    fits = [
        o
        for o in operators
        if o.active and o.column_map and all(o.column_map.get(c) in header for c in MAPPED_REQUIRED)
    ]
    if set(REQUIRED) <= set(header) or not fits:
        result.problems = check_columns(header, REQUIRED, OPTIONAL, file)
        if result.problems and not set(REQUIRED) & set(header):
            result.problems.append(
                Problem(
                    N_(
                        "these are not statement.csv's columns, nor the saved column names of any operator of the scheme (set them on the operator's page)"
                    ),
                    file=file,
                )
            )
        return None if result.problems else (header, rows)
    if len(fits) > 1:
        codes = ", ".join(o.code for o in fits)
        result.problems = [
            Problem(
                N_("the columns fit several operators (%(codes)s): give each mapping a column the others lack"),
                file=file,
                params={"codes": codes},
            )
        ]
        return None
    operator = fits[0]
    result.operator = operator.code
    position = {header.index(theirs): ours for ours, theirs in operator.column_map.items() if theirs in header}
    mapped_header = [*position.values(), "operator"]
    mapped_rows = [
        [*(row[i] for i in position), operator.code] if any(row) else [None] * len(mapped_header) for row in rows
    ]
    return mapped_header, mapped_rows


def _text(limit: int):
    """A reader of optional free text of at most ``limit`` characters."""

    def read(value):
        text = (value or "").strip()
        if len(text) > limit:
            raise FieldError(N_("is longer than %(limit)s characters"), limit=limit)
        return text

    return read


def _transaction(value) -> str:
    """An operator's transaction id."""
    text = (value or "").strip()
    if not TRANSACTION_ID.match(text):
        raise FieldError(
            N_("%(value)s is not a transaction id (letters, digits and . _ / : -, at most 64)"), value=repr(text[:70])
        )
    return text


def _amount(raw: str, operator: Operator, currency: str):
    """The line's amount: a decimal comma only when the operator's settings accept it; spaces as thousands."""
    text = raw.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in text:
        if not operator.decimal_comma:
            raise FieldError(
                N_(
                    "%(raw)s has a decimal comma: the settings of operator %(code)s do not accept it (tick “decimal comma” on its operator page, or write 1500.50)"
                ),
                raw=raw,
                code=operator.code,
            )
        if "." in text:
            raise FieldError(N_("%(raw)s mixes a decimal comma with a point: write 1500,50"), raw=raw)
        text = text.replace(",", ".")
    return v.amount(text, currency, positive=True)


def parse_statement(session, scheme: Scheme, header, rows, result: StatementResult, file: str | None) -> list[dict]:
    """The statement's lines as typed values; every problem (file, row, column, reason) goes to ``result``."""
    operators = scheme_operators(session, scheme)
    mapped = _columns(result, list(header), list(rows), operators, file)
    if mapped is None:
        return []
    header, rows = mapped
    by_code = {o.code: o for o in operators}

    def operator_code(value):
        code = (value or "").strip()
        known = by_code.get(code)
        if known is None:
            names = ", ".join(o.code for o in operators if o.active)
            raise FieldError(
                N_("unknown operator %(code)s (this scheme's operators: %(names)s)"), code=repr(code), names=names
            )
        if not known.active:
            raise FieldError(N_("operator %(code)s is no longer in use"), code=code)
        return code

    readers = {
        "transaction_id": _transaction,
        "operator": operator_code,
        "date": v.day,
        "amount": lambda x: (x or "").strip(),
        "payer_phone": _text(40),
        "reference": _text(40),
    }
    # The natural key is the pair (operator, transaction id), checked below: "" names no column.
    parsed = parse_rows(header, rows, readers, required=REQUIRED, key="", problems=result.problems, file=file)
    lines = []
    first_row: dict[tuple[str, str], int] = {}
    for number, values in parsed:
        pair = (values["operator"], values["transaction_id"])
        if pair in first_row:
            result.problems.append(
                Problem(
                    N_("transaction %(value)s of %(value2)s already appears in row %(value3)s"),
                    row=number,
                    column="transaction_id",
                    file=file,
                    params={"value": pair[1], "value2": pair[0], "value3": first_row[pair]},
                )
            )
            continue
        first_row[pair] = number
        try:
            values["amount"] = _amount(values["amount"], by_code[values["operator"]], scheme.currency)
        except FieldError as exc:
            result.problems.append(Problem.of(exc, row=number, column="amount", file=file))
            continue
        lines.append({**values, "row": number})
    return lines


# -- matching --------------------------------------------------------------------------------------------------


def _stored_lines(session, scheme: Scheme, lines: list[dict]) -> dict[tuple[str, str], StatementLine]:
    """The scheme's stored lines with the file's transaction ids, by (operator, transaction id)."""
    found = {}
    for chunk in chunked(sorted({line["transaction_id"] for line in lines})):
        for row in session.scalars(
            select(StatementLine).where(StatementLine.scheme_id == scheme.id, StatementLine.transaction_id.in_(chunk))
        ):
            found[(row.operator, row.transaction_id)] = row
    return found


def _typed_receipts(session, scheme: Scheme, lines: list[dict]) -> dict[tuple[str, str], tuple[int, int]]:
    """Receipts already carrying one of the file's transactions: (operator, tx) → (receipt id, household id)."""
    found = {}
    for chunk in chunked(sorted({line["transaction_id"] for line in lines})):
        for rid, hid, operator, tx in session.execute(
            select(Receipt.id, Receipt.household_id, Receipt.operator, Receipt.transaction_id).where(
                Receipt.scheme_id == scheme.id, Receipt.transaction_id.in_(chunk)
            )
        ):
            found[(operator, tx)] = (rid, hid)
    return found


def _group_transactions(session, scheme: Scheme, lines: list[dict]) -> set[tuple[str, str]]:
    """(operator, transaction id) pairs of the file that a group payment already carries."""
    found = set()
    for chunk in chunked(sorted({line["transaction_id"] for line in lines})):
        found.update(
            session.execute(
                select(GroupPayment.operator, GroupPayment.transaction_id).where(
                    GroupPayment.scheme_id == scheme.id, GroupPayment.transaction_id.in_(chunk)
                )
            ).all()
        )
    return {tuple(pair) for pair in found}


def _candidates(session, scheme: Scheme, lines: list[dict]) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Households by reference (household_ref or member_no) and by phone key, for the lines' values."""
    by_ref: dict[str, set[int]] = defaultdict(set)
    refs = sorted({line["reference"] for line in lines if line["reference"]})
    for chunk in chunked(refs):
        for ref, hid in session.execute(
            select(Household.ref, Household.id).where(Household.scheme_id == scheme.id, Household.ref.in_(chunk))
        ):
            by_ref[ref].add(hid)
        for member_no, hid in session.execute(
            select(Person.member_no, Person.household_id).where(
                Person.scheme_id == scheme.id, Person.member_no.in_(chunk)
            )
        ):
            by_ref[member_no].add(hid)
    by_phone: dict[str, set[int]] = defaultdict(set)
    keys = sorted({phone_key(line["payer_phone"]) for line in lines if phone_key(line["payer_phone"])})
    for chunk in chunked(keys):
        for key, hid in session.execute(
            select(Person.phone_key, Person.household_id).where(
                Person.scheme_id == scheme.id, WITH_PHONE, Person.phone_key.in_(chunk)
            )
        ):
            by_phone[key].add(hid)
    return by_ref, by_phone


def match_line(line: dict, by_ref: dict[str, set[int]], by_phone: dict[str, set[int]]) -> tuple[str, set[int]]:
    """(status, candidate households) of one line: the reference first, then the phone (data-formats.md)."""
    for candidates in (by_ref.get(line["reference"]) or set(), by_phone.get(phone_key(line["payer_phone"])) or set()):
        if len(candidates) == 1:
            return "matched", candidates
        if candidates:
            return "ambiguous", candidates
    return "unmatched", set()


# -- importing -------------------------------------------------------------------------------------------------


def import_statement(
    session, scheme: Scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> StatementResult:
    """Import an operator's statement into ``scheme``: new lines stored, matched ones made receipts (once);
    nothing is written when any line is bad or ``dry_run``."""
    result = StatementResult("statement")
    lines = parse_statement(session, scheme, header, rows, result, file)
    if result.problems:
        return result
    stored = _stored_lines(session, scheme, lines)
    typed = _typed_receipts(session, scheme, lines)
    grouped = _group_transactions(session, scheme, lines)
    new = []
    for line in lines:
        pair = (line["operator"], line["transaction_id"])
        if pair in grouped:
            result.unchanged += 1  # a group's payment, already split into its households' receipts
            continue
        before = stored.get(pair)
        if before is not None:
            if (before.date, before.amount) != (line["date"], line["amount"]):
                result.problems.append(
                    Problem(
                        N_(
                            "conflict: transaction %(value)s of %(value2)s is stored with date %(date)s and amount %(amount)s, the file says %(date2)s and %(amount2)s"
                        ),
                        row=line["row"],
                        column="amount",
                        file=file,
                        params={
                            "value": pair[1],
                            "value2": pair[0],
                            "date": before.date.isoformat(),
                            "amount": before.amount,
                            "date2": line["date"].isoformat(),
                            "amount2": line["amount"],
                        },
                    )
                )
            else:
                result.unchanged += 1
            continue
        new.append(line)
    if result.problems:
        return result
    by_ref, by_phone = _candidates(session, scheme, new)
    found = sorted({h for group in (*by_ref.values(), *by_phone.values()) for h in group})
    refs = {}
    for chunk in chunked(found):
        refs.update(session.execute(select(Household.id, Household.ref).where(Household.id.in_(chunk))).all())
    for line in new:
        pair = (line["operator"], line["transaction_id"])
        if pair in typed:
            line["status"], line["receipt_id"], line["household_id"] = "matched", *typed[pair]
            line["candidates"] = 1
            result.unchanged += 1
            continue
        status, candidates = match_line(line, by_ref, by_phone)
        line["status"], line["candidates"], line["receipt_id"] = status, len(candidates), None
        line["household_id"] = next(iter(candidates)) if status == "matched" else None
        setattr(result, status, getattr(result, status) + 1)
    result.added = len(new)
    result.preview = [
        {
            "transaction_id": line["transaction_id"],
            "operator": line["operator"],
            "date": line["date"],
            "amount": line["amount"],
            "payer_phone": line["payer_phone"],
            "reference": line["reference"],
            "status": line["status"] if line["receipt_id"] is None else "already",
            "household": refs.get(line["household_id"], ""),
        }
        for line in new[:PREVIEW_ROWS]
    ]
    if dry_run or not new:
        return result
    _write(session, scheme, new, result, actor=actor, file=file)
    result.written = True
    return result


def _write(session, scheme: Scheme, new: list[dict], result: StatementResult, *, actor, file: str | None) -> None:
    """Insert the matched lines' receipts, then every new line; refresh the paying households once."""
    methods = {o.code: o.method for o in scheme_operators(session, scheme)}
    actor_id = getattr(actor, "id", None)
    paying = [line for line in new if line["status"] == "matched" and line["receipt_id"] is None]
    # Numbers from the scheme's receipt counter (core/numbering.py): distinct even while a clerk saves one.
    numbers = receipt_numbers(session, scheme.id, [line["date"] for line in paying])
    ids = bulk_insert(
        session,
        Receipt.__table__,
        [
            {
                "scheme_id": scheme.id,
                "household_id": line["household_id"],
                "receipt_no": number,
                "date": line["date"],
                "amount": line["amount"],
                "method": methods[line["operator"]],
                "collector": "",
                "operator": line["operator"],
                "transaction_id": line["transaction_id"],
                "reason": "",
                "created_by_id": actor_id,
            }
            for line, number in zip(paying, numbers, strict=True)
        ],
        return_ids=True,
    )
    for line, receipt_id in zip(paying, ids or [], strict=True):
        line["receipt_id"] = receipt_id
    result.receipt_ids = list(ids or [])
    bulk_insert(
        session,
        StatementLine.__table__,
        [
            {
                "scheme_id": scheme.id,
                "operator": line["operator"],
                "transaction_id": line["transaction_id"],
                "date": line["date"],
                "amount": line["amount"],
                "payer_phone": line["payer_phone"],
                "reference": line["reference"],
                "status": line["status"],
                "candidates": line["candidates"],
                "household_id": line["household_id"],
                "receipt_id": line["receipt_id"],
                "file": (file or "")[:200],
                "note": "",
                "imported_by_id": actor_id,
            }
            for line in new
        ],
    )
    record(
        session,
        **import_event(
            scheme,
            result,
            actor=actor,
            action="statement",
            file=file,
            **result.counts(),
            total=sum(line["amount"] for line in paying),
        ),
    )
    if paying:
        refresh_households(session, scheme, sorted({line["household_id"] for line in paying}))


# -- reconciling -----------------------------------------------------------------------------------------------


def _waiting(session, line: StatementLine) -> StatementLine:
    """The line, locked on PostgreSQL so two clerks cannot decide it at once; StatementError if decided."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(StatementLine.id).where(StatementLine.id == line.id).with_for_update()).all()
        session.refresh(line)
    if line.status not in WAITING:
        raise StatementError(N_("This line is already decided (%(status)s)."), status=line.status)
    return line


def assign_line(session, line: StatementLine, household: Household, *, actor=None) -> Receipt:
    """A clerk says whose payment a waiting line is: it becomes that household's receipt (audited)."""
    _waiting(session, line)
    if household.scheme_id != line.scheme_id:
        raise StatementError(N_("That household is not in this scheme."), "household_id")
    try:
        receipt = record_receipt(
            session,
            household,
            date=line.date,
            amount=line.amount,
            method="cash",  # the operator's own method replaces it (check_payment_source)
            operator=line.operator,
            transaction_id=line.transaction_id,
            actor=actor,
        )
    except ContributionError as exc:
        raise StatementError(exc.message, "household_id", **exc.params) from exc
    before = {"status": line.status}
    line.status, line.household_id, line.receipt_id = "assigned", household.id, receipt.id
    _decided(session, line, actor, before, {"household": household.ref, "receipt_no": receipt.receipt_no})
    return receipt


def dismiss_line(session, line: StatementLine, *, note: str, actor=None) -> StatementLine:
    """A clerk marks a waiting line as not the scheme's money (with why): it never becomes a receipt."""
    _waiting(session, line)
    note = (note or "").strip()
    if not note:
        raise StatementError(N_("Say why this payment is not the scheme's."), "note")
    before = {"status": line.status}
    line.status, line.note = "not_ours", note[:500]
    _decided(session, line, actor, before, {"note": line.note})
    return line


def _decided(session, line: StatementLine, actor, before: dict, after: dict) -> None:
    """Stamp and audit a clerk's decision on a line."""
    line.decided_by_id = getattr(actor, "id", None)
    line.decided_at = clock.stored_now()
    session.flush()
    record(
        session,
        actor=actor,
        entity="statement_line",
        entity_id=line.id,
        scheme_id=line.scheme_id,
        action=line.status,
        before=before,
        after={"operator": line.operator, "transaction_id": line.transaction_id, "status": line.status, **after},
    )
