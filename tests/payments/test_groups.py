"""Group payers (issue 14): one payment split over the member households as listed, evenly, or by what each owes;
one receipt per household linked to the payment, coverage for each; a split that does not add up is refused with
the difference; the group's statement says what it paid and for whom."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.cards.group_statement import group_statement_pdf
from mhi.contributions.models import Receipt
from mhi.contributions.services import household_account
from mhi.payments.groups import GroupError, create_payer, record_group_payment, set_member
from mhi.payments.models import GroupPayment, GroupPaymentPart, StatementLine
from mhi.payments.statements import import_statement, read_statement
from tests.cards.helpers import identity, pdf_text
from tests.factories import login, make_user
from tests.payments.helpers import E, statement_csv, statement_scheme

PAID = date(2025, 1, 15)


@pytest.fixture
def group(session):
    """A cooperative paying for the four households (one person each: 1000 fee + 300 a month)."""
    scheme, households = statement_scheme(session)
    payer = create_payer(session, scheme, code="COOP-1", name="Coopérative des maraîchers", kind="cooperative")
    for household in households.values():
        set_member(session, payer, household, active=True)
    session.commit()
    return scheme, households, payer


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_even_split_gives_one_receipt_and_coverage_per_household(session, group):
    scheme, households, payer = group
    payment = record_group_payment(session, payer, date=PAID, amount="5200", split="even")
    session.commit()
    parts = session.execute(
        select(GroupPaymentPart.household_id, GroupPaymentPart.amount, Receipt.amount, Receipt.collector)
        .join(Receipt, Receipt.id == GroupPaymentPart.receipt_id)
        .where(GroupPaymentPart.payment_id == payment.id)
    ).all()
    assert len(parts) == 4
    assert {p[0] for p in parts} == {h.id for h in households.values()}
    assert all(p[1] == p[2] == Decimal(1300) for p in parts)
    assert all(p[3] == "Coopérative des maraîchers" for p in parts)
    for household in households.values():
        account = household_account(session, household, PAID)
        assert account.status == "covered", household.ref


def test_even_split_of_an_odd_amount_adds_up(session, group):
    _, _, payer = group
    payment = record_group_payment(session, payer, date=PAID, amount="1001", split="even")
    amounts = sorted(session.scalars(select(GroupPaymentPart.amount).where(GroupPaymentPart.payment_id == payment.id)))
    assert sum(amounts) == Decimal(1001) and amounts[-1] - amounts[0] <= 1


def test_listed_split_that_does_not_add_up_is_refused_with_the_difference(session, group):
    _, households, payer = group
    listed = {households["H-001"].id: "1300", households["H-002"].id: "1000"}
    with pytest.raises(GroupError) as caught:
        record_group_payment(session, payer, date=PAID, amount="2600", split="listed", listed=listed)
    assert caught.value.params == {"parts": Decimal(2300), "total": Decimal(2600), "difference": Decimal(300)}
    session.rollback()
    assert (count(session, GroupPayment), count(session, Receipt)) == (0, 0)
    listed[households["H-002"].id] = "1300"
    payment = record_group_payment(session, payer, date=PAID, amount="2600", split="listed", listed=listed)
    session.commit()
    assert count(session, GroupPaymentPart) == 2 and payment.split == "listed"


def test_split_by_what_each_owes(session, group):
    _, households, payer = group
    # H-001 already paid its fee: it owes 300 on PAID, the others 1300 each.
    from mhi.contributions.services import record_receipt

    record_receipt(session, households["H-001"], date=E, amount=Decimal(1000))
    payment = record_group_payment(session, payer, date=PAID, amount="4200", split="owed")
    session.commit()
    parts = dict(
        session.execute(
            select(GroupPaymentPart.household_id, GroupPaymentPart.amount).where(
                GroupPaymentPart.payment_id == payment.id
            )
        ).all()
    )
    assert parts == {
        households["H-001"].id: Decimal(300),
        households["H-002"].id: Decimal(1300),
        households["H-003"].id: Decimal(1300),
        households["H-004"].id: Decimal(1300),
    }


def test_group_transaction_is_used_once_and_statement_knows_it(session, group):
    scheme, _, payer = group
    record_group_payment(session, payer, date=PAID, amount="5200", split="even", operator="wave", transaction_id="GW-1")
    session.commit()
    with pytest.raises(GroupError):
        record_group_payment(
            session, payer, date=PAID, amount="5200", split="even", operator="wave", transaction_id="GW-1"
        )
    session.rollback()
    # The operator's statement later lists the group's transfer: it is already paid, nothing new.
    table = read_statement(statement_csv("GW-1,wave,2025-01-15,5200,,COOP-1").encode(), "s.csv")
    result = import_statement(session, scheme, table.header, table.rows, dry_run=False, file="s.csv")
    assert result.counts() == {"matched": 0, "unmatched": 0, "ambiguous": 0, "already": 1}
    assert count(session, StatementLine) == 0 and count(session, Receipt) == 4


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "12.5"}, "amount"),
        ({"split": "random"}, "split"),
        ({"operator": "paypal", "transaction_id": "X"}, "operator"),
    ],
)
def test_bad_group_payment_writes_nothing(session, group, kw, field):
    _, _, payer = group
    with pytest.raises(GroupError) as caught:
        record_group_payment(session, payer, **{"date": PAID, "amount": "5200", "split": "even", **kw})
    assert caught.value.field == field
    session.rollback()
    assert (count(session, GroupPayment), count(session, Receipt)) == (0, 0)


def test_group_statement_pdf(session, group):
    _, _, payer = group
    record_group_payment(session, payer, date=PAID, amount="5200", split="even")
    session.commit()
    text = pdf_text(
        group_statement_pdf(session, payer, date(2025, 1, 1), date(2025, 12, 31), language="en", gettext=identity)
    )
    for expected in ("Coopérative des maraîchers", "H-001", "H-004", "R-2025-000001", "R-2025-000004"):
        assert expected in text


def test_group_pages(session, client, group):
    scheme, households, payer = group
    login(client, make_user(session, "clerk", scheme))
    page = client.get(f"/schemes/{scheme.code}/payers/{payer.id}")
    assert page.status_code == 200 and b"H-003" in page.data
    data = {"date": "2025-01-15", "amount": "2600", "method": "cash", "operator": "", "split": "listed",
            f"part-{households['H-001'].id}": "1300", f"part-{households['H-002'].id}": "1000"}  # fmt: skip
    refused = client.post(f"/schemes/{scheme.code}/payers/{payer.id}", data=data)
    assert refused.status_code == 200 and b"a difference of" in refused.data
    assert count(session, Receipt) == 0
    data[f"part-{households['H-002'].id}"] = "1300"
    assert client.post(f"/schemes/{scheme.code}/payers/{payer.id}", data=data).status_code == 302
    assert count(session, Receipt) == 2
    pdf = client.get(f"/schemes/{scheme.code}/payers/{payer.id}/statement?date_from=2025-01-01&date_to=2025-12-31")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    listing = client.get(f"/schemes/{scheme.code}/payers")
    assert b"COOP-1" in listing.data
    created = client.post(f"/schemes/{scheme.code}/payers", data={"code": "GIE-2", "name": "GIE", "kind": "gie"})
    assert created.status_code == 302


def test_auditor_cannot_record_a_group_payment(session, client, group):
    scheme, _, payer = group
    login(client, make_user(session, "auditor", scheme))
    assert client.get(f"/schemes/{scheme.code}/payers/{payer.id}").status_code == 200
    refused = client.post(f"/schemes/{scheme.code}/payers/{payer.id}", data={"amount": "5", "split": "even"})
    assert refused.status_code == 403
