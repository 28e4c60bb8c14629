"""The demo's money is consistent (issue 12): each funder's transfers pay exactly what its programme owes quarter by
quarter (the indicators' ``subsidies_due``, programme by programme), the only difference being the quarters whose
transfer has not arrived yet; and one product carries its feasibility study, so the experience warning shows on the
product's page."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from mhi.core import clock
from mhi.core.db import db
from mhi.demo.cli import DEMO_PASSWORD
from mhi.demo.generator import STUDY_SCHEME
from mhi.schemes.models import Product, Scheme
from mhi.subsidies.models import SubsidyReceipt
from mhi.subsidies.queries import programme_statement
from tests.replay.machinery import run

#: A quarter's transfer arrives 10 to 40 days after the quarter ends (mhi/demo/generator.py).
LATEST_TRANSFER_DAYS = 40


def test_demo_subsidy_receipts_match_what_each_programme_owes(app, runner, client):
    with app.app_context():  # ``demo`` is a plain click command: the ``flask`` script gives it the app context
        run(runner, "demo", "--households", "25")
    today = clock.today()
    yesterday = today - timedelta(days=1)
    with app.app_context():
        schemes = db.session.scalars(select(Scheme).order_by(Scheme.code)).all()
        assert len(schemes) == 3
        for scheme in schemes:
            statements = programme_statement(db.session, scheme, scheme.opening_date, yesterday, period="quarter")
            for statement in statements:
                receipts = db.session.scalars(
                    select(SubsidyReceipt.amount)
                    .join(SubsidyReceipt.programme)
                    .where(SubsidyReceipt.scheme_id == scheme.id, SubsidyReceipt.programme.has(code=statement.code))
                    .order_by(SubsidyReceipt.date)
                ).all()
                owed = [line for line in statement.lines if line.due > 0]
                assert receipts, (scheme.code, statement.code)
                # Quarter by quarter, in order, each transfer pays what the quarter owes…
                assert receipts == [line.due for line in owed[: len(receipts)]], (scheme.code, statement.code)
                # … and what is still owed is the quarters whose transfer is not due yet (the documented outstanding).
                outstanding = owed[len(receipts) :]
                assert all(line.end + timedelta(days=LATEST_TRANSFER_DAYS) >= yesterday for line in outstanding)
                assert statement.due - statement.received == sum((line.due for line in outstanding), Decimal(0))
            # The statement's dues are the indicators' subsidies_due, split by programme.
            indicators = json.loads(
                run(runner, "report", "indicators", "--scheme", scheme.code, "--from",
                    scheme.opening_date.isoformat(), "--to", yesterday.isoformat(), "--format", "json")
            )["indicators"]  # fmt: skip
            assert Decimal(indicators["subsidies_due"]) == sum((s.due for s in statements), Decimal(0))
        product = db.session.scalar(
            select(Product).join(Scheme).where(Scheme.code == STUDY_SCHEME, Product.code == "BASE")
        )
        product_id = product.id
        assert product.versions[-1].study_id is not None
        db.session.remove()
    short = STUDY_SCHEME.split("-")[1].lower()
    client.post("/login", data={"email": f"scheme.{short}@demo.mhi", "password": DEMO_PASSWORD})
    page = client.get(f"/feasibility/products/{product_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="flash flash-error"' in html and "OPD" in html.split('class="flash flash-error"')[1][:400]
    assert f"/schemes/{STUDY_SCHEME}/experience?product=BASE" in html
