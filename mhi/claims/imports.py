"""claims.csv: reading, validating the whole file, and deciding each new claim on import (data-formats.md
"claims.csv" and "Import behaviour", adjudication.md).

A file error is a row the importer cannot read (a missing required value, a date that is not a date, an amount
that is not a positive number — 0 allowed for cash benefits —, a claim_ref repeated in the file, an unknown
column, or a claim_ref already stored with other values); one rejects the whole file and nothing is written.
Unknown members, benefits and providers are not file errors: those claims are decided, and rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from sqlalchemy import select

from mhi.claims.models import Claim, ClaimDecision, ClaimLine
from mhi.claims.rules import CASH, PAYING_STATUSES
from mhi.claims.services import IN_LIMIT, ClaimEntry, decide_and_store, scheme_benefit_kinds
from mhi.contributions.services import ANALYZE_ROWS, analyze
from mhi.core import clock
from mhi.core import validation as v
from mhi.core.errors import N_
from mhi.core.tabular import Cell, ImportResult, check_columns, read_table, records
from mhi.core.validation import FieldError, InputRejected, Problem

COLUMNS = (
    "claim_ref",
    "member_no",
    "provider_code",
    "benefit_code",
    "date_of_service",
    "date_submitted",
    "amount_claimed",
    "paid_on",
    "diagnosis_code",
    "guarantee_ref",
)
REQUIRED = ("claim_ref", "member_no", "benefit_code", "date_of_service", "date_submitted", "amount_claimed")
#: Column widths of the claim table, so a value that would not fit is a file error and not a database error.
MAX_LENGTH = {"diagnosis_code": 10}


@dataclass
class ClaimsImportResult(ImportResult):
    """An import's result, with the paid_on dates ignored on claims decided REJECTED (adjudication.md: the
    import says so in its summary)."""

    paid_on_ignored: int = 0

    def summary(self) -> str:
        """cli.md's summary line, and the paid_on dates ignored when there were any."""
        line = f"{self.kind}: {self.added} added, {self.unchanged} unchanged"
        if self.paid_on_ignored:
            line += f" ({self.paid_on_ignored} paid_on ignored on rejected claims)"
        return line


class _RowReader:
    """Reads the cells of one row, recording each problem with its row and column."""

    def __init__(self, raw: dict, number: int, file: str, problems: list[Problem]):
        """``problems`` collects this row's problems."""
        self.raw, self.number, self.file, self.problems = raw, number, file, problems

    def __call__(self, column: str, reader, required: bool):
        """One cell through ``reader``; on a problem it is recorded and None returned."""
        value = self.raw.get(column) or ""
        if not value:
            if required:
                self.problems.append(Problem(N_("a value is required"), row=self.number, column=column, file=self.file))
            return None
        try:
            return reader(value)
        except FieldError as exc:
            self.problems.append(Problem.of(exc, row=self.number, column=column, file=self.file))
            return None


#: ICD-10 as data-formats.md names it: a letter, two digits, then optionally a dot and 1 to 4 more letters or
#: digits (``O80``, ``J06.9``, ``S72.001``); the dot may be left out (``J069``). docs/decisions.md.
ICD10_RE = re.compile(r"^[A-Z][0-9]{2}(\.?[0-9A-Z]{1,4})?$")
#: Bill lines one claim may carry unless the configuration says otherwise (MHI_MAX_CLAIM_LINES).
MAX_LINES = 200


def _diagnosis(value: str) -> str:
    """An ICD-10 code (letters upper-cased), within the column's width."""
    code = value.strip().upper()
    if len(code) > MAX_LENGTH["diagnosis_code"] or not ICD10_RE.match(code):
        raise FieldError(
            N_(
                "%(value)s is not an ICD-10 code (a letter, two digits, then optionally a dot and 1 to 4 more letters or digits, e.g. J06.9)"
            ),
            value=repr(value[:20]),
        )
    return code


