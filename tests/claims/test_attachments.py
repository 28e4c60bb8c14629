"""A claim's attachments (issue 13): scanned bills and referral letters as PDF, JPEG or PNG, typed from their
bytes, within the size limit, stored under a generated name outside the web root, shown and downloadable only
to those who may read the claim, every upload and download audited; a bad file says why (in the user's
language) and writes nothing."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import func, select

from mhi.claims import services
from mhi.claims.attachments import AttachmentError, check_file, display_name
from mhi.claims.models import Claim, ClaimAttachment
from mhi.core.audit import AuditEvent
from mhi.core.storage import StoredFile, purge_expired
from mhi.schemes.models import Provider, Tariff
from tests.claims.claim_helpers import make_household
from tests.factories import login, make_scheme, make_user, records
from tests.trust.test_hostile_uploads import TRICKS


def image(kind: str) -> bytes:
    """A small scan as PNG or JPEG bytes."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 160)).save(out, format=kind)
    return out.getvalue()


def pdf() -> bytes:
    """A one-page PDF."""
    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(72, 720, "Facture 2025-0042")
    canvas.save()
    return out.getvalue()


@pytest.fixture
def world(app):
    """Scheme A with providers CS and HR, a claim of each; users of the roles that matter."""
    with records(app) as session:
        a = make_scheme(session, "MUT-A")
        providers = {}
        for code in ("CS", "HR"):
            provider = Provider(scheme_id=a.id, code=code, name=f"Centre {code}", contract_from=date(2024, 1, 1))
            session.add(provider)
            session.flush()
            session.add(Tariff(provider_id=provider.id, benefit_code="OPD", amount=Decimal(4000)))
            providers[code] = provider
        make_household(session, a, "H-1", [("A-1", "head")])
        session.commit()
        services.decide_and_store(
            session, a,
            [services.ClaimEntry(f"{code}-1", "A-1", code, "OPD", date(2025, 3, 1), date(2025, 3, 2), Decimal(1000))
             for code in ("CS", "HR")],
            source="form", actor=None, recorded_on=date(2025, 3, 2),
        )  # fmt: skip
        session.commit()
        users = {
            "officer": make_user(session, "claims_officer", scheme=a),
            "auditor": make_user(session, "auditor", scheme=a),
            "clerk": make_user(session, "clerk", scheme=a),
            "cs": make_user(session, "facility", provider=providers["CS"]),
            "hr": make_user(session, "facility", provider=providers["HR"]),
            "french": make_user(session, "claims_officer", scheme=a, locale="fr"),
        }
        claims = {c.claim_ref: c.id for c in session.scalars(select(Claim))}
    return {"users": users, "claims": claims}


def switch(client, user) -> None:
    """Sign out whoever is signed in, then sign in as ``user``."""
    client.post("/logout")
    login(client, user)


def upload(client, claim_id: int, data: bytes, name: str, kind: str = "bill"):
    """Post one file to a claim's attachments (following the redirect to the claim page)."""
    return client.post(
        f"/schemes/MUT-A/claims/{claim_id}/attachments",
        data={"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def counts(app) -> tuple[int, int]:
    """(attachments, stored files)."""
    with records(app) as session:
        return (
            session.scalar(select(func.count()).select_from(ClaimAttachment)),
            session.scalar(select(func.count()).select_from(StoredFile)),
        )


@pytest.mark.parametrize(
    "data, name, content_type",
    [(pdf(), "facture.pdf", "application/pdf"), (image("JPEG"), "scan.JPG", "image/jpeg"),
     (image("PNG"), "lettre.png", "image/png")],
)  # fmt: skip
def test_a_scan_is_attached_listed_downloaded_and_audited(app, client, world, data, name, content_type):
    login(client, world["users"]["officer"])
    claim_id = world["claims"]["CS-1"]
    page = upload(client, claim_id, data, name).get_data(as_text=True)
    assert "File attached to claim CS-1." in page and name in page
    with records(app) as session:
        item = session.scalar(select(ClaimAttachment))
        stored = session.get(StoredFile, item.file_id)
        assert (item.content_type, item.kind, item.size, item.display_name) == (content_type, "bill", len(data), name)
        # Stored under a generated name, kept (no expiry): the purge leaves it.
        assert stored.name.startswith("CS-1-1.") and name not in stored.name and stored.expires_at is None
        assert purge_expired(session) == 0
        attachment_id = item.id
    answer = client.get(f"/schemes/MUT-A/claims/{claim_id}/attachments/{attachment_id}")
    assert answer.status_code == 200 and answer.data == data and answer.mimetype == content_type
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    with records(app) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.entity == "claim", AuditEvent.entity_id == claim_id)
        ).all()
    assert actions.count("attachment_add") == 1 and actions.count("attachment_download") == 1


def test_the_bytes_go_to_the_shared_folder_under_the_token(app, client, world, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(tmp_path))
    login(client, world["users"]["officer"])
    data = image("PNG")
    upload(client, world["claims"]["CS-1"], data, "../../etc/passwd.png")
    with records(app) as session:
        item = session.scalar(select(ClaimAttachment))
        stored = session.get(StoredFile, item.file_id)
        assert item.display_name == "passwd.png" and stored.on_disk
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [stored.token] and files[0].read_bytes() == data
    assert client.get(f"/schemes/MUT-A/claims/{world['claims']['CS-1']}/attachments/{item.id}").data == data


