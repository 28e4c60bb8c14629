"""Corrections with a reason (issue 12): a person (names, sex, date of birth, relationship, contact) and a
household (head, village, phone, language) corrected on screen or through the service; every correction asks
why, is audited with the values before and after, refreshes the household's derived rows, and is refused when
it would change a claim already decided (money already decided is corrected on the claim first)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from mhi.claims.services import claims_decided_otherwise, submit_claim
from mhi.core.audit import AuditEvent
from mhi.members.models import Household, Person
from mhi.members.services import RegisterError, correct_household, correct_person
from tests.claims.claim_helpers import SCHEME, entry, make_household
from tests.factories import login, make_user, records
from tests.members.helpers import counts, enrol, person, scheme_with_programme


def _scheme_with_maternity(session):
    """The claims tests' scheme plus MAT, a benefit for women only (adjudication.md check 3)."""
    from mhi.schemes.services import load_scheme

    product = dict(SCHEME["products"][0])
    product["benefits"] = [
        *product["benefits"],
        {"code": "MAT", "name": "Maternité", "kind": "service", "coverage_rate": "1", "sex": "F"},
    ]
    load_scheme(session, {**SCHEME, "products": [product]}, today=date(2024, 1, 1))
    session.flush()
    from mhi.schemes.models import Scheme

    return session.scalar(select(Scheme).where(Scheme.code == SCHEME["code"]))


def _claim(session, scheme, ref, benefit="MAT", member="M-2"):
    return submit_claim(
        session, scheme, entry(ref, member, benefit=benefit, provider="HR", amount="2000"), source="form",
        actor=None, recorded_on=date(2025, 3, 2),
    )  # fmt: skip


@pytest.fixture
def decided(session):
    """A household (head M-1, spouse M-2, both women born 1990) whose spouse has a maternity claim approved."""
    scheme = _scheme_with_maternity(session)
    household = make_household(session, scheme, "H-1", [("M-1", "head"), ("M-2", "spouse")])
    claim = _claim(session, scheme, "C-1")
    assert claim.status == "APPROVED"
    session.commit()
    spouse = session.scalar(select(Person).where(Person.member_no == "M-2"))
    return scheme, household, spouse


def test_a_correction_that_would_change_a_decided_claim_is_refused(session, decided):
    scheme, household, spouse = decided
    with pytest.raises(RegisterError) as refused:
        correct_person(session, spouse, {"sex": "M"}, reason="typo", guard=claims_decided_otherwise)
    (problem,) = refused.value.problems
    assert problem.column == "sex" and "C-1" in problem.text and "overrides that decision first" in problem.text
    session.rollback()
    assert session.get(Person, spouse.id).sex == "F"
    # A birth date that changes no decision is corrected, audited with the reason.
    correct_person(session, spouse, {"date_of_birth": "1991-02-03"}, reason="birth certificate",
                   guard=claims_decided_otherwise)  # fmt: skip
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "correct"))
    assert event.before == {"date_of_birth": "1990-01-01"}
    assert event.after == {"date_of_birth": "1991-02-03", "reason": "birth certificate"}


def test_the_guard_is_required_for_the_facts_that_decide_claims(session, decided):
    _, _, spouse = decided
    with pytest.raises(TypeError, match="guard"):
        correct_person(session, spouse, {"sex": "M"}, reason="typo")


def test_a_person_without_claims_is_corrected_and_the_keys_follow(session):
    scheme = scheme_with_programme(session)
    household = enrol(session, scheme, others=1)
    child = next(p for p in household.persons if p.relation == "child")
    correct_person(
        session, child,
        {"first_name": "Aïssatou", "sex": "F", "relationship": "other", "phone": "+221 77 000 11 22", "village": "Pout"},
        reason="rectification requested", guard=claims_decided_otherwise,
    )  # fmt: skip
    assert (child.first_key, child.relation, child.phone_key) == ("aissatou", "other", "770001122")


@pytest.mark.parametrize(
    ("changes", "reason", "column"),
    [
        ({"first_name": "Fatou"}, "", "reason"),
        ({"first_name": "Fatou"}, "   ", "reason"),
        ({"date_of_birth": "2026-01-01"}, "typo", "date_of_birth"),
        ({"sex": "X"}, "typo", "sex"),
        ({"relationship": "head"}, "typo", "relationship"),
        ({"member_no": "Z"}, "typo", "member_no"),
        ({"first_name": "Awa"}, "typo", None),  # nothing differs from what is stored
    ],
)
def test_bad_corrections_name_the_field_and_change_nothing(session, changes, reason, column):
    scheme = scheme_with_programme(session)
    household = enrol(session, scheme)
    head = next(p for p in household.persons if p.relation == "head")
    target = head if "relationship" not in changes else next(p for p in household.persons if p is not head)
    before = counts(session)
    with pytest.raises(RegisterError) as refused:
        correct_person(session, target, changes, reason=reason, guard=claims_decided_otherwise)
    assert column in [p.column for p in refused.value.problems]
    session.rollback()
    assert counts(session) == before


