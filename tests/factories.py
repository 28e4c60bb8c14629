"""Small factories for tests: a federation, a scheme with one product, a user, and signing in a test client.

Each commits and reloads what it made, so the records are visible to requests made with the test client and
their columns stay readable after the session that made them is closed.

View tests set records up inside ``with records(app) as session:`` and send requests outside it. A request
sent while the test's own app context is pushed (the ``session`` fixture) runs *inside* that context — Flask
reuses it — and so shares its ``g``: the signed-in user and the language of the first request would stick
to every later one.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from werkzeug.security import generate_password_hash

from mhi.auth.models import User
from mhi.core import clock
from mhi.core.db import db
from mhi.schemes.models import Benefit, Federation, Product, ProductVersion, Provider, Scheme

PASSWORD = "correct horse 1"
_serial = itertools.count(1)


@contextmanager
def records(app) -> Iterator:
    """A database session in a short app context, to set up or check records around test-client requests.

    Its commits do not expire the records, so what the block made stays readable after it (ids, codes, e-mails).
    """
    with app.app_context():
        db.session().expire_on_commit = False
        yield db.session


def make_federation(session, code: str = "FED", *, name: str | None = None, currency: str = "XOF") -> Federation:
    """A federation without pool rules."""
    federation = Federation(code=code, name=name or f"Federation {code}", currency=currency)
    session.add(federation)
    session.commit()
    session.refresh(federation)
    return federation


def make_scheme(
    session,
    code: str = "MUT-A",
    *,
    federation: Federation | None = None,
    currency: str = "XOF",
    country: str = "SN",
    name: str | None = None,
    opening_date: date = date(2024, 1, 1),
) -> Scheme:
    """A scheme with one product ``BASE`` (one version from the opening date) and three benefits."""
    scheme = Scheme(
        code=code,
        name=name or f"Scheme {code}",
        country=country,
        currency=currency,
        federation=federation,
        target_population=10000,
        opening_date=opening_date,
        opening_reserve=Decimal(250000),
        opening_cash=Decimal(250000),
        locale=f"fr_{country}",
        settings={},
    )
    product = Product(scheme=scheme, code="BASE", name="Basic package")
    version = ProductVersion(
        product=product,
        effective_from=opening_date,
        basis="person",
        amount=Decimal(300),
        period_months=1,
        registration_fee=Decimal(1000),
        waiting_period_days=90,
        grace_period_days=30,
        lapse_after_days=180,
        submission_limit_days=90,
    )
    version.benefits = [
        Benefit(
            position=0,
            code="OPD",
            name="Consultation",
            kind="service",
            coverage_rate=Decimal("0.8"),
            ceiling_per_case=Decimal(5000),
            ceiling_per_year=Decimal(20000),
            max_cases_per_year=10,
        ),
        Benefit(
            position=1,
            code="HOSP",
            name="Hospitalisation",
            kind="service",
            coverage_rate=Decimal("0.7"),
            ceiling_per_case=Decimal(100000),
        ),
        Benefit(
            position=2,
            code="DEATH",
            name="Death allowance",
            kind="cash",
            amount=Decimal(50000),
            waiting_period_days=180,
        ),
    ]
    session.add_all([scheme, product, version])
    session.commit()
    session.refresh(scheme)
    return scheme


def make_user(
    session,
    role: str,
    scheme: Scheme | None = None,
    federation: Federation | None = None,
    password: str = PASSWORD,
    *,
    email: str | None = None,
    locale: str = "en",
    active: bool = True,
    provider=None,
) -> User:
    """A user of ``role``; the password hash is a cheap one (tests sign in many times). A facility account is
    bound to ``provider``, else to a new provider of ``scheme`` (made here)."""
    email = email or f"{role}{next(_serial)}@example.org"
    if role == "facility" and provider is None:
        provider = Provider(
            scheme_id=scheme.id, code=f"FAC{next(_serial)}", name="Facility", contract_from=date(2020, 1, 1)
        )
        session.add(provider)
        session.flush()
    if provider is not None:
        scheme = scheme or provider.scheme
    user = User(
        email=email,
        name=email.split("@")[0],
        role=role,
        locale=locale,
        active=active,
        scheme_id=scheme.id if scheme is not None else None,
        federation_id=federation.id if federation is not None else None,
        provider_id=provider.id if provider is not None else None,
        password_hash=generate_password_hash(password, method="pbkdf2:sha256:1"),
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def login(client, user: User, password: str = PASSWORD, **kwargs):
    """Sign ``client`` in as ``user`` through the login page (CSRF off, as in the test app); ``kwargs`` go to the
    request (headers, environ_base)."""
    response = client.post("/login", data={"email": user.email, "password": password}, **kwargs)
    assert response.status_code == 302, f"could not sign in as {user.email}"
    return response


def make_resolution(
    session,
    scheme: Scheme,
    *,
    held_on: date = date(2026, 1, 15),
    text: str = "The general assembly adopts the new contribution and benefits.",
    attendance: int = 60,
    entitled: int = 100,
    votes: tuple[int, int, int] = (50, 5, 5),
    kind: str = "general_assembly",
    actor=None,
):
    """A meeting of ``scheme`` (60 of 100 present: quorum at the default half) with one resolution voted
    ``votes`` (for, against, abstain); returns the resolution (adopted unless the votes or the quorum say no)."""
    from mhi.governance import services as governance

    meeting = governance.record_meeting(
        session,
        scheme,
        kind=kind,
        held_on=held_on,
        members_entitled=entitled,
        attendance=attendance,
        votes=[governance.Vote(text, *votes)],
        today=max(held_on, clock.today()),
        actor=actor,
    )
    return meeting.resolutions[0]


def record_forks(monkeypatch) -> list[int]:
    """The ids of the processes forked from now on (``os.fork`` recorded for the test: the children are checked to
    be forked, or not, and waited for)."""
    import os

    forked: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    return forked
