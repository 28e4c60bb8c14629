"""A claim's attachments (issue 13): scanned bills and referral letters, as PDF, JPEG or PNG.

What a file is, is read from its bytes, never from its name: the first bytes must be a PDF's (``%PDF-``), a
JPEG's (``FF D8 FF``) or a PNG's (``89 50 4E 47 0D 0A 1A 0A``), the name's extension must say the same type,
and the file must parse as that type (an image opens and verifies with Pillow; a PDF ends with ``%%EOF``).
Empty files and files above ``MHI_MAX_ATTACHMENT_BYTES`` (5 MB by default) are refused. A refused file writes
nothing. Accepted bytes go to the shared storage (``mhi.core.storage``, outside the web root) under a random
token; the name the sender gave is kept only as cleaned display text.

Each upload and each download writes an audit row (who saw a patient's papers is part of the record).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings

from sqlalchemy import func, select

from mhi.claims.messages import N_
from mhi.claims.models import Claim, ClaimAttachment
from mhi.core.audit import record
from mhi.core.storage import StoredFile, put_file, read_file
from mhi.core.tabular import size_text

KINDS = ("bill", "referral", "other")
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
PURPOSE = "attachment"

#: type → (content type, file extensions the name may have, magic bytes at the start).
TYPES = {
    "pdf": ("application/pdf", (".pdf",), b"%PDF-"),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg"), b"\xff\xd8\xff"),
    "png": ("image/png", (".png",), b"\x89PNG\r\n\x1a\n"),
}
EXTENSION = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
#: A PDF's end-of-file marker must be in its last bytes (PDF 1.7, 7.5.5; some writers add a little after it).
PDF_TAIL = 1024
DISPLAY_LENGTH = 120


class AttachmentError(ValueError):
    """A refused attachment: ``message`` is an English message id (translated where shown) with ``params``."""

    def __init__(self, message: str, **params):
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params


def sniff(data: bytes) -> str | None:
    """The type the bytes start as (pdf, jpeg, png), or None."""
    for kind, (_content_type, _extensions, magic) in TYPES.items():
        if data.startswith(magic):
            return kind
    return None


def _extension_type(name: str) -> str | None:
    """The type the name's extension claims, or None for any other extension."""
    lowered = name.lower().rstrip()
    for kind, (_content_type, extensions, _magic) in TYPES.items():
        if lowered.endswith(extensions):
            return kind
    return None


def parses(kind: str, data: bytes) -> bool:
    """True when ``data`` is a whole file of type ``kind``: an image Pillow opens and verifies (of the format its
    magic says), a PDF with its end-of-file marker."""
    if kind == "pdf":
        return b"%%EOF" in data[-PDF_TAIL:]
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                expected = "JPEG" if kind == "jpeg" else "PNG"
                if image.format != expected:
                    return False
                image.verify()
    except Exception:  # noqa: BLE001 — Pillow raises many kinds for a broken file; each one means "refuse"
        return False
    return True


