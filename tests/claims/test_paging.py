"""Long lists page through all their rows with counts, keeping their filters (issue 13: the queue silently
stopped at 200 claims)."""

from __future__ import annotations

from datetime import date

from mhi.claims.services import decide_and_store
from mhi.core.paging import Paged, page_number
from tests.claims.claim_helpers import entry, make_household, make_scheme
from tests.factories import login, make_user, records


def test_paged_counts():
    paged = Paged(list(range(200)), 2, 200, 590)
    assert (paged.first, paged.last, paged.pages, paged.has_previous, paged.has_next) == (201, 400, 3, True, True)
    assert Paged([], 1, 200, 0).first == 0 and not Paged([], 1, 200, 0).has_next
    assert page_number("3") == 3 and page_number("x") == 1 and page_number("-2") == 1 and page_number(None) == 1


def test_the_claims_queue_pages_through_every_claim_keeping_its_filters(app, client):
    with records(app) as session:
        scheme = make_scheme(session)
        make_household(session, scheme, "H-1", [("M-1", "head")])
        # 590 claims, 450 of them rejected UNKNOWN_MEMBER.
        entries = [entry(f"C-{n:04d}", "NOBODY" if n < 450 else "M-1", service=date(2025, 3, 1 + n % 28),
                         amount=str(1000 + n)) for n in range(590)]  # fmt: skip
        decide_and_store(session, scheme, entries, source="import", actor=None, recorded_on=date(2025, 6, 1))
        login(client, make_user(session, "claims_officer", scheme))
        session.commit()
    first = client.get("/schemes/MUT-TEST/claims").get_data(as_text=True)
    assert "1–200 of 590" in first
    second = client.get("/schemes/MUT-TEST/claims?page=2&reason=UNKNOWN_MEMBER").get_data(as_text=True)
    assert "201–400 of 450" in second
    assert "reason=UNKNOWN_MEMBER" in second.split('rel="next"')[1].split(">")[0]
    assert "page=3" in second.split('rel="next"')[1].split(">")[0]
    last = client.get("/schemes/MUT-TEST/claims?page=3&reason=UNKNOWN_MEMBER").get_data(as_text=True)
    assert "401–450 of 450" in last and 'rel="next"' not in last
    assert "401–450 of 450" in client.get("/schemes/MUT-TEST/claims?page=99&reason=UNKNOWN_MEMBER").get_data(
        as_text=True
    )
