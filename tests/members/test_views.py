"""The register, contributions and subsidy pages: access, and the form flows end to end through the client."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.contributions.models import Receipt
from mhi.members.models import Household, Person
from mhi.subsidies.models import SubsidyReceipt
from tests.factories import login, make_user, records
from tests.members.helpers import MEMBERS_HEADER, enrol, scheme_with_programme


@pytest.fixture
def world(app):
    """A scheme with one household (head and child, enrolled 2025-01-10) and a clerk, an auditor, a manager."""
    with records(app) as session:
        scheme = scheme_with_programme(session)
        household = enrol(session, scheme, "H-1", date(2025, 1, 10))
        users = {role: make_user(session, role, scheme) for role in ("clerk", "auditor", "scheme_manager")}
        return {"scheme": scheme, "household_id": household.id, "users": users}


def signed_in(client, world, role):
    login(client, world["users"][role])
    return client


def test_search_and_household_page(client, world):
    signed_in(client, world, "auditor")
    page = client.get("/schemes/MUT-A/households?q=awa")
    assert page.status_code == 200 and b"H-1-01" in page.data
    detail = client.get(f"/schemes/MUT-A/households/{world['household_id']}?on=2025-02-01")
    assert detail.status_code == 200 and b"Not covered" in detail.data
    assert client.get("/schemes/MUT-A/households/new").status_code == 403  # an auditor only reads
    assert client.get("/schemes/MUT-A/households/999999").status_code == 404
    assert client.get(f"/schemes/MUT-A/households/{world['household_id']}?on=2025-13-01").status_code == 400


def test_enrol_form(app, client, world):
    signed_in(client, world, "clerk")
    assert client.get("/schemes/MUT-A/households/new").status_code == 200
    data = {
        "ref": "H-2",
        "product": "BASE",
        "village": "Pout",
        "head-first_name": "Moussa",
        "head-last_name": "Fall",
        "head-sex": "M",
        "head-date_of_birth": "1980-01-01",
        "head-enrolment_date": "2025-03-01",
        "members-0-first_name": "Binta",
        "members-0-last_name": "Fall",
        "members-0-sex": "F",
        "members-0-relation": "spouse",
        "members-0-date_of_birth": "1985-01-01",
    }
    response = client.post("/schemes/MUT-A/households/new", data=data)
    assert response.status_code == 302, [line for line in response.data.decode().splitlines() if "error" in line]
    with records(app) as session:
        household = session.scalar(select(Household).where(Household.ref == "H-2"))
        assert sorted((p.member_no, p.relation, p.enrolment_date) for p in household.persons) == [
            ("H-2-01", "head", date(2025, 3, 1)),
            ("H-2-02", "spouse", date(2025, 3, 1)),
        ]
    # A member born after their enrolment: the form comes back with the message beside the field.
    data.update({"ref": "H-3", "members-0-date_of_birth": "2025-06-01"})
    again = client.post("/schemes/MUT-A/households/new", data=data)
    assert again.status_code == 200 and b"is after the enrolment date" in again.data


def test_newborn_exit_receipt_and_reversal(app, client, world):
    signed_in(client, world, "clerk")
    hid = world["household_id"]
    newborn = {
        "first_name": "Bébé",
        "last_name": "Ndiaye",
        "sex": "F",
        "relation": "child",
        "date_of_birth": "2025-02-01",
        "enrolment_date": "2025-02-02",
    }
    assert client.post(f"/schemes/MUT-A/households/{hid}/persons/new", data=newborn).status_code == 302
    receipt = client.post(
        f"/schemes/MUT-A/households/{hid}/receipts/new",
        data={"date": "2025-01-10", "amount": "1600", "method": "cash", "collector": "Awa"},
    )
    assert receipt.status_code == 302
    # The confirmation offers the slip as a real link (not its HTML shown as text).
    confirmation = client.get(receipt.headers["Location"]).get_data(as_text=True)
    assert '">Print it</a>' in confirmation and "&lt;a href" not in confirmation
    bad = client.post(f"/schemes/MUT-A/households/{hid}/receipts/new", data={"date": "2025-01-10", "amount": "12.5"})
    assert b"more decimals than XOF allows" in bad.data
    with records(app) as session:
        receipt_id = session.scalar(select(Receipt.id))
        child = session.scalar(select(Person).where(Person.first_name == "Bébé"))
        child_id = child.id
    page = client.get(f"/schemes/MUT-A/households/{hid}?on=2025-01-20")
    assert b"R-2025-000001" in page.data and b"Covered" in page.data
    assert client.post(f"/schemes/MUT-A/receipts/{receipt_id}/reverse", data={"reason": ""}).status_code == 200
    asked = client.post(f"/schemes/MUT-A/receipts/{receipt_id}/reverse", data={"reason": "typo"})
    assert asked.status_code == 200 and b"This cannot be undone." in asked.data
    assert b'name="reason" value="typo"' in asked.data
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(Receipt)) == 1
    reverse = {"reason": "typo", "confirmed": "yes"}
    assert client.post(f"/schemes/MUT-A/receipts/{receipt_id}/reverse", data=reverse).status_code == 302
    again = client.post(f"/schemes/MUT-A/receipts/{receipt_id}/reverse", data={"reason": "again", "confirmed": "yes"})
    assert b"already been reversed" in again.data
    exit_ = client.post(f"/schemes/MUT-A/persons/{child_id}/exit", data={"date": "2025-03-01", "reason": "death"})
    assert exit_.status_code == 302
    with records(app) as session:
        assert session.scalar(select(func.count(Receipt.id))) == 2
        assert session.get(Person, child_id).exit_reason == "death"


def test_lists_and_csv(client, world):
    signed_in(client, world, "auditor")
    for kind in ("arrears", "lapsing", "struck-off"):
        assert client.get(f"/schemes/MUT-A/lists/{kind}?on=2025-07-01").status_code == 200
    csv = client.get("/schemes/MUT-A/lists/arrears?on=2025-03-01&format=csv")
    assert csv.mimetype == "text/csv"
    assert csv.data.decode().splitlines()[1].startswith(",H-1,Awa Ndiaye,")
    assert client.get("/schemes/MUT-A/lists/nope").status_code == 404
    assert client.get("/schemes/MUT-A/contributions?from=2025-01-01&to=2025-12-31").status_code == 200


def test_upload_preview_then_confirm(app, client, world):
    signed_in(client, world, "clerk")
    text = MEMBERS_HEADER + "\nH-9,M-9,Issa,Sarr,M,1990-01-01,head,2025-01-01,,BASE,,,,\n"
    preview = client.post(
        "/schemes/MUT-A/imports/members",
        data={"file": (io.BytesIO(text.encode()), "../../evil.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200 and b"Issa" in preview.data
    token = preview.data.decode().split('name="token" type="hidden" value="')[1][:32]
    with records(app) as session:
        assert session.scalar(select(Household).where(Household.ref == "H-9")) is None  # nothing yet
    assert client.post("/schemes/MUT-A/imports/members/confirm", data={"token": "0" * 32}).status_code == 302
    done = client.post("/schemes/MUT-A/imports/members/confirm", data={"token": token})
    assert done.status_code == 302 and "/imports/members/jobs/" in done.headers["Location"]
    with records(app) as session:
        assert session.scalar(select(Household).where(Household.ref == "H-9")) is not None
    # The job's page (the suite's queue ran the job on commit) says what was added.
    page = client.get(done.headers["Location"])
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert "1 row(s) added, 0 already stored" in page.get_data(as_text=True)
    # A bad file: every error shown, no confirm button.
    bad = client.post(
        "/schemes/MUT-A/imports/members",
        data={
            "file": (
                io.BytesIO((MEMBERS_HEADER + "\nH-8,M-8,A,B,X,1990-01-01,head,2025-01-01,,BASE,,,,\n").encode()),
                "m.csv",
            )
        },
        content_type="multipart/form-data",
    )
    assert b"row 1, sex:" in bad.data and b'name="token"' not in bad.data


def test_subsidy_pages(app, client, world):
    signed_in(client, world, "scheme_manager")
    assert client.get("/schemes/MUT-A/subsidies?from=2025-01-01&to=2025-12-31&period=month").status_code == 200
    response = client.post(
        "/schemes/MUT-A/subsidies/receipts/new",
        data={"programme": "CMU-IND", "reference": "OV-1", "date": "2025-02-01", "amount": "5000"},
    )
    assert response.status_code == 302
    with records(app) as session:
        receipt = session.scalar(select(SubsidyReceipt))
        assert receipt.amount == Decimal(5000)
        receipt_id = receipt.id
    assert (
        client.post(f"/schemes/MUT-A/subsidies/receipts/{receipt_id}/reverse", data={"reason": "twice"}).status_code
        == 302
    )
    clerk = signed_in(app.test_client(), world, "clerk")
    assert clerk.get("/schemes/MUT-A/subsidies/receipts/new").status_code == 403


def test_the_confirmation_page_carries_its_own_csrf_token(app, world):
    """With CSRF on (as in production): the reversal form's post leads to the confirmation page, whose form has a
    token of its own; its post without the token is refused (400) and nothing is reversed, with it the
    counter-entry is recorded."""
    from tests.auth.test_csrf import sign_in_with_token, token_of

    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        sign_in_with_token(client, world["users"]["clerk"])
        hid = world["household_id"]
        form = client.get(f"/schemes/MUT-A/households/{hid}/receipts/new").get_data(as_text=True)
        receipt = {"date": "2025-01-10", "amount": "1600", "method": "cash", "csrf_token": token_of(form)}
        assert client.post(f"/schemes/MUT-A/households/{hid}/receipts/new", data=receipt).status_code == 302
        with records(app) as session:
            receipt_id = session.scalar(select(Receipt.id))
        url = f"/schemes/MUT-A/receipts/{receipt_id}/reverse"

        asked = client.post(
            url, data={"reason": "typo", "csrf_token": token_of(client.get(url).get_data(as_text=True))}
        )
        page = asked.get_data(as_text=True)
        assert asked.status_code == 200 and "This cannot be undone." in page

        assert client.post(url, data={"reason": "typo", "confirmed": "yes"}).status_code == 400
        with records(app) as session:
            assert session.scalar(select(func.count()).select_from(Receipt)) == 1
        done = client.post(url, data={"reason": "typo", "confirmed": "yes", "csrf_token": token_of(page)})
        assert done.status_code == 302
        with records(app) as session:
            assert session.scalar(select(func.count()).select_from(Receipt)) == 2
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_categories_upload_previews_then_writes_all_or_nothing(app, client, world):
    from mhi.members.models import CategoryChange

    signed_in(client, world, "clerk")
    assert client.get("/schemes/MUT-A/households").data.count(b"/imports/categories") == 1
    good = "household_ref,category,from_date\nH-1,indigent,2025-04-10\n"
    preview = client.post(
        "/schemes/MUT-A/imports/categories",
        data={"file": (io.BytesIO(good.encode()), "categories.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200 and b"indigent" in preview.data
    token = preview.data.decode().split('name="token" type="hidden" value="')[1][:32]
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(CategoryChange)) == 0  # nothing before confirming
    assert client.post("/schemes/MUT-A/imports/categories/confirm", data={"token": token}).status_code == 302
    bad = "household_ref,category,from_date\nH-1,vulnerable,2025-06-10\nH-404,indigent,2025-04-10\n"
    shown = client.post(
        "/schemes/MUT-A/imports/categories",
        data={"file": (io.BytesIO(bad.encode()), "categories.csv")},
        content_type="multipart/form-data",
    )
    assert b"row 2, household_ref: H-404 is not a household of this scheme" in shown.data
    assert b'name="token"' not in shown.data
    with records(app) as session:
        assert session.scalars(select(CategoryChange.category)).all() == ["indigent"]
    auditor = signed_in(app.test_client(), world, "auditor")
    assert auditor.get("/schemes/MUT-A/imports/categories").status_code == 403


def test_category_change_on_the_household_page(app, client, world):
    from mhi.members.models import CategoryChange

    hid = world["household_id"]
    signed_in(client, world, "clerk")
    url = f"/schemes/MUT-A/households/{hid}/category"
    assert client.get(url).status_code == 200
    before = client.post(url, data={"category": "indigent", "from_date": "2025-01-09", "reason": "CMU list 2025"})
    assert before.status_code == 200 and b"before the household&#39;s enrolment on 2025-01-10" in before.data
    no_reason = client.post(url, data={"category": "indigent", "from_date": "2025-04-10", "reason": ""})
    assert no_reason.status_code == 200
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(CategoryChange)) == 0
    done = client.post(url, data={"category": "indigent", "from_date": "2025-04-10", "reason": "CMU list 2025"})
    assert done.status_code == 302
    twice = client.post(url, data={"category": "vulnerable", "from_date": "2025-04-10", "reason": "again"})
    assert b"already changes category on 2025-04-10" in twice.data
    page = client.get(f"/schemes/MUT-A/households/{hid}?on=2025-05-01")
    assert b"indigent from" in page.data
    with records(app) as session:
        change = session.scalar(select(CategoryChange))
        assert (change.category, change.reason) == ("indigent", "CMU list 2025")
    auditor = signed_in(app.test_client(), world, "auditor")
    assert auditor.post(url, data={"category": "x", "from_date": "2025-04-11", "reason": "r"}).status_code == 403


def _second_product(app, code="PLUS", amount=500):
    """A second product of scheme MUT-A (a person a month), for the product change pages."""
    from mhi.schemes.models import Product, ProductVersion, Scheme

    with records(app) as session:
        scheme = session.scalar(select(Scheme).where(Scheme.code == "MUT-A"))
        product = Product(scheme_id=scheme.id, code=code, name="Extended package")
        version = ProductVersion(
            product=product, effective_from=date(2024, 1, 1), basis="person", amount=Decimal(amount), period_months=1,
            registration_fee=Decimal(1000), waiting_period_days=90, grace_period_days=30, lapse_after_days=180,
        )  # fmt: skip
        session.add_all([product, version])
        session.commit()


def test_product_change_on_the_household_page_asks_first(app, client, world):
    from mhi.contributions.services import ledger_for
    from mhi.members.models import ProductChange

    _second_product(app)
    hid = world["household_id"]
    signed_in(client, world, "clerk")
    assert b"/product" in client.get(f"/schemes/MUT-A/households/{hid}").data
    url = f"/schemes/MUT-A/households/{hid}/product"
    form = client.get(url)
    assert form.status_code == 200 and b"PLUS" in form.data
    cut = client.post(url, data={"product": "PLUS", "from_date": "2025-04-11", "reason": "asked"})
    assert cut.status_code == 200 and b"here 2025-04-10 or 2025-05-10" in cut.data
    no_reason = client.post(url, data={"product": "PLUS", "from_date": "2025-04-10", "reason": ""})
    assert no_reason.status_code == 200
    asked = client.post(url, data={"product": "PLUS", "from_date": "2025-04-10", "reason": "asked"})
    assert asked.status_code == 200 and b"cannot be undone" in asked.data and b'name="confirmed"' in asked.data
    assert b"instead of BASE" in asked.data
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(ProductChange)) == 0  # nothing before confirming
    done = client.post(url, data={"product": "PLUS", "from_date": "2025-04-10", "reason": "asked", "confirmed": "yes"})
    assert done.status_code == 302
    page = client.get(f"/schemes/MUT-A/households/{hid}?on=2025-05-01")
    assert b"PLUS from" in page.data and b"(PLUS)" in page.data
    with records(app) as session:
        change = session.scalar(select(ProductChange))
        assert (change.product.code, change.reason, change.from_date) == ("PLUS", "asked", date(2025, 4, 10))
        household = session.get(Household, hid)
        periods = {p.start: p.gross for p in ledger_for(session, household).periods_until(date(2025, 5, 1))}
        assert periods[date(2025, 3, 10)] == 600 and periods[date(2025, 4, 10)] == 1000  # two persons
    # The arrears list shows what the household page shows (the one "arrears at T"): fee, three months of BASE and
    # April on PLUS, two persons.
    from mhi.core.formatting import money

    owed = money(Decimal(1000 + 3 * 600 + 1000), "XOF", "en")
    assert owed in page.get_data(as_text=True)
    listed = client.get("/schemes/MUT-A/lists/arrears?on=2025-05-01").get_data(as_text=True)
    assert "H-1" in listed and owed in listed
    french = signed_in(app.test_client(), world, "clerk")
    with records(app) as session:
        from mhi.auth.models import User

        session.get(User, world["users"]["clerk"].id).locale = "fr"
        session.commit()
    refused = french.post(url, data={"product": "BASE", "from_date": "2025-06-11", "reason": "r"})
    body = refused.get_data(as_text=True)
    assert "n&#39;est pas le début d&#39;une période de cotisation" in body
    auditor = signed_in(app.test_client(), world, "auditor")
    assert auditor.get(url).status_code == 403
    assert auditor.post(url, data={"product": "PLUS", "from_date": "2025-05-10", "reason": "r"}).status_code == 403


def test_product_changes_upload_previews_then_writes_all_or_nothing(app, client, world):
    from mhi.members.models import ProductChange

    _second_product(app)
    signed_in(client, world, "clerk")
    assert client.get("/schemes/MUT-A/households").data.count(b"/imports/product-changes") == 1
    good = "household_ref,from_date,product_code,reason\nH-1,2025-04-10,PLUS,list 2025\n"
    preview = client.post(
        "/schemes/MUT-A/imports/product-changes",
        data={"file": (io.BytesIO(good.encode()), "product_changes.csv")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200 and b"PLUS" in preview.data
    token = preview.data.decode().split('name="token" type="hidden" value="')[1][:32]
    with records(app) as session:
        assert session.scalar(select(func.count()).select_from(ProductChange)) == 0
    assert client.post("/schemes/MUT-A/imports/product-changes/confirm", data={"token": token}).status_code == 302
    bad = "household_ref,from_date,product_code,reason\nH-1,2025-06-10,BASE,back\nH-404,2025-04-10,PLUS,x\n"
    shown = client.post(
        "/schemes/MUT-A/imports/product-changes",
        data={"file": (io.BytesIO(bad.encode()), "product_changes.csv")},
        content_type="multipart/form-data",
    )
    assert b"row 2, household_ref: H-404 is not a household of this scheme" in shown.data
    assert b'name="token"' not in shown.data
    with records(app) as session:
        assert [(c.from_date, c.reason) for c in session.scalars(select(ProductChange))] == [
            (date(2025, 4, 10), "list 2025")
        ]
    auditor = signed_in(app.test_client(), world, "auditor")
    assert auditor.get("/schemes/MUT-A/imports/product-changes").status_code == 403
