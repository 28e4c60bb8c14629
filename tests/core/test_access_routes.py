"""Every registered route checks who may use it (issue "Foundation"): table-driven over ``app.url_map``, so a
new route without ``@permission_required`` or ``@public`` fails here.

For each rule and method: anonymous visitors are sent to the login page (unless public), each role lacking the
permission gets 403, each role holding it never gets 403. URL arguments are filled with records of a small
fixture set, or with dummy values that give 404 — both prove the permission check ran first.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from mhi.auth.models import ROLES, User
from mhi.auth.tokens import create_token
from mhi.core import clock
from mhi.core.access import PERMISSIONS, has_permission
from mhi.core.db import db
from mhi.core.problems import API_PREFIXES
from tests.factories import login, make_federation, make_scheme, make_user, records

UNCHECKED_METHODS = {"HEAD", "OPTIONS"}


def guarded_rules(app):
    """Every rule but the static files, with its view function."""
    return [(rule, app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


@pytest.fixture
def world(app):
    """Two federations, a scheme in each (plus one on its own), and one user of each role on scheme A / F1."""
    with records(app) as session:
        f1 = make_federation(session, "F1")
        f2 = make_federation(session, "F2")
        scheme_a = make_scheme(session, "MUT-A", federation=f1)
        scheme_b = make_scheme(session, "MUT-B", federation=f2)
        make_scheme(session, "MUT-C")
        users = {}
        for role in ROLES:
            users[role] = make_user(
                session,
                role,
                scheme=scheme_a if role not in ("admin", "federation_reviewer") else None,
                federation=f1 if role == "federation_reviewer" else None,
            )
    return {"f1": f1, "f2": f2, "a": scheme_a, "b": scheme_b, "users": users}


def url_for_rule(rule, world) -> str:
    """The rule's URL with its arguments filled: the fixture's records by name, else a value giving 404."""
    known = {
        "code": world["a"].code,
        "scheme_code": world["a"].code,
        "federation_code": world["f1"].code,
        "user_id": world["users"]["clerk"].id,
    }
    values = {}
    for name in rule.arguments:
        converter = rule._converters.get(name)
        kind = type(converter).__name__ if converter else ""
        if name in known:
            values[name] = known[name]
        elif isinstance(converter, NumberConverter):  # the application's bounded ``int`` too
            values[name] = 999999
        elif kind == "PathConverter":
            values[name] = "no/such/path"
        elif kind == "AnyConverter":  # a choice such as the download format: any of its values
            values[name] = sorted(rule._converters[name].items)[0]
        else:
            values[name] = "NO-SUCH-RECORD"
    return rule.build(values, append_unknown=False)[1]


def methods_of(rule) -> list[str]:
    """The methods a rule answers, without those Flask adds by itself."""
    return sorted(rule.methods - UNCHECKED_METHODS)


class Crashed:
    """Stands for the answer of a view that raised, so one broken page does not hide the others."""

    def __init__(self, error: Exception):
        self.status_code = f"crash ({type(error).__name__}: {str(error)[:120]})"
        self.headers = {}


def request(client, method: str, url: str):
    """One request, never following redirects; an exception in the view is reported, not raised."""
    try:
        return client.open(url, method=method, follow_redirects=False)
    except Exception as error:  # noqa: BLE001 — listed with the route in the failure message
        return Crashed(error)


def test_every_route_declares_its_permission(app):
    unguarded = [rule.rule for rule, view in guarded_rules(app) if not hasattr(view, "required_permission")]

    assert not unguarded, "routes without @permission_required or @public: " + ", ".join(unguarded)


def test_declared_permissions_are_known(app):
    unknown = [
        (rule.rule, view.required_permission)
        for rule, view in guarded_rules(app)
        if view.required_permission is not None and view.required_permission not in PERMISSIONS
    ]

    assert not unknown


def is_api(rule) -> bool:
    """Routes for programs (mhi/core/problems.py): refusals are JSON, never a redirect."""
    return rule.rule.startswith(API_PREFIXES)


def test_anonymous_visitors_are_sent_to_the_login_page(app, client, world):
    wrong = []
    for rule, view in guarded_rules(app):
        if view.required_permission is None:
            continue
        url = url_for_rule(rule, world)
        for method in methods_of(rule):
            response = request(client, method, url)
            location = response.headers.get("Location", "")
            if is_api(rule):
                if response.status_code != 401 or location or "json" not in response.mimetype:
                    wrong.append(f"{method} {url} → {response.status_code} {location} (an API route: 401 JSON)")
            elif response.status_code != 302 or "/login" not in location:
                wrong.append(f"{method} {url} → {response.status_code} {location}")

    assert not wrong, "anonymous access not sent to the login page:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_what_its_permissions_allow(app, world, role):
    user = world["users"][role]
    client = app.test_client()
    login(client, user)
    wrong = []
    for rule, view in guarded_rules(app):
        permission = view.required_permission
        if permission is None or rule.endpoint == "auth.logout":
            continue  # public pages; signing out would end the rest of this walk
        url = url_for_rule(rule, world)
        allowed = has_permission(user, permission)
        for method in methods_of(rule):
            if allowed and method != "GET":
                continue  # a POST by a holder would change data; the GET proves the check lets them in
            status = request(client, method, url).status_code
            if allowed and (status == 403 or isinstance(status, str) or status >= 500):
                wrong.append(f"{method} {url} ({permission}) → {status} although {role} holds it")
            if not allowed and status != 403:
                wrong.append(f"{method} {url} ({permission}) → {status}, expected 403 for {role}")

    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_a_token_reaches_exactly_what_its_accounts_permissions_allow(app, world, role):
    """The route matrix with an API token instead of a session: a route that accepts tokens answers as it does
    to the account's session; every other route refuses the token (401)."""
    user = world["users"][role]
    with app.app_context():
        _token, secret = create_token(db.session, db.session.get(type(user), user.id))
        db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    wrong = []
    for rule, view in guarded_rules(app):
        permission = view.required_permission
        if permission is None:
            continue
        url = url_for_rule(rule, world)
        allowed = has_permission(user, permission)
        for method in methods_of(rule):
            if not getattr(view, "accepts_token", False):
                status = client.open(url, method=method, headers=headers).status_code
                if status != 401:
                    wrong.append(f"{method} {url} → {status}: a screen must refuse a token (401)")
                continue
            if allowed and method != "GET":
                continue
            status = request_with(client, method, url, headers).status_code
            if allowed and (status in (401, 403) or isinstance(status, str) or status >= 500):
                wrong.append(f"{method} {url} ({permission}) → {status} although {role}'s token holds it")
            if not allowed and status != 403:
                wrong.append(f"{method} {url} ({permission}) → {status}, expected 403 for {role}'s token")

    assert not wrong, "\n".join(wrong)


