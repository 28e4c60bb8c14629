"""The household page links to the household's statement (issue 16, "Accounts")."""

from __future__ import annotations

from datetime import date

from tests.factories import login, make_user, records
from tests.members.helpers import enrol, scheme_with_programme


def test_the_household_page_links_to_its_statement(app, client):
    with records(app) as session:
        scheme = scheme_with_programme(session)
        household = enrol(session, scheme, "H-1", date(2025, 1, 10))
        clerk = make_user(session, "clerk", scheme)
    login(client, clerk)

    page = client.get(f"/schemes/{scheme.code}/households/{household.id}").get_data(as_text=True)

    link = f'href="/schemes/{scheme.code}/households/{household.id}/statement"'
    assert link in page
    assert client.get(f"/schemes/{scheme.code}/households/{household.id}/statement").status_code == 200
