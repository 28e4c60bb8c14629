"""Guarantee letters (adjudication.md "Guarantee letters"): issued on checks 1–4 and 7–11 with the refusal code,
reserved against the annual ceiling, used by the claim citing them, cancelled, expired — and the invariant:
approved claims plus open letters never pass ceiling_per_year."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.claims.letters import LetterError, LetterRequest, cancel_letter, issue_letter
from mhi.claims.models import Claim, GuaranteeLetter
from mhi.claims.services import PAYING_STATUSES, submit_claim
from mhi.core.audit import AuditEvent
from tests.claims.claim_helpers import entry, make_household, make_scheme
from tests.factories import login, make_user, records

D = Decimal
TODAY = date(2025, 3, 1)
CEILING = D(6000)  # OPD's ceiling_per_year in the test scheme


@pytest.fixture
def scheme(session):
    scheme = make_scheme(session)
    make_household(session, scheme, "H-1", [("M-1", "head"), ("M-2", "child")])
    make_household(session, scheme, "H-2", [("U-1", "head")], spans=[])  # never covered
    session.commit()
    return scheme


def issue(session, scheme, amount="3000", member="M-1", benefit="OPD", provider="HR", start="2025-03-01",
          end="2025-03-31"):  # fmt: skip
    return issue_letter(
        session, scheme, LetterRequest(member, benefit, provider, start, end, amount), actor=None, today=TODAY
    )


def claim(session, scheme, ref, amount="5000", letter="", service=date(2025, 3, 10), provider="HR", member="M-1"):
    """A claim typed on 2025-03-29 (the letters of March are still open that day)."""
    return submit_claim(
        session, scheme, entry(ref, member, provider=provider, service=service, amount=amount, guarantee_ref=letter),
        source="form", actor=None, recorded_on=date(2025, 3, 29),
    )  # fmt: skip


def open_total(session) -> Decimal:
    """Σ amount of the letters open on TODAY."""
    rows = session.scalars(select(GuaranteeLetter).where(GuaranteeLetter.status == "issued")).all()
    return sum((r.amount for r in rows if r.valid_to >= TODAY), D(0))


def approved_total(session) -> Decimal:
    return session.scalar(
        select(func.coalesce(func.sum(Claim.amount_approved), 0)).where(Claim.status.in_(PAYING_STATUSES))
    )


def test_a_letter_is_numbered_reserved_and_printed(session, scheme):
    letter = issue(session, scheme)
    assert (letter.number, letter.status, letter.amount) == ("PEC-2025-000001", "issued", D(3000))
    assert issue(session, scheme, amount="1000").number == "PEC-2025-000002"
    # 4,000 reserved: a claim citing no letter gets what is left, 2,000.
    other = claim(session, scheme, "C-1")
    assert (other.status, other.amount_approved, other.reasons) == ("REDUCED", D(2000), "CEILING_PER_YEAR")
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.entity == "guarantee_letter"))


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"member": "NOBODY"}, "UNKNOWN_MEMBER"),
        ({"benefit": "DENT"}, "UNKNOWN_BENEFIT"),
        ({"provider": "NOPE"}, "PROVIDER_NOT_CONTRACTED"),
        ({"start": "2024-01-15", "end": "2024-01-20"}, "WAITING_PERIOD"),
        ({"member": "U-1"}, "NOT_COVERED"),
        ({"amount": "6001"}, "CEILING_PER_YEAR"),
        ({"benefit": "DEATH"}, "CASH_BENEFIT"),
    ],
)
def test_a_refused_letter_names_its_code_and_writes_nothing(session, scheme, kwargs, code):
    with pytest.raises(LetterError) as refused:
        issue(session, scheme, **kwargs)
    assert refused.value.answer.refusal == code
    session.rollback()
    assert session.scalar(select(func.count()).select_from(GuaranteeLetter)) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"amount": "0"}, "amount"), ({"amount": "-5"}, "amount"), ({"end": "2025-02-01"}, "valid_to"),
     ({"start": "2025-02-30"}, "valid_from")],
)  # fmt: skip
def test_bad_input_is_named(session, scheme, kwargs, field):
    with pytest.raises(LetterError) as refused:
        issue(session, scheme, **kwargs)
    assert refused.value.field == field


def test_the_claim_citing_the_letter_uses_it_and_closes_it(session, scheme):
    letter = issue(session, scheme, amount="4000")
    # 5,000 at 80 % is 4,000: the letter's own reservation is left out, so the claim pays it in full.
    used = claim(session, scheme, "C-1", letter=letter.number)
    assert (used.status, used.amount_approved) == ("APPROVED", D(4000))
    session.refresh(letter)
    assert (letter.status, letter.used_by_claim_id) == ("used", used.id)
    checks = used.decisions[0].checks
    assert checks[-1]["code"] == "GUARANTEE_LETTER" and checks[-1]["passed"] is True
    # Used: it reserves nothing more and a second claim citing it is decided as if it cited none.
    again = claim(session, scheme, "C-2", amount="2500", letter=letter.number, service=date(2025, 3, 11))
    assert (again.status, again.amount_approved) == ("APPROVED", D(2000))
    assert again.decisions[0].checks[-1]["passed"] is False


def test_a_claim_from_another_provider_or_outside_the_validity_does_not_use_it(session, scheme):
    letter = issue(session, scheme, amount="5000")
    wrong = claim(session, scheme, "C-1", letter=letter.number, provider="CS", amount="1250")
    # Decided as if it cited none: 6,000 − 5,000 reserved leaves 1,000.
    assert (wrong.amount_approved, wrong.decisions[0].checks[-1]["passed"]) == (D(1000), False)
    early = claim(session, scheme, "C-2", letter=letter.number, service=date(2025, 2, 20))
    assert early.status == "REJECTED" and early.reasons == "CEILING_PER_YEAR"
    session.refresh(letter)
    assert letter.status == "issued"


def test_cancelled_and_expired_letters_reserve_nothing(session, scheme):
    letter = issue(session, scheme, amount="6000")
    with pytest.raises(LetterError):
        cancel_letter(session, letter, reason=" ", actor=None)
    cancel_letter(session, letter, reason="Patient transferred", actor=None)
    assert letter.status == "cancelled"
    with pytest.raises(LetterError):
        cancel_letter(session, letter, reason="again", actor=None)
    expired = issue(session, scheme, amount="6000", start="2025-02-01", end="2025-02-28")
    assert expired.state_on(TODAY) == "expired"
    paid = claim(session, scheme, "C-1")
    assert paid.amount_approved == D(4000)


def test_approved_claims_plus_open_letters_never_pass_the_ceiling(session, scheme):
    """Random issues, claims (citing a letter or not) and cancellations: the invariant holds after each step."""
    rng = random.Random(13)
    issued: list[GuaranteeLetter] = []
    for step in range(60):
        action = rng.choice(("letter", "claim", "claim", "cancel"))
        if action == "letter":
            try:
                issued.append(issue(session, scheme, amount=str(rng.choice((500, 1500, 2500, 4000)))))
            except LetterError as exc:
                assert exc.answer.refusal == "CEILING_PER_YEAR"
        elif action == "claim":
            cited = rng.choice([None, *[letter.number for letter in issued]])
            claim(session, scheme, f"C-{step}", amount=str(rng.choice((800, 2000, 5000))), letter=cited or "",
                  service=date(2025, 3, 1 + step % 28))  # fmt: skip
        elif issued:
            letter = rng.choice(issued)
            if letter.status == "issued":
                cancel_letter(session, letter, reason="changed plan", actor=None)
        session.flush()
        assert approved_total(session) + open_total(session) <= CEILING, step


def test_letter_pages(app, client):
    with records(app) as session:
        scheme = make_scheme(session)
        make_household(session, scheme, "H-1", [("M-1", "head")])
        officer = make_user(session, "claims_officer", scheme)
        auditor = make_user(session, "auditor", scheme)
        session.commit()
    login(client, officer)
    form = {"member_no": "M-1", "benefit_code": "OPD", "provider_code": "HR", "valid_from": "2025-03-01",
            "valid_to": "2025-03-31", "amount": "4000", "note": "Césarienne programmée"}  # fmt: skip
    refused = client.post("/schemes/MUT-TEST/letters/new", data={**form, "member_no": "NOBODY"})
    assert refused.status_code == 200 and b"UNKNOWN_MEMBER" in refused.data
    too_much = client.post("/schemes/MUT-TEST/letters/new", data={**form, "amount": "7000"})
    assert b"CEILING_PER_YEAR" in too_much.data
    done = client.post("/schemes/MUT-TEST/letters/new", data=form)
    assert done.status_code == 302
    with records(app) as session:
        letter_id = session.scalar(select(GuaranteeLetter.id))
    page = client.get(f"/schemes/MUT-TEST/letters/{letter_id}")
    assert page.status_code == 200 and b"PEC-" in page.data
    pdf = client.get(f"/schemes/MUT-TEST/letters/{letter_id}.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get("/schemes/MUT-TEST/letters").status_code == 200
    login(app.test_client(), auditor)
    reader = app.test_client()
    login(reader, auditor)
    assert reader.get(f"/schemes/MUT-TEST/letters/{letter_id}").status_code == 200
    assert reader.post(f"/schemes/MUT-TEST/letters/{letter_id}/cancel", data={"reason": "x"}).status_code == 403
    assert client.post(f"/schemes/MUT-TEST/letters/{letter_id}/cancel", data={"reason": ""}).status_code == 302
    with records(app) as session:
        assert session.scalar(select(GuaranteeLetter.status)) == "issued"
    assert client.post(f"/schemes/MUT-TEST/letters/{letter_id}/cancel", data={"reason": "moved"}).status_code == 302
    with records(app) as session:
        assert session.scalar(select(GuaranteeLetter.status)) == "cancelled"


def test_a_french_officer_types_the_amount_the_french_way(app, client):
    """The amount promised is read as the screens write it (issue 16): ``3 500`` in French is 3500."""
    with records(app) as session:
        scheme = make_scheme(session)
        make_household(session, scheme, "H-1", [("M-1", "head")])
        officer = make_user(session, "claims_officer", scheme, locale="fr")
        session.commit()
    login(client, officer)
    form = {"member_no": "M-1", "benefit_code": "OPD", "provider_code": "HR", "valid_from": "2025-03-01",
            "valid_to": "2025-03-31", "amount": "3\u00a0500", "note": ""}  # fmt: skip
    assert client.post("/schemes/MUT-TEST/letters/new", data=form).status_code == 302
    with records(app) as session:
        assert session.scalar(select(GuaranteeLetter.amount)) == D(3500)