def parse_rows(
    rows, *, currency: str, benefit_kinds: dict[str, str], file: str, ref_required: bool = True
) -> tuple[list[tuple[int, ClaimEntry]], list[Problem]]:
    """Read every row into a ``ClaimEntry``, collecting each problem with its row and column (without
    ``ref_required`` a missing claim_ref is read as "", for the caller to number the claim)."""
    entries: list[tuple[int, ClaimEntry]] = []
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for number, raw in rows:
        row_problems: list[Problem] = []
        read = _RowReader(raw, number, file, row_problems)
        claim_ref = read("claim_ref", lambda x: v.ref(x, "claim_ref"), ref_required)
        # Malformed references and codes cannot be read; well-formed unknown ones are decided (rejected).
        member_no = read("member_no", lambda x: v.ref(x, "member_no"), True)
        provider_code = read("provider_code", lambda x: v.code(x, "provider code"), False)
        benefit_code = read("benefit_code", lambda x: v.code(x, "benefit code"), True)
        service = read("date_of_service", v.day, True)
        submitted = read("date_submitted", v.day, True)
        paid_on = read("paid_on", v.day, False)
        diagnosis = read("diagnosis_code", _diagnosis, False)
        guarantee = read("guarantee_ref", lambda x: v.ref(x, "guarantee_ref"), False)
        amount = read("amount_claimed", lambda x: v.amount(x, currency), True)
        if amount is not None and amount == 0 and benefit_kinds.get(benefit_code) not in (CASH, None):
            # adjudication.md: 0 is allowed for cash benefits only; an unknown benefit code is a decision.
            row_problems.append(
                Problem(
                    N_("0 is not a positive amount (only a cash benefit may claim 0)"),
                    row=number,
                    column="amount_claimed",
                    file=file,
                )
            )
        if claim_ref is not None:
            if claim_ref in first_row:
                row_problems.append(
                    Problem(
                        N_("%(claim_ref)s is already on row %(value)s of this file"),
                        row=number,
                        column="claim_ref",
                        file=file,
                        params={"claim_ref": claim_ref, "value": first_row[claim_ref]},
                    )
                )
            else:
                first_row[claim_ref] = number
        if row_problems:
            problems.extend(row_problems)
            continue
        entries.append(
            (
                number,
                ClaimEntry(
                    claim_ref=claim_ref or "",
                    member_no=member_no,
                    provider_code=provider_code,
                    benefit_code=benefit_code,
                    date_of_service=service,
                    date_submitted=submitted,
                    amount_claimed=amount,
                    paid_on=paid_on,
                    diagnosis_code=diagnosis or "",
                    guarantee_ref=guarantee or "",
                ),
            )
        )
    return entries, problems


def _differences(stored, entry: ClaimEntry) -> list[str]:
    """The fields where a stored claim differs from the file's row (an import's natural-key conflict).

    A paid_on ignored on a rejected claim is not a difference, nor a blank paid_on in the file for a claim
    paid since (a payment batch): re-running the same file stays safe (data-formats.md "Import behaviour").
    """
    differences = []
    pairs = (
        ("member_no", stored.member_no, entry.member_no),
        ("provider_code", stored.provider_code or "", entry.provider_code or ""),
        ("benefit_code", stored.benefit_code, entry.benefit_code),
        ("date_of_service", stored.date_of_service, entry.date_of_service),
        ("date_submitted", stored.date_submitted, entry.date_submitted),
        ("amount_claimed", stored.amount_claimed, entry.amount_claimed),
        ("diagnosis_code", stored.diagnosis_code or "", entry.diagnosis_code or ""),
        ("guarantee_ref", stored.guarantee_ref or "", entry.guarantee_ref or ""),
    )
    for column, old, new in pairs:
        if old != new:
            differences.append(f"{column} stored {old or '(blank)'}, file {new or '(blank)'}")
    if stored.status in PAYING_STATUSES and entry.paid_on is not None and stored.paid_on != entry.paid_on:
        differences.append(f"paid_on stored {stored.paid_on or '(blank)'}, file {entry.paid_on}")
    return differences


def _stored_claims(session, scheme, refs: set[str]) -> dict[str, object]:
    """The claims already stored under these claim_refs.

    A small file asks for its refs; a large one first reads the scheme's claim_refs alone (one narrow query)
    and fetches the full rows only of those it shares, in slices that stay within the databases' limits on
    bind parameters.
    """
    columns = (
        Claim.claim_ref,
        Claim.member_no,
        Claim.provider_code,
        Claim.benefit_code,
        Claim.date_of_service,
        Claim.date_submitted,
        Claim.amount_claimed,
        Claim.diagnosis_code,
        Claim.guarantee_ref,
        Claim.status,
        Claim.paid_on,
    )
    if len(refs) > IN_LIMIT:
        taken = set(session.scalars(select(Claim.claim_ref).where(Claim.scheme_id == scheme.id)))
        refs = refs & taken
    found: dict[str, object] = {}
    wanted = sorted(refs)
    for start in range(0, len(wanted), IN_LIMIT):
        query = select(*columns).where(
            Claim.scheme_id == scheme.id, Claim.claim_ref.in_(wanted[start : start + IN_LIMIT])
        )
        found.update((row.claim_ref, row) for row in session.execute(query))
    return found


