"""Feasibility screens: access, the study form (the Fandène inputs give the published figures), results page
(CSP-safe charts), copy, compare, PDF, study → product → version activation, and experience."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select as db_select

from mhi.core import clock
from mhi.feasibility.models import Study
from mhi.schemes.models import Product, ProductVersion, Scheme
from tests.conftest import EXAMPLES
from tests.factories import login, make_federation, make_resolution, make_scheme, make_user, records
from tests.pages import has_inline_script, page_text

EXPECTED = json.loads((EXAMPLES / "fandene-study-expected.json").read_text(encoding="utf-8"))


def fandene() -> dict:
    """The example study input."""
    return json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"))


def form_data(data: dict, scheme: str = "", **extra) -> dict:
    """The study form's fields for a study input, as a browser would post them."""
    fields = {
        "name": data["name"],
        "scheme": scheme,
        "currency": data["currency"],
        "target_population": str(data["target_population"]),
        "household_size": data["household_size"],
        "insurance_effect": data["insurance_effect"],
        "loading_admin": data["loadings"]["admin"],
        "loading_reserve": data["loadings"]["reserve"],
        "loading_safety": data["loadings"]["safety"],
        "loading_basis": data["loading_basis"],
        "rounding": data.get("rounding", ""),
        "subsidy_share": data["subsidy_share"],
        "per_capita_income": data["per_capita_income"],
        "willingness_to_pay": " ".join(data.get("willingness_to_pay") or []),
        "fixed_costs": data["fixed_costs"],
        "variable_cost_per_beneficiary": data["variable_cost_per_beneficiary"],
        "collection_rate": data["collection_rate"],
        "renewal_rate": data["renewal_rate"],
        "new_enrolment": " ".join(str(n) for n in data["new_enrolment"]),
        "waiting_period_months": str(data["waiting_period_months"]),
        "opening_reserve": data.get("opening_reserve", ""),
        "save": "Run and save",
    }
    for index, service in enumerate(data["services"]):
        for key in ("code", "name", "frequency", "unit_cost", "coverage_rate", "ceiling_per_case"):
            fields[f"services-{index}-{key}"] = service.get(key, "")
    # Two blank rows, as the form offers them: they are left out.
    for index in range(len(data["services"]), len(data["services"]) + 2):
        fields[f"services-{index}-code"] = ""
    return fields | extra


@pytest.fixture
def people(app):
    """Schemes A (federation FA) and B (FB), a manager of each, a reviewer of FA, a clerk of A, an admin."""
    with records(app) as session:
        fed_a, fed_b = make_federation(session, "FA"), make_federation(session, "FB")
        a = make_scheme(session, "MUT-A", federation=fed_a)
        b = make_scheme(session, "MUT-B", federation=fed_b)
        return {
            "manager": make_user(session, "scheme_manager", a),
            "manager_b": make_user(session, "scheme_manager", b),
            "reviewer": make_user(session, "federation_reviewer", federation=fed_a),
            "clerk": make_user(session, "clerk", a),
            "admin": make_user(session, "admin"),
        }


def signed_in(app, user):
    """A new test client signed in as ``user`` (one client per user: a signed-in client stays who it is)."""
    client = app.test_client()
    login(client, user)
    return client


def saved_study(app, client, user, scheme="MUT-A", data=None) -> int:
    """Post a study through the form as ``user`` and return its id."""
    login(client, user)
    response = client.post("/feasibility/new", data=form_data(data or fandene(), scheme))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_access(client, people):
    """Signing in is needed; a clerk has no "feasibility" permission."""
    assert client.get("/feasibility/").status_code == 302
    login(client, people["clerk"])
    assert client.get("/feasibility/").status_code == 403
    assert client.get("/feasibility/new").status_code == 403


