"""Generated numbers under concurrency (issue 18): many clients at the same moment, each through its own test
client (its own request, app context and database session), on PostgreSQL.

Every number comes from ``core/numbering.py``: claim references, receipt numbers, payment batches and member
numbers are distinct, every request succeeds, and a client is never told that a reference it did not send is
taken. Two enrolments of one household reference give one household and a clear message, never a 500.
SQLite is skipped: it has a single writer, so these races cannot happen there by design (the same services
are covered on SQLite by the feature tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from mhi.claims.models import Claim, PaymentBatch
from mhi.contributions.models import Receipt
from mhi.core import clock
from mhi.members.models import Household, Person
from mhi.schemes.models import Provider, Tariff
from tests.claims.claim_helpers import make_household
from tests.factories import login, make_scheme, make_user, records
from tests.trust.helpers import postgresql_only

#: The year of the numbers: every test runs on a day of it (the clock is set, so a run that crosses New Year's
#: midnight numbers in the year the test expects).
YEAR = 2026


@pytest.fixture(autouse=True)
def _postgresql(app):
    postgresql_only(app)


@pytest.fixture(autouse=True)
def _clock():
    with clock.frozen(date(YEAR, 6, 15)):
        yield


@pytest.fixture
def world(app):
    """Scheme MUT-A with provider CS (tariff OPD 4000), household H-1 (member A-1, covered), and users."""
    with records(app) as session:
        scheme = make_scheme(session, "MUT-A")
        provider = Provider(scheme_id=scheme.id, code="CS", name="Centre de santé", contract_from=date(2024, 1, 1))
        session.add(provider)
        session.flush()
        session.add(
            Tariff(
                provider_id=provider.id, effective_from=provider.contract_from, benefit_code="OPD", amount=Decimal(4000)
            )
        )
        household = make_household(session, scheme, "H-1", [("H-1-01", "head")])
        session.commit()
        return {
            "household_id": household.id,
            "officer": make_user(session, "claims_officer", scheme=scheme),
            "clerk": make_user(session, "clerk", scheme=scheme),
        }


def clients(app, user, count: int) -> list:
    """``count`` test clients, each signed in as ``user`` (each its own session cookie)."""
    signed_in = []
    for _ in range(count):
        client = app.test_client()
        login(client, user)
        signed_in.append(client)
    return signed_in


def all_at_once(calls: list[Callable]) -> list:
    """Run each call in its own thread, all released together; their responses in order (an exception is
    returned in place of its response)."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call: Callable) -> None:
        start.wait(timeout=30)
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 — reported by the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a request hung (a deadlock?)"
    return results


def statuses(results) -> list:
    """Each response's status code (or the exception raised)."""
    return [r if isinstance(r, BaseException) else r.status_code for r in results]


CLAIM = {
    "member_no": "H-1-01",
    "provider_code": "CS",
    "benefit_code": "OPD",
    "date_of_service": "2025-03-01",
    "date_submitted": "2025-03-02",
    "amount_claimed": "3000",
}


def test_sixteen_claims_without_references_at_once(app, world):
    posts = [lambda c=c: c.post("/api/schemes/MUT-A/claims", json=CLAIM) for c in clients(app, world["officer"], 16)]
    results = all_at_once(posts)
    assert statuses(results) == [201] * 16, [r.get_data(as_text=True)[:200] for r in results if r.status_code != 201]
    refs = sorted(r.get_json()["claim_ref"] for r in results)
    assert refs == [f"CLM-{YEAR}-{n:06d}" for n in range(1, 17)]
    with records(app) as session:
        assert sorted(session.scalars(select(Claim.claim_ref))) == refs


def test_a_client_is_never_refused_a_reference_it_did_not_send(app, world):
    """Half the clients send the very references the counter is about to hand out. A claim without a reference
    is always stored (it takes a number left free); a client that sent a reference is stored, or told that
    *its* reference is taken — when a numbered claim got there first."""
    explicit = [f"CLM-{YEAR}-{n:06d}" for n in range(1, 7)]
    officers = clients(app, world["officer"], 12)
    posts = [
        lambda c=c, r=r: c.post("/api/schemes/MUT-A/claims", json={**CLAIM, "claim_ref": r})
        for c, r in zip(officers[:6], explicit, strict=True)
    ]
    posts += [lambda c=c: c.post("/api/schemes/MUT-A/claims", json=CLAIM) for c in officers[6:]]
    results = all_at_once(posts)
    assert statuses(results[6:]) == [201] * 6
    for ref, response in zip(explicit, results[:6], strict=True):
        assert response.status_code in (201, 409)
        if response.status_code == 201:
            assert response.get_json()["claim_ref"] == ref
        else:
            assert response.get_json()["errors"]["claim_ref"].startswith(f"Claim {ref} already exists")
    stored = [r.get_json()["claim_ref"] for r in results if r.status_code == 201]
    assert len(set(stored)) == len(stored) >= 6
    with records(app) as session:
        assert sorted(session.scalars(select(Claim.claim_ref))) == sorted(stored)


