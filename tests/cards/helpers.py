"""Building blocks of the printing tests: a household with accented (and markup-looking) names, photos, receipts,
claims, and reading a PDF's text back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf
from PIL import Image, ImageDraw

from mhi.claims.models import Claim
from mhi.contributions.services import record_receipt, refresh_households
from mhi.members.models import Household, Person
from mhi.schemes.models import Product, Scheme

#: (first name, last name, sex, date of birth, relationship): accents, a hyphen and a name that looks like HTML.
FAMILY = (
    ("Aïssatou", "Lô", "F", date(1985, 3, 14), "head"),
    ("François", "Ndiaye-Sène", "M", date(1980, 7, 1), "spouse"),
    ("<b>x</b>", "Diop", "M", date(2012, 12, 31), "child"),
)


def identity(text: str) -> str:
    """The gettext of an untranslated interface."""
    return text


def photo(colour: tuple[int, int, int] = (200, 220, 240), fmt: str = "JPEG") -> bytes:
    """A small portrait-shaped picture."""
    image = Image.new("RGB", (120, 150), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((30, 20, 90, 90), fill=(230, 200, 170))
    draw.rectangle((20, 95, 100, 150), fill=(60, 60, 120))
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def make_household(
    session,
    scheme: Scheme,
    ref: str,
    *,
    members=FAMILY,
    first_no: int = 1,
    enrolment: date = date(2024, 1, 1),
    village: str = "Ndiagane",
    language: str = "",
    category: str = "standard",
    photos: bool = False,
    prefix: str = "M",
) -> Household:
    """A household of ``members`` (head first) numbered ``<prefix>-<n>`` from ``first_no``; committed."""
    product = session.query(Product).filter_by(scheme_id=scheme.id).order_by(Product.id).first()
    household = Household(
        scheme_id=scheme.id,
        ref=ref,
        product_id=product.id,
        category=category,
        village=village,
        language=language,
        enrolment_date=enrolment,
    )
    session.add(household)
    session.flush()
    for offset, (first, last, sex, born, relation) in enumerate(members):
        session.add(
            Person(
                scheme_id=scheme.id,
                household_id=household.id,
                member_no=f"{prefix}-{first_no + offset:05d}",
                first_name=first,
                last_name=last,
                sex=sex,
                date_of_birth=born,
                relation=relation,
                enrolment_date=enrolment,
                village=village,
                photo=photo() if photos else None,
            )
        )
    session.flush()
    refresh_households(session, scheme, [household.id])
    session.commit()
    return household


def pay(session, household: Household, day: date, amount: str, *, number: str, collector: str = "Awa Faye"):
    """A receipt recorded through the contributions service (coverage refreshed); committed."""
    receipt = record_receipt(
        session,
        household,
        receipt_no=number,
        date=day,
        amount=Decimal(amount),
        method="mobile_money",
        collector=collector,
    )
    session.commit()
    return receipt


def claim(session, person: Person, ref: str, day: date, claimed: str, approved: str, status: str) -> Claim:
    """A decided claim of ``person``; committed."""
    item = Claim(
        scheme_id=person.scheme_id,
        claim_ref=ref,
        member_no=person.member_no,
        person_id=person.id,
        provider_code="CS-1",
        benefit_code="OPD",
        date_of_service=day,
        date_submitted=day,
        recorded_on=day,
        amount_claimed=Decimal(claimed),
        amount_approved=Decimal(approved),
        status=status,
    )
    session.add(item)
    session.commit()
    return item


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, Babel's no-break spaces made plain so tests can search it."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def page_count(data: bytes) -> int:
    """How many pages a PDF has."""
    return len(pypdf.PdfReader(io.BytesIO(data)).pages)