def test_a_token_of_another_scheme_gets_404_on_every_token_route(app, world):
    """Scope, not only permission: a manager of scheme B (and a reviewer of F2) asking for scheme A's (F1's)
    records through any route of a scheme or federation that accepts tokens is told they do not exist — for
    every method. (FHIR addresses name no scheme: tests/fhir checks their scope record by record.)"""
    with records(app) as session:
        manager_b = make_user(session, "scheme_manager", scheme=world["b"])
        reviewer_f2 = make_user(session, "federation_reviewer", federation=world["f2"])
    headers = {}
    for name, user in (("manager", manager_b), ("reviewer", reviewer_f2)):
        with app.app_context():
            _token, secret = create_token(db.session, db.session.get(type(user), user.id))
            db.session.commit()
        headers[name] = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    wrong = []
    checked = 0
    for rule, view in guarded_rules(app):
        if not getattr(view, "accepts_token", False) or not {"code", "federation_code"} & set(rule.arguments):
            continue
        url = url_for_rule(rule, world)
        for method in methods_of(rule):
            for name, user in (("manager", manager_b), ("reviewer", reviewer_f2)):
                status = request_with(client, method, url, headers[name]).status_code
                expected = 404 if has_permission(user, view.required_permission) else 403
                checked += 1
                if status != expected:
                    wrong.append(f"{method} {url} → {status} for scheme B's {name}, expected {expected}")

    assert checked > 30
    assert not wrong, "\n".join(wrong)


