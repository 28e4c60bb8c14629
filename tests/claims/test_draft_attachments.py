"""Papers attached to a draft follow its claim at submission (issue 13: a desk enters a draft, attaches the bill,
submits); another desk's draft and its papers answer 404; a closed draft takes no more papers."""

from __future__ import annotations

import io

from sqlalchemy import select

from mhi.claims.models import Claim, ClaimAttachment, ClaimDraft
from mhi.core.audit import AuditEvent
from tests.claims.test_attachments import image, world  # noqa: F401 - the attachment tests' world (a fixture)
from tests.factories import login, records


def save_draft(client) -> int:
    answer = client.post(
        "/schemes/MUT-A/claims/new",
        data={
            "claim_ref": "CS-DRAFT", "member_no": "A-1", "benefit_code": "OPD", "provider_code": "CS",
            "date_of_service": "2025-03-05", "date_submitted": "2025-03-06",
            "lines-0-item": "Consultation", "lines-0-amount": "1500", "action": "save",
        },
    )  # fmt: skip
    assert answer.status_code == 302 and "/claims/drafts/" in answer.headers["Location"]
    return int(answer.headers["Location"].rstrip("/").split("/")[-1])


def attach(client, draft_id: int, data: bytes, name: str):
    return client.post(
        f"/schemes/MUT-A/claims/drafts/{draft_id}/attachments",
        data={"kind": "bill", "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_a_bill_attached_to_a_draft_follows_the_claim(app, client, world):  # noqa: F811
    login(client, world["users"]["cs"])  # the health centre's desk
    draft_id = save_draft(client)
    data = image("PNG")
    page = attach(client, draft_id, data, "facture.png").get_data(as_text=True)
    assert f"File attached to draft {draft_id}." in page and "facture.png" in page
    with records(app) as session:
        item = session.scalar(select(ClaimAttachment))
        assert (item.draft_id, item.claim_id) == (draft_id, None)
        attachment_id = item.id
    download = client.get(f"/schemes/MUT-A/claims/drafts/{draft_id}/attachments/{attachment_id}")
    assert download.status_code == 200 and download.data == data
    answer = client.post(f"/schemes/MUT-A/claims/drafts/{draft_id}/submit")
    assert answer.status_code == 302 and "/claims/drafts/" not in answer.headers["Location"]
    with records(app) as session:
        claim = session.scalar(select(Claim).where(Claim.claim_ref == "CS-DRAFT"))
        item = session.get(ClaimAttachment, attachment_id)
        assert item.claim_id == claim.id and item.draft_id == draft_id
        claim_id = claim.id
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "claim_draft", AuditEvent.entity_id == draft_id)
        ).all()
    assert actions.count("attachment_add") == 1 and actions.count("attachment_download") == 1
    page = client.get(f"/schemes/MUT-A/claims/{claim_id}").get_data(as_text=True)
    assert "facture.png" in page
    # A submitted draft takes no more papers: they go to the claim.
    refused = attach(client, draft_id, data, "second.png").get_data(as_text=True)
    assert "This draft is no longer open" in refused
    with records(app) as session:
        assert len(session.scalars(select(ClaimAttachment)).all()) == 1


def test_another_desk_cannot_see_or_attach_to_a_draft(app, client, world):  # noqa: F811
    login(client, world["users"]["cs"])
    draft_id = save_draft(client)
    attach(client, draft_id, image("PNG"), "facture.png")
    with records(app) as session:
        attachment_id = session.scalar(select(ClaimAttachment.id))
        assert session.get(ClaimDraft, draft_id).provider_code == "CS"
    client.post("/logout")
    login(client, world["users"]["hr"])
    assert client.get(f"/schemes/MUT-A/claims/drafts/{draft_id}").status_code == 404
    assert client.get(f"/schemes/MUT-A/claims/drafts/{draft_id}/attachments/{attachment_id}").status_code == 404
    assert attach(client, draft_id, image("PNG"), "x.png").status_code == 404
    with records(app) as session:
        assert len(session.scalars(select(ClaimAttachment)).all()) == 1


def test_a_bad_file_on_a_draft_writes_nothing(app, client, world):  # noqa: F811
    login(client, world["users"]["cs"])
    draft_id = save_draft(client)
    page = attach(client, draft_id, b"%PDF-1.4 not really", "facture.png").get_data(as_text=True)
    assert "is not what its name says" in page
    with records(app) as session:
        assert session.scalar(select(ClaimAttachment)) is None