def truncated_png() -> bytes:
    data = image("PNG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"", "vide.pdf", "The file is empty."),
        (image("PNG"), "facture.pdf", "is not what its name says: facture.pdf is not a PDF file"),
        (pdf(), "scan.png", "is not what its name says"),
        (image("JPEG"), "scan.png", "is not what its name says"),
        (b"MZ\x90\x00" + b"x" * 100, "facture.pdf", "is not what its name says"),
        (image("PNG"), "scan.exe", "Attach a PDF, JPEG or PNG file"),
        (image("PNG"), "scan", "Attach a PDF, JPEG or PNG file"),
        (truncated_png(), "scan.png", "damaged or incomplete"),
        (b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "cut.pdf", "damaged or incomplete"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "fake.png", "damaged or incomplete"),
    ],
)
def test_a_bad_file_says_why_and_writes_nothing(app, client, world, data, name, message):
    login(client, world["users"]["officer"])
    page = upload(client, world["claims"]["CS-1"], data, name).get_data(as_text=True)
    assert message in page
    assert counts(app) == (0, 0)


def test_a_file_above_the_limit_is_refused(app, client, world, monkeypatch):
    data = image("PNG")
    monkeypatch.setitem(app.config, "MHI_MAX_ATTACHMENT_BYTES", len(data) - 1)
    login(client, world["users"]["officer"])
    page = upload(client, world["claims"]["CS-1"], data, "scan.png").get_data(as_text=True)
    assert "The file is too large" in page and counts(app) == (0, 0)
    monkeypatch.setitem(app.config, "MHI_MAX_ATTACHMENT_BYTES", len(data))
    assert "File attached" in upload(client, world["claims"]["CS-1"], data, "scan.png").get_data(as_text=True)


def test_no_file_or_an_unknown_kind_is_refused(app, client, world):
    login(client, world["users"]["officer"])
    url = f"/schemes/MUT-A/claims/{world['claims']['CS-1']}/attachments"
    page = client.post(url, data={"kind": "bill"}, follow_redirects=True).get_data(as_text=True)
    assert "Choose the file to attach." in page
    page = upload(client, world["claims"]["CS-1"], image("PNG"), "scan.png", kind="x-ray").get_data(as_text=True)
    assert "flash-error" in page and counts(app) == (0, 0)


def test_the_refusal_is_in_the_users_language(app, client, world):
    login(client, world["users"]["french"])
    page = upload(client, world["claims"]["CS-1"], image("PNG"), "facture.pdf").get_data(as_text=True)
    assert "n’est pas ce que son nom annonce" in page or "n'est pas ce que son nom annonce" in page
    assert counts(app) == (0, 0)


def test_who_sees_and_downloads_attachments(app, client, world):
    login(client, world["users"]["cs"])
    upload(client, world["claims"]["CS-1"], image("PNG"), "facture.png")
    with records(app) as session:
        attachment_id = session.scalar(select(ClaimAttachment.id))
    url = f"/schemes/MUT-A/claims/{world['claims']['CS-1']}/attachments/{attachment_id}"
    # The desk that sent it, an auditor and a claims officer read it.
    for role in ("cs", "auditor", "officer"):
        switch(client, world["users"][role])
        assert client.get(url).status_code == 200, role
        assert "facture.png" in client.get(f"/schemes/MUT-A/claims/{world['claims']['CS-1']}").get_data(as_text=True)
    # A clerk holds no claims permission; another facility's desk does not see the claim at all.
    switch(client, world["users"]["clerk"])
    assert client.get(url).status_code == 403
    switch(client, world["users"]["hr"])
    assert client.get(url).status_code == 404
    # An attachment asked for through another claim's address is not found.
    switch(client, world["users"]["officer"])
    assert (
        client.get(url.replace(f"claims/{world['claims']['CS-1']}", f"claims/{world['claims']['HR-1']}")).status_code
        == 404
    )


def test_an_auditor_may_not_attach(app, client, world):
    login(client, world["users"]["auditor"])
    url = f"/schemes/MUT-A/claims/{world['claims']['CS-1']}/attachments"
    assert client.post(url, data={"kind": "bill", "file": (io.BytesIO(image("PNG")), "x.png")}).status_code == 403
    assert counts(app) == (0, 0)


def test_display_names_are_cleaned():
    assert display_name("C:\\scans\\facture.pdf") == "facture.pdf"
    assert display_name("a\x00b\u202ec.pdf") == "abc.pdf"
    assert display_name("") == "—"
    assert len(display_name("x" * 500 + ".pdf")) == 120


def test_check_file_reads_the_bytes_not_the_name():
    assert check_file("a.jpeg", image("JPEG"), 10**6) == "image/jpeg"
    with pytest.raises(AttachmentError):
        check_file("a.jpeg", image("PNG"), 10**6)


@pytest.mark.parametrize("trick", TRICKS)
def test_a_name_with_path_tricks_is_only_display_text(app, client, world, tmp_path, monkeypatch, trick):
    monkeypatch.setitem(app.config, "STORAGE_DIR", str(tmp_path / "files"))
    login(client, world["users"]["officer"])
    name = re.sub(r"\.csv$", ".png", trick) if trick.endswith(".csv") else trick + ".png"
    upload(client, world["claims"]["CS-1"], image("PNG"), name)
    with records(app) as session:
        item = session.scalar(select(ClaimAttachment))
        stored = session.get(StoredFile, item.file_id)
        assert "/" not in item.display_name and "\\" not in item.display_name and "\x00" not in item.display_name
        assert stored.name == "CS-1-1.png"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path / "files").parts for p in written] == [(stored.token[:2], stored.token)]
