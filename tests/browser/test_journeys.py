"""Four user journeys through the real application in Chromium, on the demo federation, each with numbered
screenshots in test-artifacts/screenshots/<journey>/:

- a clerk enrols a household and records its first payment; the household page shows the receipt and coverage;
- a claims officer checks a member's eligibility, enters a claim with two bill lines, reads the decision and its
  checks, and overrides a rejected claim (refused without a written reason);
- a scheme manager opens the indicators dashboard and downloads the PDF report;
- a federation reviewer reads the consolidated indicators but can neither see a link to a patient's claim nor
  open one by its URL.

Each journey fails if what it shows stops working (or the protection it shows is taken away), and on any script
error, console error or Content-Security-Policy refusal in the pages it opens.
"""

from __future__ import annotations

import io
import re
import secrets
from collections import deque
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from mhi.core import clock
from tests.browser.conftest import Journey, sign_in

pytestmark = pytest.mark.browser

# Any link a federation reviewer must never be offered: a claim, the claims queue, the eligibility desk (it tells
# who was treated for what), payment batches and providers' claims.
PATIENT_LINK = re.compile(r"/claims(/|\.|\?|$)|/eligibility|/batches|/providers")


def flash(page):
    """The page's success message (the flash shown after a POST-redirect)."""
    return page.locator("p.flash-success")


def test_clerk_enrols_a_household_and_records_a_receipt(page, console, demo):
    journey = Journey("clerk-enrols-household")
    code = demo.scheme_code
    ref = f"BT-{secrets.token_hex(3).upper()}"
    today = clock.today()

    sign_in(page, "clerk.keur@demo.mhi")
    page.goto(f"/schemes/{code}/households")
    expect(page.get_by_role("heading", name="Register")).to_be_visible()
    page.get_by_role("navigation", name="Register").get_by_role("link", name="Enrol a household").click()
    expect(page.get_by_role("heading", name="Enrol a household")).to_be_visible()
    journey.shot(page, "enrol-form")

    page.fill("#ref", ref)
    page.select_option("#product", index=0)
    page.fill("#village", "Keur Moussa")
    page.fill("#head-first_name", "Awa")
    page.fill("#head-last_name", "Diop")
    page.select_option("#head-sex", "F")
    page.fill("#head-date_of_birth", "1990-04-12")
    page.fill("#head-enrolment_date", today.isoformat())
    page.fill("#head-phone", "+221 77 123 45 67")
    page.fill("#members-0-first_name", "Moussa")
    page.fill("#members-0-last_name", "Diop")
    page.select_option("#members-0-sex", "M")
    page.fill("#members-0-date_of_birth", "2018-09-01")
    page.select_option("#members-0-relation", "child")
    journey.shot(page, "enrol-form-filled")
    page.get_by_role("button", name="Enrol").click()

    # The household page: both persons, and not yet covered (nothing paid).
    expect(page).to_have_url(re.compile(rf"/schemes/{code}/households/\d+$"))
    expect(flash(page)).to_contain_text(f"Household {ref} enrolled.")
    expect(page.get_by_role("heading", name=f"Household {ref}")).to_be_visible()
    members = page.locator("table").first
    expect(members).to_contain_text("Awa Diop")
    expect(members).to_contain_text("Moussa Diop")
    expect(members).to_contain_text("Child")
    status = page.locator("section.panel").first
    expect(status.locator("h2")).to_have_text("Not covered")
    expect(page.get_by_text("No receipt yet.")).to_be_visible()
    household_url = page.url
    journey.shot(page, "household-enrolled")

    # The payment: the form carries its CSRF token; the receipt is numbered by the application.
    page.get_by_role("link", name="Record a payment").click()
    expect(page.get_by_role("heading", name=f"Record a payment by household {ref}")).to_be_visible()
    assert page.locator("main form input[name=csrf_token]").get_attribute("value")
    page.fill("#amount", "6000")
    page.select_option("#method", "cash")
    page.fill("#collector", "Ndeye Fall")
    journey.shot(page, "receipt-form-filled")
    page.get_by_role("button", name="Record").click()

    expect(page).to_have_url(household_url)
    expect(flash(page)).to_contain_text(re.compile(r"Receipt \S+ recorded\."))
    receipt_no = re.search(r"Receipt (\S+) recorded", flash(page).inner_text()).group(1)
    receipts = page.locator("h2", has_text="Receipts").locator("xpath=following-sibling::div[1]//table")
    row = receipts.locator("tbody tr", has_text=receipt_no)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("6,000")
    expect(row).to_contain_text("Ndeye Fall")
    # Paid for period 0 and more: covered now, with the day the coverage runs to.
    expect(status.locator("h2")).to_have_text("Covered")
    expect(status).to_contain_text("covered until")
    journey.shot(page, "household-with-receipt")
    console.assert_clean()


