"""A clerk's journey with an operator's statement (issue 14), in Chromium on the demo: the clerk uploads a
statement whose one line names nobody, sees the preview, imports it, finds the line waiting on the
reconciliation screen, searches the register for the household, assigns the line to it, and prints the receipt
(a PDF that names the operator and the transaction). Screenshots in test-artifacts/screenshots/<journey>/."""

from __future__ import annotations

import io
import re
import secrets
import sqlite3

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from mhi.core import clock
from tests.browser.conftest import Journey, sign_in

pytestmark = pytest.mark.browser


def test_clerk_imports_a_statement_assigns_a_line_and_prints_the_receipt(page, console, demo, live_server):
    journey = Journey("clerk-reconciles-statement")
    code = demo.scheme_code
    with sqlite3.connect(live_server.database) as connection:
        (household_ref,) = connection.execute(
            "SELECT h.ref FROM household h JOIN scheme s ON s.id = h.scheme_id WHERE s.code = ? "
            "AND h.strike_off_date IS NULL AND h.exit_date IS NULL ORDER BY h.ref LIMIT 1",
            (code,),
        ).fetchone()
    connection.close()
    tx = f"BT{secrets.token_hex(4).upper()}"
    statement = (
        "transaction_id,operator,date,amount,payer_phone,reference\n"
        f"{tx},wave,{clock.today().isoformat()},2500,+221700000999,NOBODY-{tx}\n"
    )

    sign_in(page, "clerk.keur@demo.mhi")
    page.goto(f"/schemes/{code}/imports/statement")
    expect(page.get_by_role("heading", name="Import an operator's statement")).to_be_visible()
    page.set_input_files("#file", {"name": "wave.csv", "mimeType": "text/csv", "buffer": statement.encode()})
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name=re.compile(r"0 matched, 1 unmatched, 0 ambiguous"))).to_be_visible()
    journey.shot(page, "preview")
    page.get_by_role("button", name="Import these lines").click()

    # The reconciliation screen: the line waits for a clerk.
    expect(page).to_have_url(re.compile(rf"/schemes/{code}/statement-lines$"))
    row = page.locator("tbody tr", has_text=tx)
    expect(row).to_have_count(1)
    journey.shot(page, "waiting-lines")
    row.get_by_role("link", name="Reconcile").click()
    expect(page.get_by_role("heading", name="Reconcile a payment")).to_be_visible()
    page.fill("#q", household_ref)
    page.get_by_role("button", name="Search").click()
    journey.shot(page, "search")
    page.get_by_role("button", name=f"Assign to {household_ref}").first.click()

    flash = page.locator("p.flash-success")
    expect(flash).to_contain_text(re.compile(r"Receipt \S+ recorded\."))
    receipt_no = re.search(r"Receipt (\S+) recorded", flash.inner_text()).group(1)
    expect(page.locator("tbody tr", has_text=tx)).to_have_count(0)  # no longer waiting
    journey.shot(page, "assigned")

    # Print it: the slip is a PDF naming the receipt, the operator and the transaction.
    href = flash.get_by_role("link", name="Print it").get_attribute("href")
    response = page.request.get(href)
    assert response.status == 200 and response.headers["content-type"].startswith("application/pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    for expected in (receipt_no, "wave", tx, household_ref):
        assert expected in text, expected
    console.assert_clean()