def test_the_same_reference_sent_twice_at_once(app, world):
    officers = clients(app, world["officer"], 2)
    body = {**CLAIM, "claim_ref": "SAME-1"}
    results = all_at_once([lambda c=c: c.post("/api/schemes/MUT-A/claims", json=body) for c in officers])
    assert sorted(statuses(results)) == [201, 409]
    refused = next(r for r in results if r.status_code == 409)
    assert "SAME-1 already exists" in refused.get_json()["errors"]["claim_ref"]


def test_eight_claims_typed_in_the_form_at_once(app, world):
    form = {**CLAIM, "lines-0-item": "Consultation", "lines-0-amount": "3000", "action": "submit"}
    del form["amount_claimed"]
    posts = [lambda c=c: c.post("/schemes/MUT-A/claims/new", data=form) for c in clients(app, world["officer"], 8)]
    results = all_at_once(posts)
    assert statuses(results) == [302] * 8
    with records(app) as session:
        assert sorted(session.scalars(select(Claim.claim_ref))) == [f"CLM-{YEAR}-{n:06d}" for n in range(1, 9)]


def test_newborns_added_to_one_household_at_once(app, world):
    hid = world["household_id"]
    newborn = {
        "first_name": "Bébé",
        "last_name": "Ndiaye",
        "sex": "F",
        "relation": "child",
        "date_of_birth": "2025-02-01",
        "enrolment_date": "2025-02-02",
    }
    url = f"/schemes/MUT-A/households/{hid}/persons/new"
    results = all_at_once([lambda c=c: c.post(url, data=newborn) for c in clients(app, world["clerk"], 8)])
    assert statuses(results) == [302] * 8
    with records(app) as session:
        numbers = sorted(session.scalars(select(Person.member_no).where(Person.household_id == hid)))
    assert numbers == [f"H-1-{n:02d}" for n in range(1, 10)]


def test_two_enrolments_of_one_household_reference_at_once(app, world):
    data = {
        "ref": "H-2",
        "product": "BASE",
        "village": "Pout",
        "head-first_name": "Moussa",
        "head-last_name": "Fall",
        "head-sex": "M",
        "head-date_of_birth": "1980-01-01",
        "head-enrolment_date": "2025-03-01",
    }
    url = "/schemes/MUT-A/households/new"
    results = all_at_once([lambda c=c: c.post(url, data=data) for c in clients(app, world["clerk"], 2)])
    assert sorted(statuses(results)) == [200, 302]
    refused = next(r for r in results if r.status_code == 200)
    assert "household H-2 already exists in this scheme" in refused.get_data(as_text=True)
    with records(app) as session:
        household = session.scalar(select(Household).where(Household.ref == "H-2"))
        assert [p.member_no for p in household.persons] == ["H-2-01"]


def test_receipts_recorded_at_once(app, world):
    url = f"/schemes/MUT-A/households/{world['household_id']}/receipts/new"
    body = {"date": "2025-01-10", "amount": "300", "method": "cash"}
    results = all_at_once([lambda c=c: c.post(url, data=body) for c in clients(app, world["clerk"], 8)])
    assert statuses(results) == [302] * 8
    with records(app) as session:
        numbers = sorted(session.scalars(select(Receipt.receipt_no)))
    assert numbers == [f"R-2025-{n:06d}" for n in range(1, 9)]


def test_two_payment_batches_of_one_provider_at_once(app, world):
    """One batch takes the provider's approved claims; the other is told nothing is left, and no claim is in
    two batches."""
    officer = clients(app, world["officer"], 1)[0]
    for n in range(3):
        assert officer.post("/api/schemes/MUT-A/claims", json={**CLAIM, "claim_ref": f"B-{n}"}).status_code == 201
    results = all_at_once(
        [lambda c=c: c.post("/schemes/MUT-A/providers/CS/batches") for c in clients(app, world["officer"], 2)]
    )
    assert statuses(results) == [302, 302]
    with records(app) as session:
        batches = session.scalars(select(PaymentBatch)).all()
        assert [b.number for b in batches] == ["CS-0001"]
        in_batch = session.scalars(select(Claim.batch_id).where(Claim.status != "REJECTED")).all()
        assert in_batch and set(in_batch) == {batches[0].id}