def request_with(client, method: str, url: str, headers: dict):
    """``request`` with headers (an API token)."""
    try:
        return client.open(url, method=method, headers=headers, follow_redirects=False)
    except Exception as error:  # noqa: BLE001 — listed with the route in the failure message
        return Crashed(error)


def test_logout_is_refused_to_anonymous_and_allowed_to_every_role(app, world):
    for role in ROLES:
        client = app.test_client()
        login(client, world["users"][role])

        response = client.post("/logout")

        assert response.status_code == 302
        assert client.get("/").status_code == 302  # signed out: the dashboard sends to the login page


@pytest.mark.parametrize("role", ["scheme_manager", "clerk", "claims_officer", "auditor"])
def test_a_scheme_user_gets_404_on_another_schemes_pages(app, world, role):
    client = app.test_client()
    login(client, world["users"][role])
    other = world["b"].code

    assert client.get(f"/schemes/{world['a'].code}").status_code == 200
    assert client.get(f"/schemes/{other}").status_code == 404
    assert client.get("/schemes/NO-SUCH").status_code == 404
    if role == "scheme_manager":
        assert client.get(f"/schemes/{world['a'].code}/edit").status_code == 200
        assert client.get(f"/schemes/{other}/edit").status_code == 404
        assert client.post(f"/schemes/{other}/edit", data={"name": "Taken over"}).status_code == 404
    listing = client.get("/schemes").get_data(as_text=True)
    assert world["a"].code in listing and other not in listing


def test_a_federation_reviewer_sees_only_its_federation(app, world):
    client = app.test_client()
    login(client, world["users"]["federation_reviewer"])

    assert client.get(f"/federations/{world['f1'].code}").status_code == 200
    assert client.get(f"/federations/{world['f2'].code}").status_code == 404
    assert client.get(f"/schemes/{world['a'].code}").status_code == 200
    assert client.get(f"/schemes/{world['b'].code}").status_code == 404
    assert client.get("/schemes/MUT-C").status_code == 404
    assert client.get(f"/schemes/{world['a'].code}/edit").status_code == 403


def test_the_dashboard_lists_only_the_users_schemes(app, world):
    client = app.test_client()
    login(client, world["users"]["clerk"])

    page = client.get("/").get_data(as_text=True)

    assert "MUT-A" in page and "MUT-B" not in page and "MUT-C" not in page


def test_the_admin_sees_every_scheme(app, world):
    client = app.test_client()
    login(client, world["users"]["admin"])

    page = client.get("/").get_data(as_text=True)

    assert all(code in page for code in ("MUT-A", "MUT-B", "MUT-C"))
    assert client.get(f"/schemes/{world['b'].code}/edit").status_code == 200


def test_the_dashboard_counts_come_from_the_register(app, world):
    from datetime import date

    from mhi.members.models import Household, Person

    with records(app) as session:
        product_id = session.get(type(world["a"]), world["a"].id).products[0].id
        household = Household(
            scheme_id=world["a"].id, ref="H/1", product_id=product_id, enrolment_date=date(2024, 1, 1)
        )
        session.add(household)
        session.flush()
        for n, (relation, exit_date) in enumerate([("head", None), ("child", None), ("spouse", date(2024, 6, 1))]):
            session.add(
                Person(
                    scheme_id=world["a"].id,
                    household_id=household.id,
                    member_no=f"A-{n}",
                    first_name="Awa",
                    last_name="Diop",
                    sex="F",
                    date_of_birth=date(1990, 1, 1),
                    relation=relation,
                    enrolment_date=date(2024, 1, 1),
                    exit_date=exit_date,
                )
            )
        session.commit()
    client = app.test_client()
    login(client, world["users"]["clerk"])

    page = client.get("/").get_data(as_text=True)

    assert "Households in the register</dt>\n      <dd>1</dd>" in page
    assert "Persons in the register</dt>\n      <dd>2</dd>" in page  # the spouse has left


