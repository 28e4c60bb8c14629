"""subsidy_receipts.csv (data-formats.md): money received from subsidy funders, validated as a whole, added in
bulk. ``reference`` is unique in the scheme, ``programme_code`` one of the scheme's programmes, ``amount`` > 0.
"Import behaviour": a stored reference with identical values is ``unchanged``, with other values a ``conflict``.
"""

from __future__ import annotations

from sqlalchemy import insert, select

from mhi.core import validation as v
from mhi.core.audit import record
from mhi.core.errors import N_
from mhi.core.tabular import PREVIEW_ROWS, ImportResult, import_event, new_rows, read_import_rows, stored_rows
from mhi.schemes.models import SubsidyProgramme
from mhi.subsidies.models import SubsidyReceipt

REQUIRED = ("reference", "programme_code", "date", "amount")
COMPARED = ("programme_code", "date", "amount")


def import_subsidy_receipts(
    session, scheme, header, rows, *, dry_run: bool, actor=None, file: str | None = None
) -> ImportResult:
    """Import subsidy_receipts.csv rows into ``scheme``; nothing is written when any row is bad or ``dry_run``."""
    result = ImportResult("subsidy-receipts")
    readers = {
        "reference": lambda x: v.ref(x, "reference"),
        "programme_code": lambda x: v.code(x, "programme code"),
        "date": v.day,
        "amount": lambda x: v.amount(x, scheme.currency, positive=True),
    }
    parsed = read_import_rows(result, header, rows, readers, required=REQUIRED, key="reference", file=file)
    if parsed is None:
        return result
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
    to_add = new_rows(
        result,
        parsed,
        stored,
        key="reference",
        compared=COMPARED,
        file=file,
        known=("programme_code", programmes, N_("%(value)s is not a subsidy programme of this scheme")),
    )
    if result.problems:
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
    record(session, **import_event(scheme, result, actor=actor, action="subsidy_receipts", file=file))
    result.written = True
    return result
