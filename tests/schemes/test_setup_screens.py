"""The scheme's set-up on screen (issue 12): providers and dated tariffs, subsidy programmes and dated terms, the
expense book and its upload, the ZIP export — each change audited, bad input refused naming the field with
nothing written, managers only, and every screen's change surviving ``export scheme`` and a reload."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mhi.core.audit import AuditEvent
from mhi.schemes.models import Expense, Provider, Scheme, SubsidyProgramme, Tariff
from mhi.schemes.setup import SetupInputError, reverse_expense
from tests.conftest import EXAMPLES, empty_database
from tests.factories import login, make_user, records
from tests.replay.machinery import PERIOD, run

CODE = "MUT-NDIAGANE"
FOLDER = EXAMPLES / "ndiagane" / CODE
BASE = f"/schemes/{CODE}"


def load_example(runner) -> None:
    run(runner, "federation", "load", str(EXAMPLES / "ndiagane" / "federation.json"))
    run(runner, "scheme", "load", str(FOLDER / "scheme.json"))
    for what in ("members", "contributions", "subsidy-receipts", "claims", "expenses"):
        run(runner, "import", what, "--scheme", CODE, str(FOLDER / f"{what.replace('-', '_')}.csv"))


@pytest.fixture
def manager(app, runner, client):
    load_example(runner)
    with records(app) as session:
        scheme = session.scalar(select(Scheme).where(Scheme.code == CODE))
        user = make_user(session, "scheme_manager", scheme)
        clerk = make_user(session, "clerk", scheme)
    login(client, user)
    return {"user": user, "clerk": clerk}


def post(client, url: str, data: dict, *, ok: bool = True) -> str:
    """POST a form; a saved form redirects, a refused one answers 200 with the page and its messages."""
    response = client.post(url, data=data)
    assert response.status_code == (302 if ok else 200), (url, response.status_code)
    return response.get_data(as_text=True)


def count(app, model, *where) -> int:
    with records(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def figures(runner) -> tuple[str, str]:
    return (
        run(runner, "claims", "export", "--scheme", CODE),
        run(runner, "report", "indicators", "--scheme", CODE, *PERIOD, "--format", "json"),
    )


def test_every_setup_screen_round_trips_through_export_scheme(app, runner, client, manager, tmp_path):
    # Providers: a new one, an edited one, an amendment (after the example's care: decided claims keep theirs).
    post(client, f"{BASE}/setup/providers/new", {"code": "CS-NEW", "name": "Centre nouveau", "kind": "health_centre",
         "contract_from": "2025-01-01", "contract_to": "", "tariff_OPD": "2000", "tariff_HOSP": "", "tariff_MAT": ""})  # fmt: skip
    post(client, f"{BASE}/setup/providers/HR-THIES/edit", {"name": "Hôpital régional El Hadji Ahmadou Sakhir Ndiéguène",
         "kind": "hospital", "contract_from": "2024-01-01", "contract_to": "2026-12-31"})  # fmt: skip
    post(client, f"{BASE}/setup/providers/PS-NDIAGANE/tariffs", {"effective_from": "2026-02-01", "tariff_OPD": "1200",
         "tariff_HOSP": "", "tariff_MAT": "18000"})  # fmt: skip
    # Programmes: a new one, an edited one, new terms of another.
    post(client, f"{BASE}/setup/programmes/new", {"code": "COMMUNE", "funder": "Commune de Ndiagane",
         "categories": "indigent", "share": "0.1", "valid_from": "2026-02-01", "valid_to": ""})  # fmt: skip
    post(client, f"{BASE}/setup/programmes/ONG-APPUI/edit", {"funder": "ONG partenaire", "valid_to": "2025-06-30"})
    post(client, f"{BASE}/setup/programmes/CMU-50/terms", {"effective_from": "2026-02-01", "share": "0.4",
         "categories": "standard, indigent, vulnerable"})  # fmt: skip
    # The expense book: one entered, one reversed.
    post(client, f"{BASE}/expenses/new", {"reference": "PC_2025.9001", "date": "2025-03-01", "category": "transport",
         "amount": "4500", "description": "Mission de collecte"})  # fmt: skip
    with records(app) as session:
        wrong = session.scalar(select(Expense).where(Expense.reference == "PC_2024.0002"))
    post(client, f"{BASE}/expenses/{wrong.id}/reverse", {"reason": "Loyer saisi deux fois"})
    page = client.get(f"{BASE}/expenses?year=2024").get_data(as_text=True)
    assert "reversed by PC_2024.0002-R" in page and "Loyer saisi deux fois" in page
    with records(app) as session:
        actions = {(e.entity, e.action) for e in session.scalars(select(AuditEvent).where(AuditEvent.actor_id == manager["user"].id))}  # fmt: skip
    assert {("provider", "create"), ("provider", "update"), ("provider", "tariffs"), ("subsidy_programme", "create"),
            ("subsidy_programme", "update"), ("subsidy_programme", "new_terms"), ("expense", "record"),
            ("expense", "reverse")} <= actions  # fmt: skip

    before = figures(runner)
    archive = client.get(f"{BASE}/export.zip")
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert {n.split("/", 1)[1] for n in names} >= {"scheme.json", "members.csv", "claims.csv", "expenses.csv"}
    run(runner, "export", "scheme", "--scheme", CODE, "--out", str(tmp_path / "out"))
    zipped = zipfile.ZipFile(io.BytesIO(archive.data))
    folder = names[0].split("/", 1)[0]
    assert zipped.read(f"{folder}/scheme.json").decode() == (tmp_path / "out" / "scheme.json").read_text()

    empty_database(app)
    run(runner, "federation", "load", str(tmp_path / "out" / "federation.json"))
    run(runner, "scheme", "load", str(tmp_path / "out" / "scheme.json"))
    for what in ("members", "categories", "product-changes", "contributions", "subsidy-receipts", "claims", "expenses"):
        run(runner, "import", what, "--scheme", CODE, str(tmp_path / "out" / f"{what.replace('-', '_')}.csv"))
    assert figures(runner) == before
    with records(app) as session:
        providers = {p.code: p for p in session.scalars(select(Provider))}
        assert providers["CS-NEW"].tariffs_on(date(2025, 6, 1)) == {"OPD": Decimal(2000)}
        assert providers["HR-THIES"].name.startswith("Hôpital régional El Hadji")
        assert providers["HR-THIES"].contract_to == date(2026, 12, 31)
        post_ = providers["PS-NDIAGANE"]
        assert post_.tariffs_on(date(2026, 1, 31)) == {"OPD": Decimal(1500)}
        assert post_.tariffs_on(date(2026, 2, 1)) == {"OPD": Decimal(1200), "MAT": Decimal(18000)}
        programmes = {p.code: p for p in session.scalars(select(SubsidyProgramme))}
        assert programmes["COMMUNE"].terms[0].share == Decimal("0.1")
        assert programmes["ONG-APPUI"].funder == "ONG partenaire"
        assert [(t.effective_from, t.share) for t in programmes["CMU-50"].terms] == [
            (date(2024, 1, 1), Decimal("0.5")), (date(2026, 2, 1), Decimal("0.4"))
        ]  # fmt: skip
        refs = set(session.scalars(select(Expense.reference)))
        assert "PC_2025.9001" in refs and "PC_2024.0002" not in refs  # a reversed expense nets to nothing


def test_bad_input_names_the_field_and_writes_nothing(app, runner, client, manager):
    tariffs = count(app, Tariff)
    page = post(client, f"{BASE}/setup/providers/CLIN-NDIAGANE/tariffs", {"effective_from": "2024-02-01",
                "tariff_OPD": "3000", "tariff_HOSP": "", "tariff_MAT": ""}, ok=False)  # fmt: skip
    assert "before the contract starts (2024-03-01)" in page and 'id="effective_from-error"' in page
    page = post(client, f"{BASE}/setup/providers/CLIN-NDIAGANE/tariffs", {"effective_from": "2025-01-01",
                "tariff_OPD": "-5", "tariff_HOSP": "", "tariff_MAT": ""}, ok=False)  # fmt: skip
    assert 'id="tariff_OPD-error"' in page
    assert count(app, Tariff) == tariffs
    expenses = count(app, Expense)
    page = post(client, f"{BASE}/expenses/new", {"reference": "X-1", "date": "2025-03-01", "category": "transport",
                "amount": "-4500", "description": ""}, ok=False)  # fmt: skip
    assert 'id="amount-error"' in page and "above 0" in page
    with records(app) as session:
        expense = session.scalar(select(Expense).where(Expense.reference == "PC_2024.0001"))
    page = post(client, f"{BASE}/expenses/{expense.id}/reverse", {"reason": "  "}, ok=False)
    assert 'id="reason-error"' in page
    page = post(client, f"{BASE}/setup/programmes/CMU-50/terms", {"effective_from": "2024-01-01", "share": "0.4",
                "categories": "standard"}, ok=False)  # fmt: skip
    assert "choose a later date" in page
    page = post(client, f"{BASE}/setup/providers/new", {"code": "PS-NDIAGANE", "name": "x", "kind": "clinic",
                "contract_from": "2025-01-01", "contract_to": "", "tariff_OPD": "", "tariff_HOSP": "", "tariff_MAT": ""}, ok=False)  # fmt: skip
    assert "already used" in page
    assert count(app, Expense) == expenses
    # An expenses file with an unknown column: the preview names it, and nothing is imported.
    response = client.post(f"{BASE}/imports/expenses", data={"file": (io.BytesIO(
        b"reference,date,category,amount,descripton\nE-1,2025-01-02,staff,100,x\n"), "expenses.csv")},
        content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 200 and "descripton" in response.get_data(as_text=True)
    assert count(app, Expense) == expenses


def test_a_reversal_needs_a_reason_and_happens_once(app, runner, manager):
    with records(app) as session:
        expense = session.scalar(select(Expense).where(Expense.reference == "PC_2024.0001"))
        with pytest.raises(SetupInputError) as refused:
            reverse_expense(session, expense, reason="", actor=None)
        assert refused.value.field == "reason"
        reverse_expense(session, expense, reason="double", actor=None)
        with pytest.raises(SetupInputError):
            reverse_expense(session, expense, reason="again", actor=None)
        session.rollback()


def test_the_screens_are_for_managers_only(app, runner, client, manager):
    client.post("/logout")
    login(client, manager["clerk"])
    with records(app) as session:
        expense_id = session.scalar(select(Expense.id).limit(1))
    for url in (
        "/setup/providers/new", "/setup/providers/PS-NDIAGANE/edit", "/setup/providers/PS-NDIAGANE/tariffs",
        "/setup/programmes/new", "/setup/programmes/CMU-50/edit", "/setup/programmes/CMU-50/terms",
        "/expenses", "/expenses/new", f"/expenses/{expense_id}/reverse", "/imports/expenses", "/export.zip",
    ):  # fmt: skip
        assert client.get(BASE + url).status_code == 403, url
    assert "Download the whole scheme" not in client.get(BASE).get_data(as_text=True)


def test_french_pages(app, runner, client, manager):
    with records(app) as session:
        from mhi.auth.models import User

        session.get(User, manager["user"].id).locale = "fr"
        session.commit()
    page = client.get(f"{BASE}/expenses?year=2024").get_data(as_text=True)
    assert "Livre des dépenses" in page
    page = post(client, f"{BASE}/expenses/new", {"reference": "X-1", "date": "2025-03-01", "category": "transport",
                "amount": "-1", "description": ""}, ok=False)  # fmt: skip
    assert "supérieur à 0" in page