def test_error_pages_speak_the_users_language(app, world):
    client = app.test_client()
    client.post("/language", data={"lang": "fr"})

    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert '<html lang="fr">' in response.get_data(as_text=True)
    assert client.get("/logout").status_code == 405


def test_the_dashboard_shows_what_needs_action_to_those_who_act(app, world):
    from datetime import date, timedelta
    from decimal import Decimal

    from mhi.claims.models import Claim
    from mhi.members.models import Household

    today = clock.today()
    with records(app) as session:
        product_id = session.get(type(world["a"]), world["a"].id).products[0].id
        for ref, strike_off in (("H/1", today + timedelta(days=10)), ("H/2", today + timedelta(days=45))):
            session.add(
                Household(
                    scheme_id=world["a"].id, ref=ref, product_id=product_id, enrolment_date=date(2024, 1, 1),
                    strike_off_date=strike_off,
                )
            )  # fmt: skip
        for ref, status, paid_on in (("C1", "APPROVED", None), ("C2", "REDUCED", today), ("C3", "REJECTED", None)):
            session.add(
                Claim(
                    scheme_id=world["a"].id, claim_ref=ref, member_no="X", benefit_code="OPD",
                    date_of_service=today, date_submitted=today, recorded_on=today, amount_claimed=Decimal(1000),
                    status=status, amount_approved=Decimal(0 if status == "REJECTED" else 800), paid_on=paid_on,
                )
            )  # fmt: skip
        session.commit()
    manager, clerk = app.test_client(), app.test_client()
    login(manager, world["users"]["scheme_manager"])
    login(clerk, world["users"]["clerk"])

    page = manager.get("/").get_data(as_text=True)
    clerk_page = clerk.get("/").get_data(as_text=True)

    assert "Households to be struck off within 30 days</dt>\n      <dd>1</dd>" in page
    assert "Approved claims awaiting payment</dt>\n      <dd>1</dd>" in page
    assert "Households to be struck off within 30 days" in clerk_page
    assert "Approved claims awaiting payment" not in clerk_page  # claims are not a clerk's business


#: The arguments that name one provider's record: a facility desk of another provider never reaches it.
PROVIDER_RECORDS = {"claim_id", "batch_id", "attachment_id", "claim_ref", "letter_id"}


