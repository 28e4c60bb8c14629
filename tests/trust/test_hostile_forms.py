"""Every form of the application, walked as an administrator with Hypothesis-chosen field values: never a 500.

The demo federation (three schemes, a few households each, receipts, subsidies, claims, expenses) is loaded with
HTML and formula names mixed in, plus a payment batch, a pool settlement and a feasibility study, so every URL of
the application can be built with real ids. Then:

- every GET page (not the PDF, CSV and JSON downloads) answers below 500 — a smoke test of the pages with that data;
- every POST route is sent forms whose fields are those its page shows (found by reading the HTML), each filled
  with the page's own value, one of its options, or a hostile value (unicode, NUL bytes, huge texts, malformed
  dates and amounts, markup, formulas), and must answer below 500. The testing app propagates exceptions, so a
  server error fails the test with its traceback.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from mhi.claims.attachments import add_attachment
from mhi.claims.models import Claim, ClaimDraft, ClaimDraftLine, GuaranteeLetter, PaymentBatch
from mhi.claims.services import create_batch
from mhi.contributions.models import Receipt
from mhi.demo.cli import load_demo
from mhi.feasibility import services as feasibility
from mhi.governance.models import Meeting
from mhi.members.models import Household, Person
from mhi.payments.groups import create_payer, set_member
from mhi.payments.models import StatementLine
from mhi.payments.statements import import_statement, read_statement
from mhi.pooling.services import settle_pool
from mhi.schemes.models import Expense, Federation, Product, ProductVersion, Provider, Scheme, SubsidyProgramme
from mhi.subsidies.models import SubsidyReceipt
from tests.conftest import EXAMPLES
from tests.factories import login, make_user, records

#: Routes left out of the walk, and why.
SKIPPED = {
    "auth.logout": "signs the walker out",
    "auth.login": "not a signed-in form (tests/auth covers it)",
    "static": "files",
}
DOWNLOAD = re.compile(r"\.(pdf|csv|json)$|/(slip|cards|batch)\.pdf$")

HOSTILE = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "-1",
            "1e309",
            "NaN",
            "9" * 40,
            "2025-02-30",
            "9999-12-31",
            "0001-01-01",
            "31/12/2025",
            "\x00",
            "a\x00b",
            "<script>alert(1)</script>",
            "=cmd|' /C calc'!A0",
            "../../etc/passwd",
            "x" * 5000,
            "é" * 300,
            "true",
            "on",
            "null",
            "[]",
            "{}",
        ]
    ),
    st.text(max_size=30),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.dates().map(date.isoformat),
)


class _Forms(HTMLParser):
    """The POST forms of a page: action → {field name: values seen (value attributes, options)}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, list[str]], set[str]]] = []
        self._current: tuple[str, dict[str, list[str]], set[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if (a.get("method") or "get").lower() == "post":
                self._current = (a.get("action") or "", {}, set())
                self.forms.append(self._current)
            else:
                self._current = None
        elif self._current is not None and tag in ("input", "textarea", "select") and a.get("name"):
            fields, files = self._current[1], self._current[2]
            values = fields.setdefault(a["name"], [])
            if a.get("value") is not None:
                values.append(a["value"])
            if (a.get("type") or "").lower() == "file":
                files.add(a["name"])
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._current is not None and self._select and a.get("value") is not None:
            self._current[1][self._select].append(a["value"])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._current = None


def _png() -> bytes:
    """A tiny PNG scan."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    return out.getvalue()


def _world(app) -> dict:
    """The demo plus hostile names, a batch, a settlement and a study; the ids every URL needs."""
    with records(app) as session:
        load_demo(session, date(2026, 1, 15), households_per_scheme=4)
        scheme = session.scalar(select(Scheme).order_by(Scheme.code))
        for index, p in enumerate(session.scalars(select(Person).where(Person.scheme_id == scheme.id).limit(3))):
            p.first_name = ("<script>alert(1)</script>", "=cmd|' /C calc'!A0", "<b>x</b>")[index]
        provider = session.scalar(
            select(Provider)
            .join(Claim, Claim.provider_id == Provider.id)
            .where(Claim.status.in_(["APPROVED", "REDUCED"]), Claim.paid_on.is_(None), Claim.batch_id.is_(None))
            .limit(1)
        )
        if provider is not None:
            create_batch(session, provider, actor=None)
        federation = session.scalar(select(Federation))
        settlement = settle_pool(session, federation, date(2025, 1, 1), date(2025, 12, 31))
        study_input = json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"))
        study = feasibility.save_study(
            session, study_input, scheme=None, federation_id=None, actor=None, now=datetime(2026, 1, 15, 10)
        )
        session.commit()
        admin = make_user(session, "admin")
        other = make_user(session, "clerk", scheme)
        batch = session.scalar(select(PaymentBatch).where(PaymentBatch.scheme_id == scheme.id))
        if batch is None:
            batch = session.scalar(select(PaymentBatch))
            scheme = session.get(Scheme, batch.scheme_id) if batch else scheme

        def first(model, *where):
            return session.scalar(select(model.id).where(*where).order_by(model.id).limit(1))

        # A group payer with a household, and a statement line waiting for a clerk (issue 14's pages).
        payer = create_payer(session, scheme, code="GRP-1", name="<b>Groupement</b>", kind="gie")
        set_member(
            session, payer, session.get(Household, first(Household, Household.scheme_id == scheme.id)), active=True
        )
        statement = read_statement(
            b"transaction_id,operator,date,amount,payer_phone,reference\nT-1,wave,2026-01-10,500,,NOBODY\n", "s.csv"
        )
        import_statement(session, scheme, statement.header, statement.rows, dry_run=False, file="s.csv")
        session.commit()

        product_id = first(Product, Product.scheme_id == scheme.id)
        ids = {
            "code": scheme.code,
            "federation_code": federation.code,
            "household_id": first(Household, Household.scheme_id == scheme.id),
            "person_id": first(Person, Person.scheme_id == scheme.id),
            "receipt_id": first(Receipt, Receipt.scheme_id == scheme.id, Receipt.reversal_of_id.is_(None)),
            "subsidy_receipt_id": first(SubsidyReceipt, SubsidyReceipt.scheme_id == scheme.id),
            "claim_id": first(Claim, Claim.scheme_id == scheme.id),
            "batch_id": batch.id if batch else 0,
            "batch_claim_id": first(Claim, Claim.batch_id == batch.id) if batch else 0,
            "provider_code": session.scalar(select(Provider.code).where(Provider.scheme_id == scheme.id).limit(1)),
            "settlement_id": settlement.id,
            "study_id": study.id,
            "product_id": product_id,
            "version_id": first(ProductVersion, ProductVersion.product_id == product_id),
            "user_id": other.id,
            "job_id": 1,
            "throttle_id": 0,  # no such wait
            "session_id": 0,  # no such session: ending the walker's own would sign it out
            "table": "indicators",
            "kind": "arrears",
            "fmt": "xlsx",
            "payer_id": payer.id,
            "meeting_id": first(Meeting, Meeting.scheme_id == scheme.id),
            "line_id": first(StatementLine, StatementLine.scheme_id == scheme.id),
            "programme_code": "NO-SUCH-PROGRAMME",
            "expense_id": first(Expense, Expense.scheme_id == scheme.id),
            "programme_id": first(SubsidyProgramme, SubsidyProgramme.scheme_id == scheme.id) or 0,
            "from_": "2025-01-01",
            "to": "2025-12-31",
        }
        # The API and FHIR address records by their business keys (mhi/api/views.py) and persons by id.
        ids["ref"] = session.scalar(select(Household.ref).where(Household.id == ids["household_id"]))
        ids["member_no"] = session.scalar(select(Person.member_no).where(Person.id == ids["person_id"]))
        ids["receipt_no"] = session.scalar(select(Receipt.receipt_no).where(Receipt.id == ids["receipt_id"]))
        ids["claim_ref"] = session.scalar(select(Claim.claim_ref).where(Claim.id == ids["claim_id"]))
        ids["patient_id"] = ids["coverage_id"] = ids["person_id"]
        # A guarantee letter for the letter pages (written directly: the hostile walk needs one, not its rules).
        person = session.get(Person, ids["person_id"])
        letter_provider = session.scalar(select(Provider).where(Provider.scheme_id == scheme.id).limit(1))
        letter = GuaranteeLetter(
            scheme_id=scheme.id, number="PEC-2026-000001", person_id=person.id, member_no=person.member_no,
            benefit_code="OPD", provider_id=letter_provider.id, provider_code=letter_provider.code,
            valid_from=date(2026, 1, 1), valid_to=date(2026, 1, 31), amount=Decimal(1000), issued_on=date(2026, 1, 15),
        )  # fmt: skip
        session.add(letter)
        # A draft claim for the draft pages (issue 13), with one bill line.
        draft = ClaimDraft(
            scheme_id=scheme.id, member_no=person.member_no, benefit_code="OPD", provider_code="",
            date_of_service=date(2026, 1, 10), date_submitted=date(2026, 1, 12),
            lines=[ClaimDraftLine(position=0, label="Consultation", amount=Decimal(2000))],
        )  # fmt: skip
        session.add(draft)
        session.commit()
        ids["letter_id"] = letter.id
        ids["draft_id"] = draft.id
        # A scanned bill on the walked claim (the attachment pages, issue 13).
        claim = session.get(Claim, ids["claim_id"])
        attachment = add_attachment(session, claim, kind="bill", name="<b>bill</b>.png", data=_png(), actor=None)
        session.commit()
        ids["attachment_id"] = attachment.id
        ids["facility_provider_id"] = claim.provider_id
    return {"ids": ids, "admin": admin}


def _url(rule, ids: dict) -> str:
    """The rule's URL with the world's ids (a subsidy receipt for the subsidies routes, a claim of the batch)."""
    values = {}
    for name in rule.arguments:
        if name == "receipt_id" and rule.endpoint.startswith("subsidies."):
            values[name] = ids["subsidy_receipt_id"]
        elif name == "claim_id" and rule.endpoint.startswith("claims.batch"):
            values[name] = ids["batch_claim_id"]
        else:
            values[name] = ids[name]
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:[^:>]+:)?{name}>", str(value), url)
    return url


@pytest.fixture
def walker(app, client, monkeypatch, tmp_path):
    """The world, an admin signed in, and the instance folder in a temporary one (jobs run inside the request:
    the suite's queue is immediate)."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    world = _world(app)
    login(client, world["admin"])
    return world


def _rules(app, method: str) -> list:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods and rule.endpoint not in SKIPPED and not rule.endpoint.startswith("static")
    ]


def test_every_page_answers_without_a_server_error(app, client, walker):
    checked = 0
    for rule in _rules(app, "GET"):
        url = _url(rule, walker["ids"])
        if DOWNLOAD.search(url):
            continue
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        checked += 1
    assert checked > 40


def _page_forms(client, urls: list[str]) -> dict[str, tuple[dict[str, list[str]], set[str]]]:
    """Every POST form found on these pages, by the path it posts to."""
    found: dict[str, tuple[dict[str, list[str]], set[str]]] = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype.startswith("text/html"):
            continue
        parser = _Forms()
        parser.feed(response.get_data(as_text=True))
        for action, fields, files in parser.forms:
            path = (action or url).split("?")[0]
            known = found.setdefault(path, ({}, set()))
            for name, values in fields.items():
                known[0].setdefault(name, []).extend(values)
            known[1].update(files)
    return found


def test_every_form_survives_hostile_values(app, client, walker):
    ids = walker["ids"]
    pages = [_url(rule, ids) for rule in _rules(app, "GET") if not DOWNLOAD.search(_url(rule, ids))]
    forms = _page_forms(client, pages)
    targets = []
    for rule in _rules(app, "POST"):
        url = _url(rule, ids)
        fields, files = forms.get(url, ({}, set()))
        fields = {name: values for name, values in fields.items() if name != "csrf_token"}
        targets.append((rule.endpoint, url, fields, files))
    # Every POST route is walked; most with the fields their page shows.
    assert len(targets) >= 30
    assert sum(1 for _e, _u, fields, _f in targets if fields) >= 20, [t[0] for t in targets if not t[2]]

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        # No shrinking: the database changes from example to example, and the failing route and form are
        # printed as they were sent.
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data):
        endpoint, url, fields, files = data.draw(st.sampled_from(targets), label="route")
        form = {}
        for name, seen in fields.items():
            choice = st.one_of(st.sampled_from(seen), HOSTILE) if seen else HOSTILE
            if data.draw(st.booleans(), label=f"send {name}") or not seen:
                form[name] = data.draw(choice, label=name)
        if data.draw(st.booleans(), label="extra field"):
            form[data.draw(st.text(min_size=1, max_size=10), label="extra name")] = data.draw(HOSTILE)
        for name in files:
            form[name] = (io.BytesIO(data.draw(st.binary(max_size=200), label=name)), data.draw(HOSTILE) + ".csv")
        if endpoint == "claims.api_create":
            body = data.draw(
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | HOSTILE,
                    lambda inner: (
                        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=15), inner, max_size=6)
                    ),
                    max_leaves=12,
                ),
                label="json",
            )
            response = client.post(url, json=body)
        else:
            response = client.post(url, data=form, content_type="multipart/form-data" if files else None)
        assert response.status_code < 500, (endpoint, url, form, response.status_code)

    check()