def test_the_head_changes_only_to_a_member_enrolled_with_the_household(session):
    scheme = scheme_with_programme(session)
    household = enrol(session, scheme, others=1)
    head, child = sorted(household.persons, key=lambda p: p.member_no)
    with pytest.raises(RegisterError) as refused:
        correct_household(session, household, {"head": child.member_no}, reason="the father is the head",
                          guard=claims_decided_otherwise)  # fmt: skip
    assert [p.column for p in refused.value.problems] == ["former_head_relationship"]
    session.rollback()
    correct_household(
        session, household, {"head": child.member_no, "former_head_relationship": "parent", "village": "Pout"},
        reason="the son is the head now", guard=claims_decided_otherwise,
    )  # fmt: skip
    assert (head.relation, child.relation, household.village) == ("parent", "head", "Pout")
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "correct"))
    assert event.before["head"] == head.member_no and event.after["head"] == child.member_no
    # A newborn added later cannot become the head: the household's enrolment date would move.
    from mhi.members.services import add_person

    baby = add_person(session, household, person("Bébé", "child", date(2025, 6, 1), born=date(2025, 5, 20)))
    with pytest.raises(RegisterError) as refused:
        correct_household(session, household, {"head": baby.member_no, "former_head_relationship": "spouse"},
                          reason="?", guard=claims_decided_otherwise)  # fmt: skip
    assert "enrol a new household instead" in refused.value.problems[0].text


def _page_world(app):
    with records(app) as session:
        scheme = scheme_with_programme(session)
        household = enrol(session, scheme, "H-1", date(2025, 1, 10))
        clerk = make_user(session, "clerk", scheme)
        auditor = make_user(session, "auditor", scheme)
        persons = {p.relation: p.id for p in household.persons}
        return household.id, persons, clerk, auditor


def test_the_person_correction_page(app, client):
    household_id, persons, clerk, auditor = _page_world(app)
    login(client, auditor)
    url = f"/schemes/MUT-A/persons/{persons['child']}/correct"
    assert client.get(url).status_code == 403
    client.post("/logout")
    login(client, clerk)
    page = client.get(url)
    assert page.status_code == 200 and b'name="reason"' in page.data
    data = {"first_name": "Fatou", "last_name": "Ndiaye", "sex": "F", "date_of_birth": "2015-01-01",
            "relation": "child", "village": "", "phone": "", "national_id": ""}  # fmt: skip
    without_reason = client.post(url, data=data)
    assert without_reason.status_code == 200 and b"has-error" in without_reason.data
    with records(app) as session:
        assert session.get(Person, persons["child"]).first_name == "Child0"
    done = client.post(url, data={**data, "reason": "typo at enrolment"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/households/{household_id}")
    with records(app) as session:
        assert session.get(Person, persons["child"]).first_name == "Fatou"
    detail = client.get(f"/schemes/MUT-A/households/{household_id}")
    assert f"/persons/{persons['child']}/correct".encode() in detail.data


def test_the_household_correction_page(app, client):
    household_id, persons, clerk, _ = _page_world(app)
    login(client, clerk)
    url = f"/schemes/MUT-A/households/{household_id}/correct"
    assert client.get(url).status_code == 200
    with records(app) as session:
        child = session.get(Person, persons["child"])
        head = session.get(Person, persons["head"])
        data = {"head": child.member_no, "former_head_relationship": "parent", "village": "Pout", "phone": "",
                "language": "", "reason": "the son is the head now"}  # fmt: skip
    assert client.post(url, data=data).status_code == 302
    with records(app) as session:
        assert session.get(Person, persons["child"]).relation == "head"
        assert session.get(Person, persons["head"]).relation == "parent"
        assert session.get(Household, household_id).village == "Pout"
    # Back, without a reason: refused, nothing changes.
    refused = client.post(url, data={**data, "head": head.member_no, "reason": ""})
    assert refused.status_code == 200
    with records(app) as session:
        assert session.get(Person, persons["child"]).relation == "head"


def test_a_correction_page_refuses_what_would_change_a_decided_claim(app, client):
    with records(app) as session:
        scheme = _scheme_with_maternity(session)
        make_household(session, scheme, "H-1", [("M-1", "head"), ("M-2", "spouse")])
        _claim(session, scheme, "C-1")
        spouse = session.scalar(select(Person).where(Person.member_no == "M-2"))
        clerk = make_user(session, "clerk", scheme, locale="fr")
        session.commit()
        spouse_id = spouse.id
    login(client, clerk)
    data = {"first_name": "First1", "last_name": "H-1", "sex": "M", "date_of_birth": "1990-01-01",
            "relation": "spouse", "village": "", "phone": "", "national_id": "", "reason": "erreur"}  # fmt: skip
    answer = client.post(f"/schemes/MUT-TEST/persons/{spouse_id}/correct", data=data)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "C-1" in html and "chargé des prestations" in html  # the French message, naming the claim
    with records(app) as session:
        assert session.get(Person, spouse_id).sex == "F"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"category": "indigent", "from_date": "2025-01-09", "reason": "funder's list"}, "from_date"),
        ({"category": "indigent", "from_date": "2025-02-01", "reason": ""}, "reason"),
    ],
)
def test_a_category_from_a_date_refuses_bad_input_beside_its_field(app, client, data, field):
    household_id, _, clerk, _ = _page_world(app)
    login(client, clerk)
    with records(app) as session:
        before = counts(session)
    answer = client.post(f"/schemes/MUT-A/households/{household_id}/category", data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(rf'<span class="error" id="{field}-error">[^<]+</span>', html), html
    with records(app) as session:
        assert counts(session) == before