def test_fandene_through_the_form_gives_the_published_figures(app, client, people):
    """The web form, fed the Fandène inputs, saves exactly feasibility.md's output."""
    study_id = saved_study(app, client, people["manager"])
    with records(app) as session:
        study = session.get(Study, study_id)
        assert study.result == EXPECTED
        assert study.input["services"][4]["ceiling_per_case"] == "100000"
        assert study.input["willingness_to_pay"] == ["2000", "3000", "3500", "3600", "4000", "5000"]
    page = client.get(f"/feasibility/{study_id}").get_data(as_text=True)
    plain = page.replace("\u202f", " ").replace("\xa0", " ")
    for figure in ("7,000", "583", "42,000", "2,971", "74.2", "1,390,800", "3,057,696"):
        assert figure in plain, figure
    assert "frequency" in page.lower() and "Sensitivity" in page
    assert "from 2,971 beneficiaries on" in plain  # the break-even explained in words


def test_results_page_is_csp_safe(app, client, people):
    """Charts are inline SVG coloured by class: no style attribute, no script (the CSP would block them)."""
    study_id = saved_study(app, client, people["manager"])
    response = client.get(f"/feasibility/{study_id}")
    page = response.get_data(as_text=True)
    assert "<svg" in page and 'class="series-renewed"' in page
    assert not re.search(r"\sstyle=", page)
    assert not has_inline_script(page)
    assert "css/feasibility.css" in page
    css = client.get("/static/css/feasibility.css")
    assert css.status_code == 200 and b".series-renewed" in css.data
    css.close()  # a static file response holds the file open until closed


