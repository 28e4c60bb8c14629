"""members/queries.py: search and the manager's lists, with their CSV exports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import or_, select

from mhi.contributions.queries import households_in_arrears
from mhi.contributions.services import record_receipt, refresh_households
from mhi.members.models import Household, Person
from mhi.members.queries import (
    _starts_with,
    _walk_names,
    about_to_lapse_table,
    arrears_table,
    households_about_to_lapse,
    households_struck_off,
    search_register,
    struck_off_table,
)
from mhi.members.services import enrol_household
from tests.members.helpers import enrol, person, scheme_with_programme

E = date(2025, 1, 10)


@pytest.fixture
def scheme(session):
    scheme = scheme_with_programme(session)
    enrol_household(
        session,
        scheme,
        ref="H-1",
        product_code="BASE",
        village="Ndiagane",
        persons=[
            person("Aïssatou", "head", E, last="Lô", phone="+221 76 352 37 08"),
            person("Fatou", "child", E, last="Ndiaye", born=date(2015, 1, 1)),
        ],
    )
    enrol_household(
        session,
        scheme,
        ref="H-2",
        product_code="BASE",
        village="Pout",
        persons=[person("Moussa", "head", E, last="Ndiaye", sex="M"), person("Awa", "spouse", E, last="Ndour")],
    )
    refresh_households(session, scheme)  # the caller of the register's services refreshes
    session.commit()
    return scheme


def found(page) -> list[str]:
    return [hit.member_no for hit in page.items]


def test_search_by_name_number_reference_phone_and_village(session, scheme):
    sid = scheme.id
    assert found(search_register(session, sid, "ndi")) == ["H-1-02", "H-2-01"]  # last names, then first names
    assert found(search_register(session, sid, "aissa")) == ["H-1-01"]  # no accents, no case
    assert found(search_register(session, sid, "fatou ndiaye")) == ["H-1-02"]
    assert found(search_register(session, sid, "ndiaye moussa")) == ["H-2-01"]
    assert found(search_register(session, sid, "h-2-02")) == ["H-2-02"]  # member number, any case
    assert found(search_register(session, sid, "H-1")) == ["H-1-01", "H-1-02"]  # household reference
    assert found(search_register(session, sid, "76 352 37 08")) == ["H-1-01"]
    assert found(search_register(session, sid, "pout")) == ["H-2-01"]  # village: the head
    assert found(search_register(session, sid, "zzz")) == []
    assert found(search_register(session, sid + 1, "ndi")) == []  # another scheme sees nothing
    first = search_register(session, sid, "n", per_page=2)
    second = search_register(session, sid, "n", page=2, per_page=2)
    assert first.has_next and not second.has_next
    assert set(found(first)) | set(found(second)) == {"H-1-02", "H-2-01", "H-2-02"}
    hit = search_register(session, sid, "aissatou").items[0]
    assert (hit.household_ref, hit.village, hit.phone) == ("H-1", "Ndiagane", "+221 76 352 37 08")


def _has_word(word: str):
    """Some word of the first or last name starts with ``word`` (the search's test before the name walk)."""
    return or_(
        Person.first_key.like(word + "%"),
        Person.first_key.like("% " + word + "%"),
        Person.last_key.like(word + "%"),
        Person.last_key.like("% " + word + "%"),
    )


def test_name_walk_finds_the_rows_of_the_filtering_query_in_its_order(session, scheme):
    """A search of several words walks the name index (issue 17); it returns what the query that tested every
    person of the prefix returned, in the same order, at every page size: compound names, a word matching the
    first name key itself, several persons of one name pair (ordered by id), another scheme's persons ignored."""
    names = [
        ("Mame Diarra", "Ndiaye"),
        ("Fatou", "Ba Ndiaye"),
        ("Fatou", "Ndiaye"),
        ("Fatoumata", "Ndiaye"),
        ("Ndeye Fatou", "Diop"),
        ("Fatou", "Ndiaye"),
        ("Awa", "Ndiaye Diop"),
        ("Mame", "Diop"),
        ("Fatou Binetou", "Fall"),
        ("Fatou", "Ndiaye"),
        ("Ndiaye", "Fatou"),
        ("Diarra", "Mame"),
    ]
    for n, (first, last) in enumerate(names):
        enrol_household(
            session,
            scheme,
            ref=f"W-{n}",
            product_code="BASE",
            persons=[person(first, "head", E, last=last), person("Fatou", "spouse", E, last=last)],
        )
    other = scheme_with_programme(session, code="OTHER")
    enrol_household(session, other, ref="W-X", product_code="BASE", persons=[person("Fatou", "head", E)])
    session.commit()
    queries = [
        "fatou ndiaye", "ndiaye fatou", "mame diarra", "diarra mame", "fatou ba", "ba ndiaye", "fa nd", "n d",
        "fatou fatou", "fatou binetou fall", "mame diop ndiaye", "fatou zz", "a b", "ndiaye diop awa",
    ]  # fmt: skip
    sid = scheme.id
    for text in queries:
        first, *rest = text.split()
        for key, other_key in ((Person.last_key, Person.first_key), (Person.first_key, Person.last_key)):
            for wanted in (1, 2, 3, 5, 50):
                before = session.scalars(
                    select(Person.id)
                    .where(Person.scheme_id == sid, _starts_with(key, first), *[_has_word(w) for w in rest])
                    .order_by(key, other_key, Person.id)
                    .limit(wanted)
                ).all()
                walked = list(_walk_names(session, sid, key.key, other_key.key, first, rest, wanted))
                assert walked == before, (text, key.key, wanted)
    # Last names starting with "fatou", then first names, by (first name, last name, id); "Ndeye Fatou" is not
    # a first name starting with "fatou".
    assert found(search_register(session, sid, "fatou ndiaye")) == [
        *("W-10-01", "W-1-01", "W-1-02", "H-1-02", "W-0-02", "W-2-01", "W-2-02", "W-3-02", "W-5-01", "W-5-02"),
        *("W-9-01", "W-9-02", "W-6-02", "W-3-01"),
    ]
    far = search_register(session, sid, "fatou ndiaye", page=2**31 - 1)  # page × per_page past a 32-bit integer
    assert far.items == [] and not far.has_next
    # A page past MAX_RESULTS matches is empty, read or not: a huge page never reads the whole register.
    from mhi.members import queries as member_queries

    limit, member_queries.MAX_RESULTS = member_queries.MAX_RESULTS, 4
    try:
        assert len(search_register(session, sid, "fatou ndiaye", per_page=4).items) == 4
        assert search_register(session, sid, "fatou ndiaye", page=2, per_page=4).items == []
    finally:
        member_queries.MAX_RESULTS = limit


def test_village_search_merges_the_spellings_by_village_then_household(session, scheme):
    """The village branch reads each spelling apart (issue 17) and merges them in the order of one query."""
    for n, village in enumerate(["Ndar", "NDAR", "ndar", "Ndar", "Ndar Toute", "NDAR"]):
        enrol_household(
            session,
            scheme,
            ref=f"V-{5 - n}",
            product_code="BASE",
            village=village,
            persons=[person("Zoe", "head", E, last="Zz"), person("Zoe", "spouse", E, last="Zz")],
        )
    session.commit()
    heads = (
        select(Person.member_no)
        .join(Household, Household.id == Person.household_id)
        .where(Household.scheme_id == scheme.id, Household.village.in_(["Ndar", "NDAR", "ndar"]))
        .where(Person.relation == "head")
        .order_by(Household.village, Household.ref)
    )
    expected = session.scalars(heads).all()
    assert len(expected) == 5
    assert found(search_register(session, scheme.id, "ndar")) == expected
    assert found(search_register(session, scheme.id, "ndar", per_page=2, page=2)) == expected[2:4]


def test_lists(session, scheme):
    from sqlalchemy import select

    from mhi.members.models import Household

    h1, h2 = session.scalars(select(Household).order_by(Household.ref)).all()
    record_receipt(session, h1, date=E, amount=Decimal(1000 + 600 * 3))
    session.commit()
    arrears = households_in_arrears(session, scheme, date(2025, 3, 15))
    # H-1 paid 3 periods (to 2025-04-10); H-2 owes the fee and three periods.
    assert [(x.ref, x.arrears, x.village, x.head) for x in arrears] == [("H-2", Decimal(2800), "Pout", "Moussa Ndiaye")]
    late = households_in_arrears(session, scheme, date(2025, 4, 20))
    assert [(x.ref, x.arrears) for x in late] == [("H-1", Decimal(600)), ("H-2", Decimal(3400))]
    assert arrears_table(late, "XOF").rows[0] == [
        "Ndiagane",
        "H-1",
        "Aïssatou Lô",
        "+221 76 352 37 08",
        Decimal(600),
        date(2025, 4, 10),
    ]
    # H-2 never paid: struck off on E + 180 = 2025-07-09; H-1 on 2025-04-10 + 180 = 2025-10-07.
    soon = households_about_to_lapse(session, scheme, date(2025, 6, 20))
    assert [(x.ref, x.strike_off_date) for x in soon] == [("H-2", date(2025, 7, 9))]
    assert about_to_lapse_table(soon, "XOF").rows[0][:2] == [date(2025, 7, 9), "H-2"]
    assert households_struck_off(session, scheme, date(2025, 7, 8)) == []
    enrol(session, scheme, "H-3", date(2025, 8, 1), previous_household=h2)
    struck = households_struck_off(session, scheme, date(2025, 12, 31))
    assert [(x.ref, x.strike_off_date, x.reenrolled_as) for x in struck] == [
        ("H-1", date(2025, 10, 7), None),
        ("H-2", date(2025, 7, 9), "H-3"),
    ]
    assert struck_off_table(struck, "XOF").rows[1] == [date(2025, 7, 9), "H-2", "Moussa Ndiaye", "Pout", "", "H-3"]
