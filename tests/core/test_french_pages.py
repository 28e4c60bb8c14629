"""A French page shows no English (issue 16): the pages a clerk, a claims officer and a manager use, with the
errors services, imports (members and contributions) and the feasibility form raise, and the API's problem details
for a program acting for a French account, are rendered in French and searched for the English catalogue's
messages.

Every msgid of the French catalogue whose translation differs from it is a text that must not appear on a French
page. A message with placeholders is looked for by its longest fixed part (``" is already used in this scheme"``
for ``"receipt number %(receipt_no)s is already used in this scheme"``); parts shorter than ``MIN_LENGTH``
characters are left out (``"Date"``, ``"is required"`` and codes would match names and data).
"""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from mhi.schemes.models import Product, Provider, Tariff
from tests.api.helpers import bearer, token_for
from tests.factories import login, make_user, records
from tests.feasibility.test_views import fandene, form_data
from tests.members.helpers import MEMBERS_HEADER, enrol, scheme_with_programme
from tests.pages import page_text
from tools.i18n import PLACEHOLDER, po_path

#: Fixed parts shorter than this are not looked for: they are words that names, data and codes share.
MIN_LENGTH = 16


def english_fragments() -> dict[str, str]:
    """fragment → msgid: the longest fixed part of each message whose French differs from its English."""
    with open(po_path("fr"), "rb") as po:
        catalog = read_po(po, locale="fr")
    fragments = {}
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or not message.string:
            continue
        if message.string.strip().lower() == message.id.strip().lower():
            continue
        parts = [" ".join(p.split()) for p in PLACEHOLDER.sub("\0", message.id).replace("%%", "%").split("\0")]
        longest = max(parts, key=len, default="")
        # A part the French keeps as it is (a code, a file name, an example value) is not English.
        if len(longest) >= MIN_LENGTH and longest not in message.string:
            fragments[longest] = message.id
    return fragments


def english_in(body: str, fragments: dict[str, str]) -> list[str]:
    """The English messages found in a page."""
    text = page_text(body)
    return sorted(f"{fragment!r} (from {msgid!r})" for fragment, msgid in fragments.items() if fragment in text)


@pytest.fixture
def world(app):
    """A scheme (XOF) with a provider and its tariff, one household enrolled 2025-01-10, a clerk, a claims officer
    and a manager in French and in English, and an API token for each clerk."""
    with records(app) as session:
        scheme = scheme_with_programme(session, "MUT-A")
        provider = Provider(scheme_id=scheme.id, code="CS", name="Centre de santé", contract_from=date(2024, 1, 1))
        session.add(provider)
        session.flush()
        session.add(Tariff(provider_id=provider.id, benefit_code="OPD", amount=Decimal(4000)))
        session.commit()
        household = enrol(session, scheme, "H-1", date(2025, 1, 10))
        users = {
            (role, locale): make_user(session, role, scheme, locale=locale)
            for role in ("clerk", "claims_officer", "scheme_manager")
            for locale in ("fr", "en")
        }
        product_id = session.scalar(select(Product.id).where(Product.scheme_id == scheme.id))
    tokens = {locale: token_for(app, users[("clerk", locale)]) for locale in ("fr", "en")}
    return {"household_id": household.id, "product_id": product_id, "users": users, "tokens": tokens}


