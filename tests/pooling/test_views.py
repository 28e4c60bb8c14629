"""Pool screens: drafts and closing by POST, every number per scheme, triggering claims by reference only,
PDF/JSON/CSV, the stress test, and who may see them."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from mhi.pooling.models import PoolSettlement
from tests.factories import login, make_user
from tests.pages import has_inline_script, without_tokens
from tests.pooling.test_services import POOL
from tests.reports import builders

PERIOD = {"date_from": "2025-01-01", "date_to": "2025-06-30"}


@pytest.fixture
def setup(app, session):
    federation = builders.make_federation(session, "UMT", pool=POOL)
    scheme = builders.build_hand_scheme(session, "MUT-A", federation="UMT")
    builders.build_hand_scheme(session, "MUT-B", federation="UMT")
    # A diagnosis on the triggering claim must never reach a pool page.
    claim = session.scalar(
        select(builders.Claim).where(builders.Claim.scheme_id == scheme.id, builders.Claim.claim_ref == "C3")
    )
    claim.diagnosis_code = "O80"
    session.commit()
    return {
        "reviewer": make_user(session, "federation_reviewer", federation=federation),
        "manager": make_user(session, "scheme_manager", scheme=scheme),
    }


def _settlement(session) -> PoolSettlement:
    session.expire_all()
    return session.scalar(select(PoolSettlement))


def test_draft_then_close(client, session, setup):
    login(client, setup["reviewer"])
    assert client.get("/federations/UMT/pool").status_code == 200
    response = client.post("/federations/UMT/pool", data=PERIOD)
    assert response.status_code == 302
    settlement = _settlement(session)
    assert settlement.status == "draft"
    page = without_tokens(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "C3" in page and "O80" not in page and "H1-1" not in page
    assert "Close the settlement" in page
    base = f"/federations/UMT/pool/{settlement.id}"
    assert client.post(f"{base}/recompute").status_code == 302
    document = client.get(f"{base}.json").get_json()
    assert document["schemes"]["MUT-A"]["excess_of_loss_claim"] == "7000"
    assert "triggering_claims" not in document
    csv_text = client.get(f"{base}.csv").data.decode("utf-8-sig")
    assert csv_text.startswith("Scheme,contributions_earned,claims_incurred,pool_contribution")
    workbook = load_workbook(io.BytesIO(client.get(f"{base}.xlsx").data), read_only=True)
    assert next(workbook.active.iter_rows(min_row=2, max_row=2, values_only=True))[0] == "MUT-A"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(client.get(f"{base}.pdf").data)).pages)
    text = "".join(text.split()).replace(",", "").replace("\u202f", "")
    assert "C3" in text and "7000" in text and "O80" not in text
    asked = client.post(f"{base}/close")  # irreversible (issue 12): a page says so and asks first
    assert asked.status_code == 200 and _settlement(session).status == "draft"
    assert "This cannot be undone." in asked.get_data(as_text=True)
    assert 'name="confirmed" value="yes"' in asked.get_data(as_text=True)
    assert client.post(f"{base}/close", data={"confirmed": "yes"}).status_code == 302
    assert _settlement(session).status == "closed"
    page = client.get(base).get_data(as_text=True)
    assert "Close the settlement" not in page
    # Closing again is refused with a message; nothing changes.
    client.post(f"{base}/close", data={"confirmed": "yes"}, follow_redirects=True)
    assert _settlement(session).status == "closed"


def test_bad_period_reshows_the_form(client, setup):
    login(client, setup["reviewer"])
    response = client.post("/federations/UMT/pool", data={"date_from": "2025-06-30", "date_to": "2025-01-01"})
    assert response.status_code == 200
    assert "ends before it starts" in response.get_data(as_text=True)


def test_stress_page(client, setup):
    login(client, setup["reviewer"])
    assert client.get("/federations/UMT/pool/stress").status_code == 200
    response = client.get("/federations/UMT/pool/stress?date_from=2025-01-01&date_to=2025-06-30&years=1000&target=0.01")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "MUT-A" in page and page.count("<svg") >= 2 and not has_inline_script(page)


def test_access(client, session, setup):
    login(client, setup["manager"])
    assert client.get("/federations/UMT/pool").status_code == 403
    assert client.get("/federations/UMT/pool/stress").status_code == 403
    other = builders.make_federation(session, "OTHER", pool=POOL)
    session.commit()
    client.post("/logout")
    login(client, make_user(session, "federation_reviewer", federation=other))
    assert client.get("/federations/UMT/pool").status_code == 404
