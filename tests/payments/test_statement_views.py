"""The statement's web upload (preview, confirm) and the reconciliation screen."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.payments.models import StatementLine
from tests.factories import login, make_user
from tests.payments.helpers import statement_scheme
from tests.payments.test_statements import STATEMENT


def upload(client, code: str, text: str, name: str = "statement.csv"):
    return client.post(
        f"/schemes/{code}/imports/statement",
        data={"file": (io.BytesIO(text.encode("utf-8")), name)},
        content_type="multipart/form-data",
    )


def test_upload_preview_confirm_and_reconcile(session, client):
    scheme, households = statement_scheme(session)
    login(client, make_user(session, "clerk", scheme))
    preview = upload(client, scheme.code, STATEMENT)
    assert preview.status_code == 200
    assert b"3 matched, 1 unmatched, 1 ambiguous, 0 already imported" in preview.data
    assert session.scalar(select(func.count()).select_from(StatementLine)) == 0  # a preview writes nothing
    token = re.search(rb'name="token" type="hidden" value="([0-9a-f]{32})"', preview.data).group(1).decode()
    done = client.post(f"/schemes/{scheme.code}/imports/statement/confirm", data={"token": token})
    assert done.status_code == 302 and done.location.endswith(f"/schemes/{scheme.code}/statement-lines")
    waiting = client.get(done.location)
    assert b"OM-2" in waiting.data and b"OM-3" in waiting.data and b"W-1" not in waiting.data
    line = session.scalar(select(StatementLine).where(StatementLine.transaction_id == "OM-3"))
    # Search by name, phone or reference; the line's own reference is searched first.
    page = client.get(f"/schemes/{scheme.code}/statement-lines/{line.id}?q=H-002")
    assert b"Assign to H-002" in page.data
    assigned = client.post(
        f"/schemes/{scheme.code}/statement-lines/{line.id}/assign", data={"household_id": households["H-002"].id}
    )
    assert assigned.status_code == 302
    receipt = session.scalar(select(Receipt).where(Receipt.transaction_id == "OM-3"))
    assert receipt.household_id == households["H-002"].id
    slip = client.get(f"/schemes/{scheme.code}/receipts/{receipt.id}/slip.pdf")
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    # Assigning again is refused with a message; nothing more is written.
    again = client.post(
        f"/schemes/{scheme.code}/statement-lines/{line.id}/assign",
        data={"household_id": households["H-001"].id},
        follow_redirects=True,
    )
    assert b"already decided" in again.data
    assert session.scalar(select(func.count()).where(Receipt.transaction_id == "OM-3")) == 1


def test_dismiss_needs_a_note(session, client):
    scheme, _ = statement_scheme(session)
    login(client, make_user(session, "scheme_manager", scheme))
    token = re.search(rb'value="([0-9a-f]{32})"', upload(client, scheme.code, STATEMENT).data).group(1).decode()
    client.post(f"/schemes/{scheme.code}/imports/statement/confirm", data={"token": token})
    line = session.scalar(select(StatementLine).where(StatementLine.transaction_id == "OM-3"))
    url = f"/schemes/{scheme.code}/statement-lines/{line.id}/dismiss"
    refused = client.post(url, data={"note": ""}, follow_redirects=True)
    assert b"Say why" in refused.data
    assert client.post(url, data={"note": "school fees, not ours"}).status_code == 302
    session.refresh(line)
    assert (line.status, line.note) == ("not_ours", "school fees, not ours")


def test_bad_statement_shows_its_problems_and_no_confirm(session, client):
    scheme, _ = statement_scheme(session)
    login(client, make_user(session, "clerk", scheme))
    page = upload(client, scheme.code, "transaction_id,operator,date,amount\nA-1,paypal,2025-01-12,5\n")
    assert b"unknown operator" in page.data and b'name="token"' not in page.data


def test_auditor_reads_lines_but_cannot_import_or_assign(session, client):
    scheme, _ = statement_scheme(session)
    login(client, make_user(session, "auditor", scheme))
    assert client.get(f"/schemes/{scheme.code}/statement-lines").status_code == 200
    assert client.get(f"/schemes/{scheme.code}/imports/statement").status_code == 403
    assert client.post(f"/schemes/{scheme.code}/statement-lines/1/assign").status_code == 403