def _facility_records(app, world) -> dict:
    """In scheme A: providers X and Y, a desk of each, and X's claim (with a scanned bill), batch and letter."""
    import io
    from datetime import date
    from decimal import Decimal

    from PIL import Image

    from mhi.claims.attachments import add_attachment, add_draft_attachment
    from mhi.claims.models import Claim, ClaimDecision, ClaimDraft, ClaimDraftLine, GuaranteeLetter, PaymentBatch
    from mhi.members.models import Household, Person
    from mhi.schemes.models import Product, Provider

    with records(app) as session:
        scheme = world["a"]
        x, y = (Provider(scheme_id=scheme.id, code=code, name=code, contract_from=date(2024, 1, 1)) for code in "XY")
        session.add_all([x, y])
        session.flush()
        batch = PaymentBatch(scheme_id=scheme.id, provider_id=x.id, number="PAY-X-1")
        session.add(batch)
        session.flush()
        claim = Claim(
            scheme_id=scheme.id, claim_ref="X-1", member_no="M-1", provider_code="X", provider_id=x.id,
            benefit_code="OPD", date_of_service=date(2025, 3, 1), date_submitted=date(2025, 3, 1),
            recorded_on=date(2025, 3, 1), amount_claimed=Decimal(1000), status="APPROVED",
            amount_approved=Decimal(1000), batch_id=batch.id,
        )  # fmt: skip
        session.add(claim)
        session.flush()
        session.add(
            ClaimDecision(claim_id=claim.id, seq=1, kind="automatic", status="APPROVED", amount_approved=Decimal(1000))
        )
        product_id = session.scalar(select(Product.id).where(Product.scheme_id == scheme.id))
        household = Household(scheme_id=scheme.id, ref="H-X", product_id=product_id, enrolment_date=date(2024, 1, 1))
        session.add(household)
        session.flush()
        person = Person(
            scheme_id=scheme.id, household_id=household.id, member_no="M-1", first_name="A", last_name="B",
            sex="F", date_of_birth=date(1990, 1, 1), relation="head", enrolment_date=date(2024, 1, 1),
        )  # fmt: skip
        session.add(person)
        session.flush()
        letter = GuaranteeLetter(
            scheme_id=scheme.id, number="PEC-X-1", person_id=person.id, member_no="M-1", benefit_code="OPD",
            provider_id=x.id, provider_code="X", valid_from=date(2025, 1, 1), valid_to=date(2025, 1, 31),
            amount=Decimal(1000), issued_on=date(2025, 1, 1),
        )  # fmt: skip
        session.add(letter)
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, format="PNG")
        attachment = add_attachment(session, claim, kind="bill", name="x.png", data=out.getvalue(), actor=None)
        draft = ClaimDraft(
            scheme_id=scheme.id, member_no="M-1", benefit_code="OPD", provider_code="X",
            date_of_service=date(2025, 1, 10), date_submitted=date(2025, 1, 12),
            lines=[ClaimDraftLine(position=0, label="Consultation", amount=Decimal(2000))],
        )  # fmt: skip
        session.add(draft)
        session.flush()
        draft_attachment = add_draft_attachment(
            session, draft, kind="bill", name="x.png", data=out.getvalue(), actor=None
        )
        session.commit()
        desks = {name: make_user(session, "facility", provider=p) for name, p in (("x", x), ("y", y))}
        values = {
            "claim_id": claim.id, "batch_id": batch.id, "attachment_id": attachment.id, "claim_ref": "X-1",
            "letter_id": letter.id, "provider_code": "X", "draft_id": draft.id,
            "draft_attachment_id": draft_attachment.id,
        }  # fmt: skip
    return {"desks": desks, "values": values}


def _provider_record_url(rule, world, values) -> str:
    filled = {name: values.get(name) for name in rule.arguments}
    if "draft_id" in rule.arguments and "attachment_id" in rule.arguments:
        filled["attachment_id"] = values["draft_attachment_id"]  # a draft's own paper
    filled.update(
        {k: v for k, v in (("code", world["a"].code), ("scheme_code", world["a"].code)) if k in rule.arguments}
    )
    return rule.build(filled, append_unknown=False)[1]


def test_a_facility_desk_reaches_no_record_of_another_facility(app, world):
    """Issue 13: every route that names a claim, batch, attachment or guarantee letter, given provider X's, answers
    403 or 404 to provider Y's desk — by session and by API token, every method — while X's own desk reads them."""
    made = _facility_records(app, world)
    other, own = app.test_client(), app.test_client()
    login(other, made["desks"]["y"])
    login(own, made["desks"]["x"])
    with app.app_context():
        _token, secret = create_token(db.session, db.session.get(User, made["desks"]["y"].id))
        db.session.commit()
    token = {"Authorization": f"Bearer {secret}"}
    wrong, checked, opened = [], 0, 0
    for rule, view in guarded_rules(app):
        if not PROVIDER_RECORDS & set(rule.arguments) or view.required_permission is None:
            continue
        url = _provider_record_url(rule, world, made["values"])
        for method in methods_of(rule):
            answers = [("session", request(other, method, url).status_code)]
            if getattr(view, "accepts_token", False):
                answers.append(("token", request_with(app.test_client(), method, url, token).status_code))
            for how, status in answers:
                checked += 1
                if status not in (403, 404):
                    wrong.append(f"{method} {url} ({view.required_permission}) → {status} for Y's desk ({how})")
            if method == "GET" and has_permission(made["desks"]["x"], view.required_permission):
                status = request(own, method, url).status_code
                opened += status == 200
                if status != 200:
                    wrong.append(f"GET {url} → {status} for X's own desk")

    assert checked >= 16 and opened == 6, (checked, opened)  # the draft attachment route too
    assert not wrong, "\n".join(wrong)