#: A valid submission of the forms that write the register, money and claims ({n} makes references unique;
#: OPTION takes the last option the page offers), so that one hostile field reaches the write itself.
OPTION = object()
VALID = {
    "members.enrol": {
        "ref": "T-{n}",
        "product": OPTION,
        "village": "Notto",
        "head-first_name": "Awa",
        "head-last_name": "Ndiaye",
        "head-sex": "F",
        "head-date_of_birth": "1980-01-01",
        "head-enrolment_date": "2025-06-01",
        "head-phone": "+221 76 352 37 08",
        "members-0-first_name": "Fatou",
        "members-0-last_name": "Ndiaye",
        "members-0-sex": "F",
        "members-0-date_of_birth": "2015-01-01",
        "members-0-relation": "child",
    },
    "members.person_new": {
        "first_name": "Moussa",
        "last_name": "Diop",
        "sex": "M",
        "relation": "child",
        "date_of_birth": "2025-12-01",
        "enrolment_date": "2026-01-10",
    },
    "contributions.receipt_new": {"date": "2025-12-01", "amount": "600", "method": "cash", "collector": "Awa"},
    "claims.new_claim": {
        "claim_ref": "TC-{n}",
        "member_no": "{member_no}",
        "benefit_code": OPTION,
        "provider_code": OPTION,
        "date_of_service": "2025-11-01",
        "date_submitted": "2025-11-02",
        "diagnosis_code": "A09",
        "lines-0-item": "Consultation",
        "lines-0-amount": "5000",
    },
    "subsidies.receipt_new": {"programme": OPTION, "reference": "TS-{n}", "date": "2025-06-01", "amount": "50000"},
    "claims.override": {"status": "APPROVED", "amount_approved": "2400", "reason": "Pièces fournies"},
    "auth.user_new": {
        "email": "t{n}@example.org",
        "name": "Tester",
        "role": "admin",
        "scheme": "0",
        "federation": "0",
        "locale": "fr",
        "password": "correct horse battery 9",
        "confirm": "correct horse battery 9",
    },
    "schemes.federation_new": {"code": "FT{n}", "name": "Fédération test", "currency": "XOF"},
    "members.person_exit": {"date": "2025-12-01", "reason": "other"},
    "members.product": {"product": OPTION, "from_date": "2026-02-01", "reason": "Demande du ménage"},
    "members.product_confirmed": {
        "product": OPTION,
        "from_date": "2026-02-01",
        "reason": "Demande du ménage",
        "confirmed": "yes",
    },
    "contributions.reverse": {"reason": "Erreur de saisie"},
    "subsidies.reverse": {"reason": "Erreur de saisie"},
}