def import_claims(
    session,
    scheme,
    header: list[str],
    rows: list[list[Cell]],
    *,
    dry_run: bool = False,
    actor=None,
    file: str = "claims.csv",
    recorded_on: date | None = None,
) -> ClaimsImportResult:
    """Validate a whole claims file, then decide and store its new claims; nothing is written on any problem.

    A claim_ref already stored with identical values is ``unchanged``; with other values it is a ``conflict``
    problem. The claims are decided as recorded on ``recorded_on`` (today by default: the import day,
    adjudication.md check 5). With ``dry_run`` the caller rolls the transaction back
    (``tabular.run_import_command``).
    """
    result = ClaimsImportResult("claims")
    result.problems = check_columns(header, REQUIRED, [c for c in COLUMNS if c not in REQUIRED], file=file)
    if result.problems:
        return result
    entries, problems = parse_rows(
        records(header, rows), currency=scheme.currency, benefit_kinds=scheme_benefit_kinds(session, scheme), file=file
    )
    stored = _stored_claims(session, scheme, {entry.claim_ref for _, entry in entries})
    new_entries: list[ClaimEntry] = []
    for number, entry in entries:
        existing = stored.get(entry.claim_ref)
        if existing is None:
            new_entries.append(entry)
            continue
        differences = _differences(existing, entry)
        if differences:
            problems.append(
                Problem(
                    N_("conflict: %(claim_ref)s is already stored with other values (%(values)s)"),
                    row=number,
                    column="claim_ref",
                    file=file,
                    params={"claim_ref": entry.claim_ref, "values": "; ".join(differences)},
                )
            )
        else:
            result.unchanged += 1
    if problems:
        result.problems = sorted(problems, key=lambda p: p.row or 0)
        result.unchanged = 0
        return result
    result.added = len(new_entries)
    if new_entries:
        stored_claims = decide_and_store(
            session,
            scheme,
            new_entries,
            source="import",
            actor=actor,
            recorded_on=recorded_on or clock.today(),
        )
        result.paid_on_ignored = stored_claims.paid_on_ignored
        if len(new_entries) >= ANALYZE_ROWS:
            # A bulk load: refresh the planner's statistics (PostgreSQL may run without autovacuum).
            analyze(session, Claim.__table__, ClaimLine.__table__, ClaimDecision.__table__)
    result.written = not dry_run
    return result


def import_claims_file(session, scheme, path: str | Path, **options) -> ClaimsImportResult:
    """``import_claims`` on a CSV or XLSX file on disk (tests, the benchmark); raises ``InputRejected`` on a
    file that cannot be read or has problems."""
    table = read_table(path)
    result = import_claims(session, scheme, table.header, table.rows, file=Path(path).name, **options)
    if result.problems:
        raise InputRejected(result.problems)
    return result


def read_entry(
    session,
    scheme,
    data: dict,
    lines: list[tuple[str, str]] | None = None,
    *,
    ref_required: bool = True,
    max_lines: int = MAX_LINES,
) -> ClaimEntry:
    """One claim typed in a form or sent to the API, read by the same rules as a claims.csv row (without
    ``ref_required``, a claim sent without claim_ref has "" for the caller to number it). More than
    ``max_lines`` bill lines are refused before any is read.

    ``data`` maps column names to values (text, or exact decimals from JSON); ``lines`` are the bill's lines
    (label, amount), summed into amount_claimed when given. Raises ``InputRejected`` with a problem per field.
    """
    problems: list[Problem] = []
    if lines is not None and len(lines) > max_lines:
        raise InputRejected(
            [
                Problem(
                    N_("a claim has at most %(max_lines)s bill lines; this one has %(count)s"),
                    column="lines",
                    params={"max_lines": max_lines, "count": len(lines)},
                )
            ]
        )
    cells = {column: (None if data.get(column) in (None, "") else str(data[column]).strip()) for column in COLUMNS}
    bill: list[tuple[str, object]] = []
    for position, (label, amount_text) in enumerate(lines or [], start=1):
        read = _RowReader({"label": label, "amount": amount_text}, position, None, problems)
        label_text = read("label", lambda x: x if len(x) <= 120 else _too_long(x, 120), True)
        amount = read("amount", lambda x: v.amount(x, scheme.currency, positive=True), True)
        if label_text is not None and amount is not None:
            bill.append((label_text, amount))
    if lines:
        total = sum((amount for _, amount in bill), v.amount("0"))
        if cells["amount_claimed"] is not None and v.amount(cells["amount_claimed"]) != total:
            problems.append(Problem(N_("is not the sum of the bill's lines"), column="amount_claimed"))
        cells["amount_claimed"] = str(total)
    elif cells["amount_claimed"] is None:
        cells["amount_claimed"] = "0"  # no bill: only a cash benefit is accepted (parse_rows says so otherwise)
    entries, row_problems = parse_rows(
        [(1, cells)],
        currency=scheme.currency,
        benefit_kinds=scheme_benefit_kinds(session, scheme),
        file=None,
        ref_required=ref_required,
    )
    problems.extend(Problem(p.message, column=p.column, params=p.params) for p in row_problems)
    if problems:
        raise InputRejected(problems)
    entry = entries[0][1]
    if bill:
        entry = replace(entry, lines=tuple(bill))
    return entry


def _too_long(value: str, limit: int) -> str:
    """Refuse a text longer than ``limit``."""
    raise FieldError(N_("is longer than %(limit)s characters"), limit=limit)
