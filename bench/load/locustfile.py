"""Load test of the desk work on the demo federation: clerks search the register, open household pages and record
receipts through the form; claims officers search and ask the eligibility JSON. Run by bench/load/run_load.sh
(a PostgreSQL database with the demo, gunicorn on loopback); by hand:

    locust -f bench/load/locustfile.py --headless -u 50 -r 10 --run-time 2m --host http://127.0.0.1:8765

Every user signs in once with a demo account (password ``demo-mhi-2026``); the forms' CSRF tokens are read from
the pages, as a browser would. Requests are named by route (``/schemes/[code]/households/[id]``), so the stats
group them per endpoint.
"""

from __future__ import annotations

import random
import re
from datetime import date

from locust import HttpUser, between, task
from requests.cookies import RequestsCookieJar

PASSWORD = "demo-mhi-2026"
SCHEMES = {"MUT-KEUR": "keur", "MUT-NOTTO": "notto", "MUT-FANDENE": "fandene"}
# What a clerk types: the demo's family names, first names and villages (mhi/demo/generator.py).
SEARCHES = [
    "Ndiaye", "Diop", "Fall", "Sow", "Faye", "Gueye", "Thiam", "Diouf", "Sarr", "Mbaye", "Diallo", "Kane", "Dieng",
    "fatou", "moussa", "awa ndiaye", "mamadou diop", "Keur Moussa", "Notto", "Fandène", "Silmang", "Pout Diack",
]  # fmt: skip
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
HIT = re.compile(r'href="/schemes/[^/]+/households/(\d+)">([^<]+)</a>')
RECEIPT_LINK = re.compile(r'href="(/schemes/[^/]+/households/\d+/receipts/new)"')


class LoopbackCookies(RequestsCookieJar):
    """Cookies sent back over plain HTTP. In production (MHI_ENV=production) the session cookie is marked Secure,
    for the HTTPS a reverse proxy adds; this test talks to gunicorn directly on loopback, without the proxy."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


def csrf_token(html: str) -> str:
    """The CSRF token of the page's form (every POST form carries one)."""
    found = CSRF.search(html)
    if not found:
        raise ValueError("no CSRF token on the page")
    return found.group(1) or found.group(2)


class DeskUser(HttpUser):
    """A signed-in user of one scheme (chosen at random); subclasses say which account and what they do."""

    abstract = True
    role = ""
    wait_time = between(1, 3)

    def on_start(self) -> None:
        """Sign in once, through the form, as the scheme's demo account of this role."""
        self.client.cookies = LoopbackCookies()
        self.scheme = random.choice(list(SCHEMES))
        self.households: list[int] = []
        self.members: list[str] = []
        page = self.client.get("/login", name="/login")
        with self.client.post(
            "/login",
            data={
                "email": f"{self.role}.{SCHEMES[self.scheme]}@demo.mhi",
                "password": PASSWORD,
                "csrf_token": csrf_token(page.text),
                "next": "",
            },
            name="/login [POST]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # A good sign-in answers a redirect to the dashboard; a refused one shows the form again (200) or,
            # held back after failures, a 429.
            if response.status_code != 302:
                response.failure(f"sign-in refused: {response.status_code}")

    def page(self, path: str, name: str, **params) -> str:
        """GET a page; a failure unless it answers 200 (a lost session ends on the sign-in page)."""
        with self.client.get(path, params=params or None, name=name, catch_response=True) as response:
            if response.status_code != 200 or "/login" in response.url:
                response.failure(f"{response.status_code} at {response.url}")
            return response.text

    def search(self) -> None:
        """Search the register; remember the households and member numbers found."""
        term = random.choice(SEARCHES)
        html = self.page(f"/schemes/{self.scheme}/households", "/schemes/[code]/households?q=", q=term)
        for household_id, member_no in HIT.findall(html):
            if len(self.households) < 200:
                self.households.append(int(household_id))
                self.members.append(member_no.strip())


class Clerk(DeskUser):
    """A clerk at the desk: searches, opens households, records payments."""

    role = "clerk"
    weight = 3

    @task(4)
    def search_register(self) -> None:
        self.search()

    @task(4)
    def household_page(self) -> None:
        if not self.households:
            return self.search()
        household = random.choice(self.households)
        self.page(f"/schemes/{self.scheme}/households/{household}", "/schemes/[code]/households/[id]")

    @task(1)
    def record_receipt(self) -> None:
        """Open a household, follow its "Record a payment" link (absent for struck-off or exited households), fill
        and send the form; success is the redirect back to the household page."""
        if not self.households:
            return self.search()
        household = random.choice(self.households)
        html = self.page(f"/schemes/{self.scheme}/households/{household}", "/schemes/[code]/households/[id]")
        link = RECEIPT_LINK.search(html)
        if not link:
            return None
        form = self.page(link.group(1), "/schemes/[code]/households/[id]/receipts/new")
        with self.client.post(
            link.group(1),
            data={
                "csrf_token": csrf_token(form),
                "date": date.today().isoformat(),
                "amount": "250",
                "method": random.choice(["cash", "mobile_money"]),
                "collector": "load test",
                "receipt_no": "",
            },
            name="/schemes/[code]/households/[id]/receipts/new [POST]",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or f"/households/{household}" not in response.headers.get("Location", ""):
                response.failure(f"receipt not recorded: {response.status_code}")
        return None


class Manager(DeskUser):
    """A scheme manager: the indicators dashboard of the year so far — a pure read of the stored ledgers (issue 17:
    no report writes). Three of them (one a scheme), each looking every 10–30 s, beside the desk staff."""

    role = "scheme"
    fixed_count = 3
    wait_time = between(10, 30)

    @task
    def dashboard(self) -> None:
        year = date.today().year
        self.page(f"/schemes/{self.scheme}/indicators", "/schemes/[code]/indicators", kind="year", value=str(year))


class ClaimsOfficer(DeskUser):
    """A claims officer at the health centre's desk: looks members up and asks whether they are covered."""

    role = "claims"
    weight = 1

    @task(1)
    def search_register(self) -> None:
        self.search()

    @task(3)
    def eligibility(self) -> None:
        if not self.members:
            return self.search()
        with self.client.get(
            f"/schemes/{self.scheme}/eligibility.json",
            params={"member_no": random.choice(self.members)},
            name="/schemes/[code]/eligibility.json",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or not response.json().get("found"):
                response.failure(f"eligibility: {response.status_code} {response.text[:100]}")
        return None
