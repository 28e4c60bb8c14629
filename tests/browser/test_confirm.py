"""Irreversible actions ask first (issue 12), in a real browser without any script of ours: a clerk reverses a
receipt; the reversal form leads to a page saying what cannot be undone, "Go back" leaves the receipt as it was,
and only the confirmation's own button records the counter-entry. Screenshots in
test-artifacts/screenshots/clerk-reverses-receipt/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Journey, sign_in

pytestmark = pytest.mark.browser


def test_clerk_reverses_a_receipt_only_after_confirming(page, console, demo):
    journey = Journey("clerk-reverses-receipt")
    code = demo.scheme_code
    sign_in(page, "clerk.keur@demo.mhi")

    # A receipt of our own on a covered member's household, so that it is surely not reversed yet.
    page.goto(f"/schemes/{code}/households?q={demo.covered_member_no}")
    page.locator("main table tbody tr a").first.click()
    household_url = page.url
    page.get_by_role("link", name="Record a payment").click()
    page.fill("#amount", "1500")
    page.select_option("#method", "cash")
    page.get_by_role("button", name="Record").click()
    expect(page).to_have_url(household_url)
    receipt_no = re.search(r"Receipt (\S+) recorded", page.locator("p.flash-success").inner_text()).group(1)
    receipts = page.locator("h2", has_text="Receipts").locator("xpath=following-sibling::div[1]//table")
    row = receipts.locator("tbody tr", has_text=receipt_no)

    # The reversal form, then the page that asks first.
    row.get_by_role("link", name="Reverse").click()
    page.fill("#reason", "typed on the wrong household")
    page.get_by_role("button", name="Reverse").click()
    expect(page.get_by_role("heading", name=f"Reverse receipt {receipt_no}")).to_be_visible()
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    expect(page.get_by_text("typed on the wrong household")).to_be_visible()
    assert page.locator("main form input[name=csrf_token]").get_attribute("value")
    journey.shot(page, "asks-first")

    # Going back changes nothing.
    page.get_by_role("link", name="Go back").click()
    expect(page).to_have_url(household_url)
    expect(row).not_to_contain_text("Reversed by")
    journey.shot(page, "went-back")

    # Confirmed: the counter-entry is recorded.
    row.get_by_role("link", name="Reverse").click()
    page.fill("#reason", "typed on the wrong household")
    page.get_by_role("button", name="Reverse").click()
    page.get_by_role("button", name="Reverse the receipt").click()
    expect(page).to_have_url(household_url)
    expect(page.locator("p.flash-success")).to_contain_text(f"Receipt {receipt_no} reversed by {receipt_no}-R.")
    expect(receipts).to_contain_text(f"Reversed by {receipt_no}-R")
    journey.shot(page, "reversed")
    console.assert_clean()