def visit(app, world, locale: str) -> dict[str, str]:
    """The pages, with their errors, as a clerk, a claims officer and a manager speaking ``locale`` see them,
    and the API's refusals as a program acting for the clerk reads them (the account's language)."""
    clerk, officer, manager = app.test_client(), app.test_client(), app.test_client()
    login(clerk, world["users"][("clerk", locale)])
    login(officer, world["users"][("claims_officer", locale)])
    login(manager, world["users"][("scheme_manager", locale)])
    hid = world["household_id"]
    pages: dict[str, str] = {}
    receipt = {"date": "2025-01-10", "amount": "1 250", "method": "cash", "receipt_no": f"RB-{locale}"}
    first = clerk.post(f"/schemes/MUT-A/households/{hid}/receipts/new", data=receipt)
    assert first.status_code == 302, page_text(first.get_data(as_text=True))[:2000]  # "1 250" is an amount
    pages["household"] = clerk.get(f"/schemes/MUT-A/households/{hid}").get_data(as_text=True)
    pages["duplicate receipt"] = clerk.post(f"/schemes/MUT-A/households/{hid}/receipts/new", data=receipt).get_data(
        as_text=True
    )
    pages["bad amount"] = clerk.post(
        f"/schemes/MUT-A/households/{hid}/receipts/new", data={**receipt, "receipt_no": "", "amount": "12.5"}
    ).get_data(as_text=True)
    bad_rows = (
        MEMBERS_HEADER
        + "\nH-8,M-8,A,B,X,1990-01-01,head,2025-01-01,,BASE,,,,"
        + "\nH-7,M-7,A,B,F,1990-13-01,head,2025-01-01,,NOPE,,,,"
        + "\nH-6,M-6,A,B,F,1990-01-01,child,2025-01-01,,BASE,,,,"
    )
    pages["import preview"] = clerk.post(
        "/schemes/MUT-A/imports/members",
        data={"file": (io.BytesIO(bad_rows.encode()), "members.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    claim = {
        "claim_ref": "F-1",
        "member_no": "H-1-01",
        "benefit_code": "OPD",
        "provider_code": "CS",
        "date_of_service": "2025-03-01",
        "date_submitted": "2025-03-02",
        "lines-0-item": "Consultation",
        "lines-0-amount": "1000",
        "action": "submit",  # save and submit (a plain save keeps a draft)
    }
    pages["claim bad line"] = officer.post(
        "/schemes/MUT-A/claims/new", data={**claim, "lines-0-amount": "abc"}
    ).get_data(as_text=True)
    pages["claim zero"] = officer.post(
        "/schemes/MUT-A/claims/new", data={**claim, "lines-0-item": "", "lines-0-amount": ""}
    ).get_data(as_text=True)
    assert officer.post("/schemes/MUT-A/claims/new", data={**claim, "claim_ref": f"F-{locale}"}).status_code == 302
    pages["claim twice"] = officer.post(
        "/schemes/MUT-A/claims/new", data={**claim, "claim_ref": f"F-{locale}"}
    ).get_data(as_text=True)
    pages["eligibility"] = officer.get("/schemes/MUT-A/eligibility?member_no=H-1-01&on=2025-06-01").get_data(
        as_text=True
    )
    pages["eligibility unknown"] = officer.get("/schemes/MUT-A/eligibility?member_no=NOPE").get_data(as_text=True)
    bad_receipts = (
        "receipt_no,household_ref,date,amount,method,collector"
        "\nR-1,H-1,2025-02-01,12.5,cash,"
        "\nR-2,NOPE,2025-02-31,abc,card,"
        "\nR-3,H-1,2025-02-01,-5,,"
    )
    pages["receipts import preview"] = clerk.post(
        "/schemes/MUT-A/imports/contributions",
        data={"file": (io.BytesIO(bad_receipts.encode()), "contributions.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    study = form_data(
        fandene(),
        "MUT-A",
        **{"services-1-unit_cost": "abc", "loading_admin": "", "subsidy_share": "1,5", "new_enrolment": "1800 x 9"},
    )
    pages["feasibility form"] = manager.post("/feasibility/new", data=study).get_data(as_text=True)
    pages["feasibility currency"] = manager.post(
        "/feasibility/new", data=form_data(fandene() | {"currency": "INR"}, "MUT-A")
    ).get_data(as_text=True)
    expense = {"reference": f"E-{locale}", "date": "2025-02-01", "category": "staff", "amount": "0"}
    pages["expense refused"] = manager.post("/schemes/MUT-A/expenses/new", data=expense).get_data(as_text=True)
    pages["version in the past"] = manager.post(
        f"/feasibility/products/{world['product_id']}/versions", data={"effective_from": "2020-01-01"}
    ).get_data(as_text=True)
    api, program = bearer(world["tokens"][locale]), app.test_client()
    refused = {
        "ref": "H-9",
        "product_code": "BASE",
        "colour": "blue",
        "persons": [{"first_name": "A", "sex": "X", "date_of_birth": "1985-13-02", "relationship": "head"}],
    }
    for name, answer in (
        ("api fields", program.post("/api/v1/schemes/MUT-A/households", json=refused, headers=api)),
        ("api query", program.get("/api/v1/schemes/MUT-A/households?page=0&per_page=x&struck_off=4", headers=api)),
        ("api receipt", program.post("/api/v1/schemes/MUT-A/receipts", json={**receipt, "amount": "1250", "household_ref": "H-1"},
                                   headers=api)),
    ):  # fmt: skip
        assert answer.status_code in (400, 409, 422), (name, answer.get_data(as_text=True))
        pages[name] = json.dumps(answer.get_json(), ensure_ascii=False)
    return pages


def test_french_pages_show_no_english(app, world):
    fragments = english_fragments()
    assert len(fragments) > 500  # the catalogue was read
    pages = visit(app, world, "fr")
    english = {name: english_in(body, fragments) for name, body in pages.items()}
    assert {name: found for name, found in english.items() if found} == {}
    # The errors were shown, in French (the search above would miss a page that shows no error at all).
    assert "le numéro de reçu RB-fr est déjà utilisé dans cette mutuelle" in page_text(pages["duplicate receipt"])
    assert "a plus de décimales que XOF n'en permet" in page_text(pages["bad amount"])
    assert "n'est pas une valeur valide" in page_text(pages["import preview"])
    assert "La demande F-fr existe déjà" in page_text(pages["claim twice"])
    assert "ligne 2, amount: 'abc' n'est pas un montant" in page_text(pages["receipts import preview"])
    assert "1,5 doit être au moins égal à 0 et inférieur à 1" in page_text(pages["feasibility form"])
    assert "la mutuelle MUT-A tient ses comptes en XOF" in page_text(pages["feasibility currency"])
    assert "saisissez un montant supérieur à 0 en XOF" in page_text(pages["expense refused"])
    assert "rétroacti" in page_text(pages["version in the past"])
    assert (
        json.loads(pages["api fields"])["errors"]["persons[0].sex"] == "Doit être l'une des valeurs suivantes : F, M."
    )
    assert json.loads(pages["api query"])["errors"]["page"] == "Doit être supérieur ou égal à 1."
    assert "le numéro de reçu RB-fr est déjà utilisé" in pages["api receipt"]


def test_the_search_finds_english_on_english_pages(app, world):
    """The same pages in English: the search finds the services' and imports' messages there, so it would find
    them on a French page too."""
    pages = visit(app, world, "en")
    fragments = english_fragments()
    found = english_in(pages["duplicate receipt"], fragments)
    assert any("is already used in this scheme" in line for line in found), found
    assert english_in(pages["claim twice"], fragments)
    assert english_in(pages["import preview"], fragments)
    for name in ("receipts import preview", "feasibility form", "feasibility currency", "api fields", "api query",
                 "expense refused", "version in the past"):  # fmt: skip
        assert english_in(pages[name], fragments), name
