"""Receipts know how they came (issue 14): method, operator of the scheme's list, the operator's transaction id,
the pair refused twice in a scheme; the slip, the statement and the household page show them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mhi.cards.receipt import receipt_pdf
from mhi.cards.statement import statement_pdf
from mhi.contributions.models import Receipt
from mhi.contributions.services import ContributionError, record_receipt, reverse_receipt
from mhi.core.audit import AuditEvent
from mhi.schemes.operators import OperatorError, save_operator, scheme_operators
from tests.cards.helpers import identity, make_household, pdf_text
from tests.factories import login, make_scheme, make_user

DAY = date(2024, 1, 5)


@pytest.fixture
def household(session):
    scheme = make_scheme(session)
    return make_household(session, scheme, "H-001")


def pay(session, household, tx="MP240105.1", operator="wave", **kw):
    return record_receipt(
        session, household, date=DAY, amount=Decimal(1900), method=kw.pop("method", "cash"),
        operator=operator, transaction_id=tx, **kw,
    )  # fmt: skip


def test_operator_payment_records_method_operator_and_transaction(session, household):
    receipt = pay(session, household)
    session.commit()
    assert (receipt.method, receipt.operator, receipt.transaction_id) == ("mobile_money", "wave", "MP240105.1")
    audit = session.scalars(select(AuditEvent).where(AuditEvent.entity == "receipt")).one()
    assert audit.after["operator"] == "wave" and audit.after["transaction_id"] == "MP240105.1"


def test_cash_receipt_has_no_operator(session, household):
    receipt = record_receipt(session, household, date=DAY, amount=Decimal(500))
    assert (receipt.method, receipt.operator, receipt.transaction_id) == ("cash", None, None)


def test_same_transaction_refused_twice_in_a_scheme(session, household):
    first = pay(session, household)
    session.commit()
    with pytest.raises(ContributionError) as caught:
        pay(session, household)
    assert caught.value.field == "transaction_id"
    assert first.receipt_no in str(caught.value) and "MP240105.1" in str(caught.value)
    session.rollback()
    # Another operator may use the same id: the pair is what is unique.
    pay(session, household, operator="orange_money")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Receipt)) == 2


def test_unique_constraint_holds_without_the_service(session, household):
    pay(session, household)
    session.commit()
    session.add(
        Receipt(
            scheme_id=household.scheme_id, household_id=household.id, receipt_no="X-1", date=DAY,
            amount=Decimal(5), method="mobile_money", operator="wave", transaction_id="MP240105.1",
        )
    )  # fmt: skip
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"operator": "paypal"}, "operator"),
        ({"tx": None}, "transaction_id"),
        ({"tx": "has space"}, "transaction_id"),
        ({"operator": None}, "operator"),  # a transaction id without its operator
        ({"method": "bank"}, "method"),  # wave is a mobile wallet
    ],
)
def test_bad_payment_source_is_refused_and_writes_nothing(session, household, kw, field):
    with pytest.raises(ContributionError) as caught:
        pay(session, household, **kw)
    assert caught.value.field == field
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Receipt)) == 0


def test_reversal_carries_no_transaction(session, household):
    receipt = pay(session, household)
    counter = reverse_receipt(session, receipt, reason="paid twice")
    session.commit()
    assert (counter.operator, counter.transaction_id) == (None, None)


def test_scheme_edits_its_operator_list(session, household):
    from mhi.schemes.models import Scheme

    scheme = session.get(Scheme, household.scheme_id)
    assert [o.code for o in scheme_operators(session, scheme)] == ["bank", "free_money", "orange_money", "wave"]
    save_operator(session, scheme, code="mtn_momo", name="MTN MoMo", method="mobile_money")
    save_operator(session, scheme, code="wave", name="Wave", method="mobile_money", active=False)
    session.commit()
    codes = {o.code: o.active for o in scheme_operators(session, scheme)}
    assert codes == {"bank": True, "free_money": True, "orange_money": True, "wave": False, "mtn_momo": True}
    with pytest.raises(ContributionError) as caught:
        pay(session, household)  # wave is no longer in use
    assert caught.value.field == "operator"
    session.rollback()
    with pytest.raises(OperatorError):
        save_operator(session, scheme, code="Bad Code", name="x", method="mobile_money")


def test_slip_and_statement_show_operator_and_transaction(session, household):
    receipt = pay(session, household)
    session.commit()
    slip = pdf_text(receipt_pdf(session, receipt, size="a6", language="en", gettext=identity))
    assert "wave" in slip and "MP240105.1" in slip
    statement = pdf_text(
        statement_pdf(
            session, household, date(2024, 1, 1), date(2024, 12, 31), language="en", gettext=identity,
            include_claims=False,
        )
    )  # fmt: skip
    assert "wave" in statement and "MP240105.1" in statement


def test_receipt_form_and_household_page(session, client, household):
    from mhi.schemes.models import Scheme

    scheme = session.get(Scheme, household.scheme_id)
    clerk = make_user(session, "clerk", scheme)
    login(client, clerk)
    url = f"/schemes/{scheme.code}/households/{household.id}/receipts/new"
    data = {"date": "2024-01-05", "amount": "1900", "method": "mobile_money", "operator": "wave"}
    page = client.post(url, data={**data, "transaction_id": ""})
    assert page.status_code == 200 and b"transaction id is required" in page.data
    assert client.post(url, data={**data, "transaction_id": "MP1"}).status_code == 302
    again = client.post(url, data={**data, "transaction_id": "MP1"})
    assert b"already recorded" in again.data
    detail = client.get(f"/schemes/{scheme.code}/households/{household.id}")
    assert b"MP1" in detail.data


def test_operators_page_for_the_manager_only(session, client, household):
    from mhi.schemes.models import Scheme

    scheme = session.get(Scheme, household.scheme_id)
    login(client, make_user(session, "clerk", scheme))
    assert client.get(f"/schemes/{scheme.code}/operators").status_code == 403
    client.post("/logout")
    login(client, make_user(session, "scheme_manager", scheme))
    assert b"orange_money" in client.get(f"/schemes/{scheme.code}/operators").data
    response = client.post(
        f"/schemes/{scheme.code}/operators/edit",
        data={"code": "wave", "name": "Wave", "method": "mobile_money", "active": "y", "delimiter": ";",
              "decimal_comma": "y", "map_transaction_id": "ID transaction", "map_amount": "Montant",
              "map_date": "Date"},
    )  # fmt: skip
    assert response.status_code == 302
    wave = next(o for o in scheme_operators(session, scheme) if o.code == "wave")
    assert wave.column_map == {"transaction_id": "ID transaction", "amount": "Montant", "date": "Date"}
    assert (wave.delimiter, wave.decimal_comma) == (";", True)
    assert client.get(f"/schemes/{scheme.code}/operators/edit?operator=nope").status_code == 404