def test_statement_run_and_year_end_document_pages_follow_their_permissions(app, world):
    """Issue 17's job pages with real jobs of scheme A: a statement run (register.read; one printed with claims
    only for claims readers) and year-end documents (figures.read); scheme B's users get 404."""
    from datetime import date

    from mhi.cards.statements import STATEMENT_JOB, make_run
    from mhi.core import jobs
    from mhi.reports.documents import YEAR_END_JOB

    run = make_run(date(2025, 1, 1), date(2025, 12, 31))
    with records(app) as session:
        scheme = world["a"]
        plain = jobs.create_job(
            session, STATEMENT_JOB, scheme=scheme, params={"run": run.as_json(), "today": "2026-01-05"}
        )
        with_claims = jobs.create_job(
            session,
            STATEMENT_JOB,
            scheme=scheme,
            params={"run": {**run.as_json(), "claims": True}, "today": "2026-01-05"},
        )
        year_end = jobs.create_job(
            session,
            YEAR_END_JOB,
            scheme=scheme,
            params={"year": 2025, "language": "en", "today": "2026-01-05"},
            total=3,
        )
        session.commit()  # the suite's queue runs them now
        other = make_user(session, "scheme_manager", scheme=world["b"])
    code = world["a"].code

    def allowed(permission):
        return lambda user: 200 if has_permission(user, permission) else 403

    def claims_run(user):  # the page needs register.read; a run with claims is then not found without claims.read
        if not has_permission(user, "register.read"):
            return 403
        return 200 if has_permission(user, "claims.read") else 404

    pages = {
        f"/schemes/{code}/statements": allowed("register.read"),
        f"/schemes/{code}/statements/{plain.id}": allowed("register.read"),
        f"/schemes/{code}/statements/{with_claims.id}": claims_run,
        f"/schemes/{code}/year-end/documents": allowed("figures.read"),
        f"/schemes/{code}/year-end/documents/{year_end.id}": allowed("figures.read"),
    }
    wrong = []
    for role, user in world["users"].items():
        client = app.test_client()
        login(client, user)
        for url, expected in pages.items():
            status = client.get(url).status_code
            if status != expected(user):
                wrong.append((role, url, status, expected(user)))
    assert not wrong
    client = app.test_client()
    login(client, other)
    for url in list(pages)[1:]:
        if "/documents/" in url or "/statements/" in url:
            assert client.get(url.replace(code, world["b"].code)).status_code == 404, url


def test_a_households_product_change_is_for_the_register_writers_of_its_scheme(app, world):
    """The product change page (members.product) and its upload: register.write of the household's own scheme;
    another scheme's household is 404 even to a clerk, a read-only role gets 403."""
    from datetime import date

    from mhi.members.models import Household

    with records(app) as session:
        households = {}
        for key in ("a", "b"):
            scheme = session.get(type(world[key]), world[key].id)
            household = Household(
                scheme_id=scheme.id, ref=f"H-{key}", product_id=scheme.products[0].id, enrolment_date=date(2024, 1, 1)
            )
            session.add(household)
            session.flush()
            households[key] = household.id
        session.commit()
    code = world["a"].code
    clerk = app.test_client()
    login(clerk, world["users"]["clerk"])
    assert clerk.get(f"/schemes/{code}/households/{households['a']}/product").status_code == 200
    assert clerk.get(f"/schemes/{code}/households/{households['b']}/product").status_code == 404
    assert clerk.get(f"/schemes/{world['b'].code}/households/{households['b']}/product").status_code == 404
    assert clerk.get(f"/schemes/{code}/imports/product-changes").status_code == 200
    auditor = app.test_client()
    login(auditor, world["users"]["auditor"])
    data = {"product": "BASE", "from_date": "2024-02-01", "reason": "r", "confirmed": "yes"}
    assert auditor.post(f"/schemes/{code}/households/{households['a']}/product", data=data).status_code == 403
    assert auditor.get(f"/schemes/{code}/imports/product-changes").status_code == 403
