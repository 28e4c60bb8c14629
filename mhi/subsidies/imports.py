"""subsidy_receipts.csv (data-formats.md): money received from subsidy funders, validated as a whole, added in
bulk. ``reference`` is unique in the scheme, ``programme_code`` one of the scheme's programmes, ``amount`` > 0.
"Import behaviour": a stored reference with identical values is ``unchanged``, with other values a ``conflict``.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.tabular import PREVIEW_ROWS, ImportResult, check_columns, conflict, parse_rows, stored_rows
from mhi.core.validation import Problem
from mhi.schemes.models import SubsidyProgramme
from mhi.subsidies.models import SubsidyReceipt

REQUIRED = ("reference", "programme_code", "date", "amount")
COMPARED = ("programme_code", "date", "amount")


def import_subsidy_receipts(
    session, scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> ImportResult:
    """Import subsidy_receipts.csv rows into ``scheme``; nothing is written when any row is bad or ``dry_run``."""
    result = ImportResult("subsidy-receipts")
    result.problems = check_columns(header, REQUIRED, (), file)
    if result.problems:
        return result
    readers = {
        "reference": lambda x: v.ref(x, "reference"),
        "programme_code": lambda x: v.code(x, "programme code"),
        "date": v.day,
        "amount": lambda x: v.amount(x, scheme.currency, positive=True),
    }
    problems = result.problems
    parsed = parse_rows(header, rows, readers, required=REQUIRED, key="reference", problems=problems, file=file)
    programmes = dict(
        session.execute(
            select(SubsidyProgramme.code, SubsidyProgramme.id).where(SubsidyProgramme.scheme_id == scheme.id)
        ).all()
    )
    stored = {
        row.reference: row._asdict()
        for row in stored_rows(
            session,
            select(
                SubsidyReceipt.reference,
                SubsidyProgramme.code.label("programme_code"),
                SubsidyReceipt.date,
                SubsidyReceipt.amount,
            )
            .join(SubsidyProgramme, SubsidyProgramme.id == SubsidyReceipt.programme_id)
            .where(SubsidyReceipt.scheme_id == scheme.id),
            SubsidyReceipt.reference,
            [values["reference"] for _, values in parsed],
        )
    }
    to_add: list[dict] = []
    for number, values in parsed:
        existing = stored.get(values["reference"])
        if existing is not None:
            difference = conflict(values["reference"], existing, values, COMPARED)
            if difference is None:
                result.unchanged += 1
            else:
                problems.append(Problem(difference[1], row=number, column=difference[0], file=file))
            continue
        if values["programme_code"] not in programmes:
            problems.append(
                Problem(
                    f"{values['programme_code']} is not a subsidy programme of this scheme",
                    row=number,
                    column="programme_code",
                    file=file,
                )
            )
            continue
        to_add.append(values)
    if problems:
        return result
    result.added = len(to_add)
    result.preview = to_add[:PREVIEW_ROWS]
    if dry_run or not to_add:
        return result
    session.execute(
        insert(SubsidyReceipt),
        [
            {
                "scheme_id": scheme.id,
                "programme_id": programmes[values["programme_code"]],
                "reference": values["reference"],
                "date": values["date"],
                "amount": values["amount"],
                "reason": "",
                "created_by_id": getattr(actor, "id", None),
            }
            for values in to_add
        ],
    )
    record(
        session,
        actor=actor,
        entity="import",
        entity_id=None,
        scheme_id=scheme.id,
        action="subsidy_receipts",
        after={"file": file, "added": result.added, "unchanged": result.unchanged},
    )
    result.written = True
    return result