def test_bad_input_is_shown_beside_the_fields_and_nothing_saved(app, client, people):
    """Errors from the method go beside their field (a service row, a loading, a year); nothing is saved."""
    login(client, people["manager"])
    data = form_data(
        fandene(), "MUT-A", **{"services-1-unit_cost": "3 00 0", "loading_admin": "", "new_enrolment": "1800 x 900"}
    )
    response = client.post("/feasibility/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "&#39;3 00 0&#39; is not a number" in page or "'3 00 0' is not a number" in page
    assert "is missing" in page
    assert "year 2:" in page
    with records(app) as session:
        assert session.query(Study).count() == 0


def test_bad_input_is_shown_in_french_to_a_french_manager(app, people):
    """The method's errors are message ids: a French manager reads them in French beside the fields (numbers as
    French writes them), an English one in English; the command line's English is unchanged (test_cli.py)."""
    with records(app) as session:
        a = session.scalar(db_select(Scheme).where(Scheme.code == "MUT-A"))
        french = make_user(session, "scheme_manager", a, locale="fr")
    client = app.test_client()
    login(client, french)
    data = form_data(
        fandene(),
        "MUT-A",
        **{"services-1-unit_cost": "abc", "loading_admin": "", "subsidy_share": "1,5", "new_enrolment": "1800 x 900"},
    )
    page = page_text(client.post("/feasibility/new", data=data).get_data(as_text=True))
    assert "'abc' n'est pas un nombre (des chiffres sont attendus, avec la virgule" in page
    assert "Chargement : gestion est à renseigner" in page
    assert "1,5 doit être au moins égal à 0 et inférieur à 1" in page
    assert "année 2 : 'x' doit être un nombre entier" in page
    assert "is missing" not in page and "is not a number" not in page and "must be at least" not in page


def test_add_row_re_shows_the_form_with_one_more_row(app, client, people):
    """ "Add a service row" is a plain submit: the form comes back with one more blank row, nothing saved."""
    login(client, people["manager"])
    data = form_data(fandene(), "MUT-A")
    del data["save"]
    data["add_service"] = "Add a service row"
    page = client.post("/feasibility/new", data=data).get_data(as_text=True)
    assert 'name="services-7-code"' in page and 'name="services-8-code"' not in page
    with records(app) as session:
        assert session.query(Study).count() == 0


def test_other_scheme_study_is_404(app, client, people):
    """A study of scheme A is not found for B's manager; A's federation reviewer sees it."""
    study_id = saved_study(app, client, people["manager"])
    other = signed_in(app, people["manager_b"])
    assert other.get(f"/feasibility/{study_id}").status_code == 404
    assert other.get(f"/feasibility/{study_id}/pdf").status_code == 404
    assert other.post(f"/feasibility/{study_id}/copy").status_code == 404
    assert other.get(f"/feasibility/{study_id}/product").status_code == 404
    assert signed_in(app, people["reviewer"]).get(f"/feasibility/{study_id}").status_code == 200


def test_copy_compare_and_pdf(app, client, people):
    """A copy opens in the form; two studies compare side by side; the PDF downloads."""
    study_id = saved_study(app, client, people["manager"])
    response = client.post(f"/feasibility/{study_id}/copy")
    assert response.status_code == 302
    copy_id = int(response.headers["Location"].split("/")[-2])
    changed = fandene() | {"name": "Sans subvention", "subsidy_share": "0"}
    assert client.post(f"/feasibility/{copy_id}/edit", data=form_data(changed, "MUT-A")).status_code == 302
    page = client.get(f"/feasibility/compare?ids={study_id}&ids={copy_id}").get_data(as_text=True)
    assert "Sans subvention" in page and "Last year of the projection" in page
    assert page.replace("\u202f", " ").replace("\xa0", " ").count("2,772") == 2  # year 3's beneficiaries
    assert client.get(f"/feasibility/compare?ids={study_id}").status_code == 302  # one is not a comparison
    response = client.get(f"/feasibility/{study_id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")


def test_study_to_product_to_active_version(app, client, people):
    """Make a product of a study, see its draft, refuse activation without a fitting study, then activate."""
    study_id = saved_study(app, client, people["manager"])
    start = clock.today() + timedelta(days=30)
    response = client.post(
        f"/feasibility/{study_id}/product",
        data={
            "scheme": "MUT-A",
            "code": "STEP",
            "name": "Paquet STEP",
            "period_months": "1",
            "effective_from": start.isoformat(),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    version_url = response.headers["Location"]
    with records(app) as session:
        version = session.query(ProductVersion).join(Product).filter(Product.code == "STEP").one()
        assert (version.amount, version.status, version.study_id) == (Decimal(583), "draft", study_id)
        version_id = version.id
    page = client.get(version_url).get_data(as_text=True)
    assert "made in the application" in page and "74.2" in page
    # A change of coverage makes the study no longer fit: activation is refused with the reason.
    edit = client.get(f"/feasibility/versions/{version_id}/edit").get_data(as_text=True)
    assert 'name="benefits-5-code"' in edit  # five benefits and one blank row
    form = {
        "effective_from": start.isoformat(),
        "basis": "person",
        "amount": "583",
        "period_months": "1",
        "registration_fee": "0",
        "waiting_period_days": "90",
        "grace_period_days": "30",
        "save": "Save",
    }
    for index, (code, rate) in enumerate(
        [("OPD", "0.8"), ("DRUG", "0.6"), ("LAB", "0.8"), ("MAT", "0.8"), ("HOSP", "0.8")]
    ):
        form |= {
            f"benefits-{index}-code": code,
            f"benefits-{index}-name": code,
            f"benefits-{index}-kind": "service",
            f"benefits-{index}-coverage_rate": rate,
        }
    form["benefits-4-ceiling_per_case"] = "100000"
    assert client.post(f"/feasibility/versions/{version_id}/edit", data=form).status_code == 302
    activate = {"confirmed": "yes"}
    page = client.post(f"/feasibility/versions/{version_id}/activate", data=activate, follow_redirects=True).get_data(
        as_text=True
    )
    # Rates are numbers written the reader's way (0.5 in English, 0,5 in French).
    assert "cannot be activated" in page and "DRUG: the study covers 0.5, this version 0.6" in page
    form["benefits-1-coverage_rate"] = "0.5"
    assert client.post(f"/feasibility/versions/{version_id}/edit", data=form).status_code == 302
    # Without a resolution of the members, the study is not enough (C102 art. 72).
    page = client.post(f"/feasibility/versions/{version_id}/activate", data=activate, follow_redirects=True).get_data(
        as_text=True
    )
    assert "cannot be activated" in page and "choose the resolution" in page
    assert "No adopted resolution can support this activation yet" in page
    with records(app) as session:
        scheme = session.query(Scheme).filter_by(code="MUT-A").one()
        resolution_id = make_resolution(session, scheme, held_on=clock.today()).id
        session.commit()
    page = client.get(f"/feasibility/versions/{version_id}").get_data(as_text=True)
    assert f'<option value="{resolution_id}">' in page
    chosen = {"resolution": str(resolution_id)}
    asked = client.post(f"/feasibility/versions/{version_id}/activate", data=chosen).get_data(as_text=True)
    assert "This cannot be undone." in asked and "An active version is history" in asked
    assert f'value="{resolution_id}"' in asked  # the choice is carried through the confirmation
    with records(app) as session:
        assert session.get(ProductVersion, version_id).status == "draft"
    page = client.post(
        f"/feasibility/versions/{version_id}/activate", data=activate | chosen, follow_redirects=True
    ).get_data(as_text=True)
    assert "is active from" in page
    assert "Decision of the members" in page and f"#resolution-{resolution_id}" in page
    with records(app) as session:
        version = session.get(ProductVersion, version_id)
        assert (version.status, version.resolution_id) == ("active", resolution_id)
    # The study now backs a version: it cannot change, only be copied.
    assert "Change</a>" not in client.get(f"/feasibility/{study_id}").get_data(as_text=True)


def test_file_versions_are_marked_and_reviewers_cannot_change_them(app, client, people):
    """A version loaded from scheme.json is marked as set up outside the application; a reviewer sees, not acts."""
    with records(app) as session:
        # MUT-A and MUT-B both have a BASE product: name the manager's scheme and the first version, or PostgreSQL
        # may hand back the other scheme's row (no order without ORDER BY).
        version = (
            session.query(ProductVersion)
            .join(Product)
            .join(Scheme, Scheme.id == Product.scheme_id)
            .filter(Product.code == "BASE", Scheme.code == "MUT-A")
            .order_by(ProductVersion.id)
            .first()
        )
        product_id, version_id = version.product_id, version.id
        other = session.query(ProductVersion).join(Product).filter(Product.scheme_id != version.product.scheme_id)
        other_id = other.order_by(ProductVersion.id).first().id
    login(client, people["manager"])
    page = client.get(f"/feasibility/products/{product_id}").get_data(as_text=True)
    assert "outside the application" in page
    assert client.get(f"/feasibility/versions/{other_id}").status_code == 404
    response = client.post(
        f"/feasibility/products/{product_id}/versions",
        data={"effective_from": (clock.today() + timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 302
    draft_page = client.get(response.headers["Location"].replace("/edit", "")).get_data(as_text=True)
    assert "outside the application" in draft_page  # the version it replaces came from the file
    reviewer = signed_in(app, people["reviewer"])
    assert reviewer.get(f"/feasibility/versions/{version_id}").status_code == 200
    assert reviewer.post(f"/feasibility/versions/{version_id}/activate").status_code == 403
    assert reviewer.get(f"/feasibility/{version_id}/product").status_code == 403
    assert reviewer.get(f"/feasibility/products/{product_id}").status_code == 200


def test_experience_page_and_prefilled_form(app, client, people):
    """The experience page of a scheme shows its benefits; the study form can be pre-filled from it."""
    login(client, people["manager"])
    page = client.get("/feasibility/schemes/MUT-A/experience").get_data(as_text=True)
    assert "OPD" in page and "HOSP" in page and "Exposure" in page
    assert client.get("/feasibility/schemes/MUT-B/experience").status_code == 404
    form = client.get("/feasibility/new?experience=MUT-A&product=BASE").get_data(as_text=True)
    assert 'value="XOF"' in form and 'value="0"' in form  # insurance effect 0: observed use is already insured


def test_run_at_is_recent(app, client, people):
    """A saved study records when it was run (activation needs a run within 12 months)."""
    study_id = saved_study(app, client, people["admin"], scheme="")
    with records(app) as session:
        study = session.get(Study, study_id)
        assert clock.stored_now() - study.run_at < timedelta(minutes=5)
        assert study.scheme_id is None
