"""members/services.py: enrolment in one call, newborns, exits, re-enrolment, and their validation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from mhi.contributions.services import refresh_households
from mhi.core.audit import AuditEvent
from mhi.members.models import Household, Person
from mhi.members.services import (
    RegisterError,
    add_person,
    enrol_household,
    link_reenrolment,
    name_key,
    phone_key,
    record_exit,
    record_household_exit,
)
from tests.members.helpers import enrol, person, scheme_with_programme

E = date(2025, 1, 10)


@pytest.fixture
def scheme(session):
    return scheme_with_programme(session)


def messages(error) -> list[str]:
    return [str(p) for p in error.value.problems]


def test_enrol_household_with_members_numbers_them(session, scheme):
    household = enrol_household(
        session,
        scheme,
        ref="H-001",
        product_code="BASE",
        persons=[
            person("Awa", "head", E, phone="+221 76 352 37 08", village="Ndiagane"),
            person("Moussa", "spouse", E, sex="M"),
            person("Fatou", "child", E, born=date(2020, 5, 1), member_no="CUSTOM-9"),
        ],
    )
    session.commit()
    assert (household.enrolment_date, household.category, household.village, household.phone) == (
        E,
        "standard",
        "Ndiagane",
        "+221 76 352 37 08",
    )
    assert sorted(p.member_no for p in household.persons) == ["CUSTOM-9", "H-001-01", "H-001-02"]
    awa = session.scalar(select(Person).where(Person.first_name == "Awa"))
    assert (awa.last_key, awa.first_key, awa.phone_key) == ("ndiaye", "awa", "763523708")
    assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "enrol")) == 1


def test_enrolment_validation_lists_every_problem(session, scheme):
    enrol(session, scheme, "H-001")
    with pytest.raises(RegisterError) as error:
        enrol_household(
            session,
            scheme,
            ref="H-001",
            product_code="GOLD",
            persons=[
                person("Awa", "head", E),
                person("Moussa", "head", E, sex="X"),
                person("Fatou", "child", date(2025, 1, 1), born=date(2025, 2, 1)),
                person("Issa", "child", E, member_no="H-001-01"),
            ],
        )
    found = messages(error)
    assert "ref: household H-001 already exists in this scheme" in found
    assert "product_code: 'GOLD' is not a product of this scheme" in found
    assert "row 2, sex: 'X' is not a valid sex (one of F, M)" in found
    assert "row 3, date_of_birth: 2025-02-01 is after the enrolment date 2025-01-01" in found
    assert "row 4, member_no: member number H-001-01 is already used in this scheme" in found
    assert session.scalar(select(func.count(Household.id))) == 1


def test_exactly_one_head_and_nobody_before_the_head(session, scheme):
    with pytest.raises(RegisterError) as error:
        enrol_household(session, scheme, ref="H-2", product_code="BASE", persons=[person("A", "child", E)])
    assert "relationship: a household has exactly one head" in messages(error)
    with pytest.raises(RegisterError) as error:
        enrol_household(
            session,
            scheme,
            ref="H-2",
            product_code="BASE",
            persons=[person("A", "head", E), person("B", "spouse", date(2025, 1, 9))],
        )
    assert messages(error) == [
        "row 2, enrolment_date: 2025-01-09 is before the household's enrolment 2025-01-10 (the head's)"
    ]


def test_add_newborn_and_refusals(session, scheme):
    household = enrol(session, scheme)
    baby = add_person(session, household, person("Bébé", "child", date(2025, 3, 2), born=date(2025, 3, 1)))
    assert baby.member_no == "H-001-03"
    with pytest.raises(RegisterError, match="already has its head"):
        add_person(session, household, person("X", "head", date(2025, 3, 2)))
    with pytest.raises(RegisterError, match="before the household's enrolment"):
        add_person(session, household, person("Y", "child", date(2024, 12, 1), born=date(2024, 11, 1)))


def test_exit_rules(session, scheme):
    household = enrol(session, scheme)
    head = next(p for p in household.persons if p.relation == "head")
    with pytest.raises(RegisterError, match="not a valid exit reason"):
        record_exit(session, head, date=date(2025, 2, 1), reason="moved")
    with pytest.raises(RegisterError, match="before the person's enrolment"):
        record_exit(session, head, date=date(2024, 2, 1), reason="death")
    record_exit(session, head, date=date(2025, 2, 1), reason="death")
    with pytest.raises(RegisterError, match="already left"):
        record_exit(session, head, date=date(2025, 2, 2), reason="death")
    record_household_exit(session, household, date=date(2025, 2, 5), reason="resignation")
    refresh_households(session, scheme, [household.id])  # the caller refreshes (members/services.py)
    session.commit()
    assert household.exit_date == date(2025, 2, 5)
    assert {p.exit_reason for p in household.persons} == {"death", "resignation"}


def test_reenrolment_links_to_a_struck_off_household(session, scheme):
    old = enrol(session, scheme, "H-OLD", date(2024, 1, 10))
    assert old.strike_off_date == date(2024, 7, 8)  # never paid: E + 180
    new = enrol(session, scheme, "H-NEW", date(2025, 1, 10), previous_household=old)
    assert new.previous_household_id == old.id
    other = enrol(session, scheme, "H-OTHER", date(2025, 1, 10))
    with pytest.raises(RegisterError, match="has not been struck off"):
        link_reenrolment(session, other, new)
    link_reenrolment(session, other, old)
    assert other.previous_household_id == old.id


def test_keys():
    assert name_key("  Aïssatou   LÔ-Ndiaye ") == "aissatou lo ndiaye"
    assert phone_key("+221 76 352 37 08") == phone_key("763523708") == "763523708"


def test_phone_key_fast_path_agrees_with_every_digit():
    """The ASCII fast path (one regular expression) and the general one (``str.isdigit``) give the same key:
    separators of every kind dropped, the last nine digits kept; digits of other scripts count too."""
    for text, key in [
        ("+221 76 352 37 08", "763523708"),
        ("(076)-352.37/08", "763523708"),
        ("00221763523708", "763523708"),
        ("0", "0"),
        ("", ""),
        (None, ""),
        ("tel: 77", "77"),
    ]:
        assert phone_key(text) == key
    # Eastern Arabic digits are digits: the non-ASCII path keeps them, as it always did.
    assert phone_key("٧٦٣٥٢٣٧٠٨") == "٧٦٣٥٢٣٧٠٨"
    assert phone_key("+221 ٧٦ 352 37 08") == "٧٦35237 08".replace(" ", "")
    assert phone_key("+221 76 352 37 08\u00a0") == "763523708"  # a no-break space: the general path


def test_name_key_is_cached_and_pure():
    """``name_key`` is cached (an import folds each name twice): the same text gives the same key every time,
    and the cache never mixes two texts."""
    assert name_key("Fatou") == name_key("Fatou") == "fatou"
    assert name_key("FATOU") == "fatou"
    assert name_key("Fatoû") == "fatou"
    assert name_key(None) == name_key("") == ""
    assert name_key.cache_info().hits > 0