def test_one_hostile_field_in_an_otherwise_valid_form(app, client, walker):
    """The write paths: a form that passes every check but one field, which carries the hostile value — the value
    must be refused with a message or stored as it is, never fail in the database (NUL bytes on PostgreSQL, a
    number too long for its column, a date past the calendar's end)."""
    ids = walker["ids"]
    with records(app) as session:
        ids["member_no"] = session.scalar(select(Person.member_no).where(Person.id == ids["person_id"]))
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    # "<endpoint>_confirmed": the same form posted from its confirmation page (core/confirm.py).
    urls = {endpoint: _url(rules[endpoint.removesuffix("_confirmed")], ids) for endpoint in VALID}
    forms = _page_forms(client, list(urls.values()))
    counter = iter(range(1, 10**6))

    def valid(endpoint: str) -> dict[str, str]:
        n = next(counter)
        seen = forms.get(urls[endpoint], ({}, set()))[0]
        out = {}
        for name, value in VALID[endpoint].items():
            if value is OPTION:
                value = [v for v in seen.get(name, []) if v][-1]
            out[name] = value.format(n=n, **ids)
        return out

    # The baselines are valid: each is accepted (a redirect) before the hostile values start.
    for endpoint in ("members.enrol", "contributions.receipt_new", "claims.new_claim", "subsidies.receipt_new"):
        response = client.post(urls[endpoint], data=valid(endpoint))
        assert response.status_code == 302, (endpoint, response.get_data(as_text=True)[-2000:])

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def check(data):
        endpoint = data.draw(st.sampled_from(sorted(VALID)), label="route")
        form = valid(endpoint)
        field = data.draw(st.sampled_from(sorted(form)), label="field")
        form[field] = data.draw(HOSTILE, label="value")
        response = client.post(urls[endpoint], data=form)
        assert response.status_code < 500, (endpoint, form, response.status_code)

    check()