def test_claims_officer_checks_eligibility_enters_a_claim_and_overrides(page, console, demo):
    journey = Journey("claims-officer")
    code = demo.scheme_code

    sign_in(page, "claims.keur@demo.mhi")
    page.goto(f"/schemes/{code}/eligibility")
    expect(page.get_by_role("heading", name="Eligibility")).to_be_visible()
    page.fill("#member_no", demo.covered_member_no)
    journey.shot(page, "eligibility-form")
    page.get_by_role("button", name="Check").click()

    answer = page.locator("section.panel")
    expect(answer.locator("h2")).to_contain_text("Covered")
    expect(answer.locator("h2")).not_to_contain_text("Not covered")
    expect(answer.locator("h2")).to_contain_text(demo.covered_member_name)
    expect(page.get_by_role("heading", name=re.compile(r"Benefits in \d{4}"))).to_be_visible()
    journey.shot(page, "eligibility-covered")

    # The claim, from the eligibility answer: the member number is filled in already.
    page.get_by_role("link", name="Enter a claim for this member").click()
    expect(page.get_by_role("heading", name="New claim")).to_be_visible()
    expect(page.locator("#member_no")).to_have_value(demo.covered_member_no)
    page.select_option("#benefit_code", "OPD")
    page.select_option("#provider_code", index=1)
    page.fill("#date_of_service", (clock.today() - timedelta(days=2)).isoformat())
    page.fill("#diagnosis_code", "J06.9")
    page.fill("#lines-0-item", "Consultation")
    page.fill("#lines-0-amount", "1500")
    page.fill("#lines-1-item", "Paracetamol and amoxicillin")
    page.fill("#lines-1-amount", "1000")
    journey.shot(page, "claim-form-filled")
    # "Add a line" shows a fifth line without saving anything (no JavaScript), the typed lines kept.
    page.get_by_role("button", name="Add a line").click()
    expect(page.locator("#lines-4-item")).to_be_visible()
    expect(page.locator("#lines-1-amount")).to_have_value("1000")
    # Saved as a draft first (issue 13), then submitted from its page.
    page.get_by_role("button", name="Save draft").click()
    expect(page).to_have_url(re.compile(rf"/schemes/{code}/claims/drafts/\d+$"))
    expect(flash(page)).to_contain_text(re.compile(r"Draft \d+ saved"))
    expect(page.get_by_role("link", name="Edit")).to_be_visible()
    journey.shot(page, "claim-draft")
    page.get_by_role("button", name="Submit for decision").click()

    expect(page).to_have_url(re.compile(rf"/schemes/{code}/claims/\d+$"))
    expect(flash(page)).to_contain_text(re.compile(r"Claim \S+ decided: (approved|reduced|rejected)\."))
    facts = page.locator("section.panel dl.facts")
    expect(facts).to_contain_text("2,500")  # the amount claimed: the sum of the two lines
    expect(facts).to_contain_text(demo.covered_member_no)
    bill = page.locator("h2", has_text="The bill").locator("xpath=following-sibling::div[1]//table")
    expect(bill.locator("tbody tr")).to_have_count(2)
    expect(bill).to_contain_text("Consultation")
    expect(bill).to_contain_text("Paracetamol and amoxicillin")
    automatic = page.locator("section.panel", has_text="Automatic decision")
    expect(automatic).to_have_count(1)
    checks = automatic.locator("tbody tr")
    assert checks.count() >= 3, "the decision shows every check it made"
    expect(automatic.locator("tbody")).to_contain_text("passed")
    journey.shot(page, "claim-decided")

    # A rejected claim from the queue, overridden.
    page.goto(f"/schemes/{code}/claims")
    page.select_option("#status", "REJECTED")
    page.get_by_role("button", name="Filter").click()
    first = page.locator("table tbody tr").first
    expect(first).to_contain_text("rejected")
    journey.shot(page, "queue-rejected")
    first.locator("a").first.click()
    claim_url = page.url
    facts = page.locator("section.panel dl.facts")
    expect(facts).to_contain_text("rejected")
    page.get_by_role("link", name="Override the decision").click()
    expect(page.get_by_role("heading", name=re.compile(r"Override the decision on"))).to_be_visible()
    override_url = page.url
    page.select_option("#status", "APPROVED")
    page.fill("#amount_approved", "1000")

    # Without a reason the browser will not even send the form (the field is required) ...
    reason = page.locator("#reason")
    reason.fill("")
    assert reason.evaluate("element => element.validity.valueMissing")
    # ... and the server refuses it too, whether the reason is missing or only blanks.
    for blank in ("", "   "):
        reason.evaluate("element => element.removeAttribute('required')")
        reason.fill(blank)
        page.get_by_role("button", name="Record the decision").click()
        expect(page).to_have_url(override_url)
        expect(page.locator(".error, .flash-error").first).to_be_visible()
        expect(page.get_by_text(re.compile(r"Write why the decision changes|needs a written reason"))).to_be_visible()
    journey.shot(page, "override-refused-without-reason")
    page.goto(claim_url)
    expect(page.locator("section.panel dl.facts")).to_contain_text("rejected")
    expect(page.locator("section.panel dl.facts .badge", has_text="override")).to_have_count(0)

    # With the written reason it is recorded; the automatic decision stays in the history.
    page.get_by_role("link", name="Override the decision").click()
    page.select_option("#status", "APPROVED")
    page.fill("#amount_approved", "1000")
    written = "Waiting period waived: transfer from another mutuelle of the union, proof seen."
    page.fill("#reason", written)
    page.get_by_role("button", name="Record the decision").click()
    expect(page).to_have_url(claim_url)
    expect(flash(page)).to_contain_text("Decision changed: approved.")
    facts = page.locator("section.panel dl.facts")
    expect(facts).to_contain_text("approved")
    expect(facts.locator(".badge", has_text="override")).to_be_visible()
    expect(page.get_by_text(written)).to_be_visible()
    expect(page.locator("section.panel", has_text="Automatic decision").locator(".badge")).to_have_text("superseded")
    journey.shot(page, "override-recorded")
    console.assert_clean()