def display_name(name: str) -> str:
    """The sender's file name as safe display text: no folders, no control characters, at most 120 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[-DISPLAY_LENGTH:] or "—"


def check_file(name: str, data: bytes, max_bytes: int) -> str:
    """The content type of an acceptable file; AttachmentError otherwise (nothing is written)."""
    if not data:
        raise AttachmentError(N_("The file is empty."))
    if len(data) > max_bytes:
        raise AttachmentError(N_("The file is too large: the limit is %(limit)s."), limit=size_text(max_bytes))
    claimed = _extension_type(name)
    if claimed is None:
        raise AttachmentError(N_("Attach a PDF, JPEG or PNG file (.pdf, .jpg, .jpeg or .png)."))
    actual = sniff(data)
    if actual != claimed:
        raise AttachmentError(
            N_("The file is not what its name says: %(name)s is not a %(type)s file."),
            name=display_name(name),
            type=claimed.upper(),
        )
    if not parses(actual, data):
        raise AttachmentError(
            N_("The file is damaged or incomplete: it cannot be read as %(type)s."), type=actual.upper()
        )
    return TYPES[actual][0]


def add_attachment(
    session, claim: Claim, *, kind: str, name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, actor
) -> ClaimAttachment:
    """Attach a checked file to ``claim`` (at any time: before or after its decision or payment — a paper never
    changes a decision); audited. Flushes; raises AttachmentError before writing anything."""
    return _attach(
        session, owner=claim, entity="claim", ref=claim.claim_ref, kind=kind, name=name, data=data,
        max_bytes=max_bytes, actor=actor,
    )  # fmt: skip


def add_draft_attachment(
    session, draft, *, kind: str, name: str, data: bytes, max_bytes: int = DEFAULT_MAX_BYTES, actor
) -> ClaimAttachment:
    """Attach a checked file to an open draft: it follows the claim when the draft is submitted; audited."""
    if draft.state != "draft":
        raise AttachmentError(N_("This draft is no longer open: attach the file to its claim."))
    return _attach(
        session, owner=draft, entity="claim_draft", ref=f"draft-{draft.id}", kind=kind, name=name, data=data,
        max_bytes=max_bytes, actor=actor,
    )  # fmt: skip


def _attach(session, *, owner, entity: str, ref: str, kind: str, name: str, data: bytes, max_bytes: int, actor):
    """Check and store the file, then its row on ``owner`` (a claim or a draft) and the audit row."""
    claim_id = owner.id if entity == "claim" else None
    draft_id = owner.id if entity == "claim_draft" else None
    column = ClaimAttachment.claim_id if claim_id is not None else ClaimAttachment.draft_id
    if kind not in KINDS:
        raise AttachmentError(N_("Choose what the file is: a bill, a referral letter or another paper."))
    content_type = check_file(name, data, max_bytes)
    stored = put_file(
        session, data, name="", purpose=PURPOSE, expires_in=None, scheme_id=owner.scheme_id,
        owner_id=getattr(actor, "id", None),
    )  # fmt: skip
    count = session.scalar(select(func.count()).select_from(ClaimAttachment).where(column == owner.id))
    # The download name is made here, never the sender's: the claim's reference (or the draft's) and a number.
    stored.name = f"{_safe(ref)}-{count + 1}.{EXTENSION[content_type]}"
    attachment = ClaimAttachment(
        claim_id=claim_id,
        draft_id=draft_id,
        scheme_id=owner.scheme_id,
        kind=kind,
        file_id=stored.id,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        display_name=display_name(name),
        uploaded_by_id=getattr(actor, "id", None),
    )
    session.add(attachment)
    session.flush()
    record(
        session, actor=actor, entity=entity, entity_id=owner.id, action="attachment_add", scheme_id=owner.scheme_id,
        after={"attachment": attachment.id, "kind": kind, "content_type": content_type, "size": len(data),
               "sha256": attachment.sha256, "name": attachment.display_name},
    )  # fmt: skip
    return attachment


def _safe(text: str) -> str:
    """Letters, digits, '-' and '_' only (a download name that no browser or shell reads as anything else)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)[:60] or "claim"


def attachments_of(session, claim: Claim) -> list[ClaimAttachment]:
    """The claim's attachments, oldest first."""
    return list(
        session.scalars(
            select(ClaimAttachment).where(ClaimAttachment.claim_id == claim.id).order_by(ClaimAttachment.id)
        )
    )


def draft_attachments_of(session, draft) -> list[ClaimAttachment]:
    """The draft's attachments, oldest first."""
    return list(
        session.scalars(
            select(ClaimAttachment).where(ClaimAttachment.draft_id == draft.id).order_by(ClaimAttachment.id)
        )
    )


def open_attachment(session, attachment: ClaimAttachment, *, actor) -> tuple[bytes, str]:
    """The attachment's bytes and download name; the download is audited (flushed, committed by the caller)."""
    stored = session.get(StoredFile, attachment.file_id)
    data = read_file(stored)
    record(
        session, actor=actor, entity="claim" if attachment.claim_id else "claim_draft",
        entity_id=attachment.claim_id or attachment.draft_id, action="attachment_download",
        scheme_id=attachment.scheme_id, after={"attachment": attachment.id},
    )  # fmt: skip
    return data, stored.name
