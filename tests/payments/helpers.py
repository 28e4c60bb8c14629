"""A scheme with four households for the statement tests: H-001 and H-002 with their own phones, H-003 and H-004
sharing one (a line from that phone is ambiguous)."""

from __future__ import annotations

from datetime import date

from mhi.members.services import enrol_household
from tests.factories import make_scheme
from tests.members.helpers import person

E = date(2025, 1, 10)
PHONES = {"H-001": "+221 77 100 00 01", "H-002": "77 100 00 02", "H-003": "771000033", "H-004": "+221771000033"}


def statement_scheme(session, code: str = "MUT-A"):
    """The scheme and its households by ref (member numbers H-001-01…)."""
    scheme = make_scheme(session, code)
    households = {}
    for ref, phone in PHONES.items():
        households[ref] = enrol_household(
            session,
            scheme,
            ref=ref,
            product_code="BASE",
            persons=[person("Awa", "head", E, last=f"Diop{ref[-1]}", phone=phone)],
        )
    session.commit()
    return scheme, households


def statement_csv(*lines: str) -> str:
    """statement.csv with its header."""
    return "transaction_id,operator,date,amount,payer_phone,reference\n" + "".join(line + "\n" for line in lines)