def test_manager_opens_the_indicators_and_downloads_the_pdf(page, console, demo):
    journey = Journey("manager-indicators")
    code = demo.scheme_code

    sign_in(page, "scheme.keur@demo.mhi")
    journey.shot(page, "dashboard")
    card = page.locator("section.card", has_text=code)
    card.get_by_role("link", name="Indicators").click()
    expect(page).to_have_url(re.compile(rf"/schemes/{code}/indicators"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(demo.scheme_name)
    expect(page.get_by_role("heading", name="Per benefit")).to_be_visible()
    assert page.locator("table tbody tr").count() > 10, "the dashboard lists its indicators"
    journey.shot(page, "indicators")
    page.get_by_role("link", name="Show the last 24 months month by month").click()
    expect(page).to_have_url(re.compile(rf"/schemes/{code}/indicators/trend"))
    expect(page.locator("svg").first).to_be_visible()  # the trend charts
    page.go_back()

    link = page.get_by_role("link", name="PDF report")
    href = urljoin(page.url, link.get_attribute("href"))
    # The report is served inline: Chromium opens it in its PDF viewer (whose page wraps the bytes), so the file
    # itself is fetched again with the browser's session, as "save as" would.
    # The viewer is no HTML page of ours: it asks for /favicon.ico, which the application does not serve.
    console.expect_refusal(urljoin(href, "/favicon.ico"))
    with page.expect_response(lambda response: response.url == href) as caught:
        link.click()
    response = caught.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert re.search(rf'filename="{code}-[-0-9]+\.pdf"', response.headers.get("content-disposition", ""))
    data = page.request.get(href).body()
    assert data.startswith(b"%PDF-"), f"{href} is not a PDF"
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    assert demo.scheme_name in text, f"the PDF does not name the scheme {demo.scheme_name!r}"
    journey.shot(page, "pdf-report")
    console.assert_clean()


def test_federation_reviewer_sees_figures_but_never_a_claim(page, console, live_server, demo):
    journey = Journey("federation-reviewer")

    sign_in(page, "federation@demo.mhi")
    journey.shot(page, "dashboard")
    page.get_by_role("link", name="Consolidated indicators").first.click()
    expect(page).to_have_url(re.compile(rf"/federations/{demo.federation_code}/report"))
    table = page.locator("table").first
    for scheme_code in demo.federation_scheme_codes:
        expect(table).to_contain_text(scheme_code)
    journey.shot(page, "consolidated")

    # Every page the reviewer can reach by following links (same site, HTML) offers no link to patient data.
    pages = crawl(page, ["/", f"/federations/{demo.federation_code}/report"], limit=60)
    assert len(pages) > 5, f"the crawl reached only {sorted(pages)}"
    offending = {url: links for url, links in pages.items() if links}
    assert offending == {}, f"links to patient data on the reviewer's pages: {offending}"

    # The URLs themselves are refused: the claim of a scheme of its federation, the queue, the eligibility desk.
    scheme = demo.scheme_code
    for path in (
        f"/schemes/{scheme}/claims/{demo.claim_id}",
        f"/schemes/{scheme}/claims",
        f"/schemes/{scheme}/eligibility?member_no={demo.claim_member_no}",
        f"/schemes/{scheme}/eligibility.json?member_no={demo.claim_member_no}",
        f"/schemes/{scheme}/claims/{demo.claim_id}/override",
    ):
        url = live_server.url + path
        console.expect_refusal(url)
        response = page.goto(url)
        assert response.status in (403, 404), f"{path} answered {response.status} to a federation reviewer"
        body = page.locator("body").inner_text()  # the text, not the HTML (the language form echoes the URL)
        assert demo.claim_ref not in body and demo.claim_member_no not in body, f"{path} shows the claim"
        if path.endswith(f"/claims/{demo.claim_id}"):
            journey.shot(page, "claim-refused")
    console.assert_clean()


def crawl(page, starts: list[str], limit: int) -> dict[str, list[str]]:
    """Follow same-site links from ``starts`` with the page's session (no download, no sign-out, nothing but
    GET): for each HTML page reached, the links on it to patient data."""
    base = page.url.split("/", 3)[:3]
    origin = "/".join(base)
    seen: dict[str, list[str]] = {}
    visited: set[str] = set()
    queue = deque(urljoin(origin, s) for s in starts)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen or urlsplit(url).path in visited:
            continue
        visited.add(urlsplit(url).path)  # one visit per path: ?sort= variants show the same links
        response = page.request.get(url)
        if response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            seen[url] = []
            continue
        html = response.text()
        hrefs = [urljoin(url, h) for h in re.findall(r'href="([^"#]*)', html.replace("&amp;", "&"))]
        seen[url] = [h for h in hrefs if h.startswith(origin) and PATIENT_LINK.search(urlsplit(h).path)]
        for href in hrefs:
            path = urlsplit(href).path
            if href.startswith(origin) and not re.search(r"\.(pdf|csv|json|png|css|js)$", path) and href not in seen:
                queue.append(href)
    return seen
