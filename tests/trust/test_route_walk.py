"""Every registered route, walked with out-of-range path and query values, as the administrator and as each other
role: never a 5xx (issue 18).

The world is the hostile-forms walk's (the demo with a batch, a settlement and a study, so every URL is built
with real ids). For each route and method (GET and POST, an empty form):

- each path argument is replaced in turn by a hostile value: ids above 2³¹ and 2⁶³, negative ids, long texts,
  ``9999-12``, a NUL byte, bytes that are not UTF-8 (a lone surrogate encoded);
- the query string carries every argument name the route's module reads (found in its source) and its page's
  GET forms show, all at once with each hostile value (out-of-range dates such as ``9999-12-31`` and
  ``9999-12``, numbers above 2³¹, absurd dates, long texts, NUL and non-UTF-8 bytes), then — as the admin, on
  pages — each name alone with the values that reach a parser (so a 400 on one argument cannot hide another's
  500). Other roles walk the same paths with fewer values: most of their requests stop at the permission check.

The test client propagates exceptions (TESTING), so a server error fails with its traceback; a handled 5xx
fails on its status. On PostgreSQL this is where an integer above 2³¹ or a NUL byte reaching a query shows.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from mhi.schemes.models import Federation, Provider, Scheme
from tests.factories import login, make_user, records
from tests.trust.test_hostile_forms import SKIPPED, _url, _world

#: Hostile values for path arguments, already URL-encoded.
PATH_INT = ["2147483648", "9223372036854775808", "-1"]
PATH_TEXT = ["x" * 300, "9999-12", "%00", "%ED%A0%80"]
#: Hostile values for query arguments, already URL-encoded.
QUERY = [
    "9999-12",
    "9999-12-31",
    "0001-01-01",
    "0000-01",
    "1899-12-31",
    "2025-02-30",
    "-1",
    "2147483648",
    "99999999999999999999",
    "1e309",
    "NaN",
    "x" * 3000,
    "%00",
    "%ED%A0%80",
    "9999-Q4",
    "0000",
]
#: Each argument alone (the admin's walk): the values that reach a parser rather than a length or encoding check.
ALONE = ["9999-12-31", "9999-12", "2147483648"]
#: Downloads render a document per request: walked with all arguments at once only.
DOWNLOAD = re.compile(r"\.(pdf|csv|json)$")
ROLES = ("admin", "scheme_manager", "clerk", "claims_officer", "auditor", "federation_reviewer", "facility")
#: How the application reads a query argument: request.args.get("x"), args["x"], getlist, and the shared readers.
NAME_PATTERN = re.compile(r"""(?:args\.get|args\.getlist|args\[|day_arg|query_date|query_int)\(?\s*["']([a-z_]+)["']""")
#: Arguments the hostile-forms walk fills from another key of the world (see its ``_url``).
ALIASES = {"receipt_id": "subsidy_receipt_id", "claim_id": "batch_claim_id"}


class _GetForms(HTMLParser):
    """The names of the fields of a page's GET forms."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self._in_get = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_get = (a.get("method") or "get").lower() == "get"
        elif self._in_get and tag in ("input", "select", "textarea") and a.get("name"):
            self.names.add(a["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_get = False


def _rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED and not rule.endpoint.startswith("static")
    ]


def _path_variants(rule, ids: dict) -> list[str]:
    """The rule's URL with each argument replaced in turn by each hostile value."""
    variants = []
    for name in rule.arguments:
        numeric = isinstance(rule._converters[name], IntegerConverter)
        for value in PATH_INT if numeric else PATH_TEXT:
            hostile = {**ids, name: value}
            if name in ALIASES:
                hostile[ALIASES[name]] = value
            variants.append(_url(rule, hostile))
    return variants


def _names_by_route(app, client, ids) -> dict[str, list[str]]:
    """For each route, the query argument names its module reads and its page's GET forms show (and "on")."""
    names: dict[str, list[str]] = {}
    for rule in _rules(app):
        view = app.view_functions[rule.endpoint]
        module = sys.modules[view.__module__]
        found = set(NAME_PATTERN.findall(Path(module.__file__).read_text(encoding="utf-8"))) | {"on"}
        if "GET" in rule.methods:
            response = client.get(_url(rule, ids))
            if response.status_code == 200 and response.mimetype == "text/html":
                parser = _GetForms()
                parser.feed(response.get_data(as_text=True))
                found |= parser.names
        names[rule.rule] = sorted(found - {"next"})
    return names


def _send(client, role: str, method: str, url: str) -> None:
    response = client.open(url, method=method)
    assert response.status_code < 500, (role, method, url[:300], response.status_code)


def _walk(app, client, role: str, ids: dict, names: dict[str, list[str]]) -> int:
    """Walk every route as the client's user; the number of requests sent."""
    sent = 0
    for rule in _rules(app):
        good = _url(rule, ids)
        for method in sorted(m for m in rule.methods if m in ("GET", "POST")):
            for url in _path_variants(rule, ids):
                _send(client, role, method, url)
                sent += 1
            wanted = names[rule.rule]
            for value in QUERY if role == "admin" else ALONE:
                _send(client, role, method, good + "?" + "&".join(f"{name}={value}" for name in wanted))
                sent += 1
            if role != "admin" or DOWNLOAD.search(good):
                continue  # other roles are mostly refused before any argument is read; the admin reads them all
            for name in wanted:
                for value in ALONE:
                    _send(client, role, method, f"{good}?{name}={value}")
                    sent += 1
    return sent


def test_every_route_with_out_of_range_values(app, client, monkeypatch, tmp_path):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    world = _world(app)
    ids = world["ids"]
    with records(app) as session:
        scheme = session.scalar(select(Scheme).where(Scheme.code == ids["code"]))
        federation = session.scalar(select(Federation).where(Federation.code == ids["federation_code"]))
        users = {"admin": world["admin"]}
        for role in ROLES[1:]:
            reviewer = role == "federation_reviewer"
            # The facility desk is the walked claim's provider's, so its pages open on real records.
            provider = session.get(Provider, ids["facility_provider_id"]) if role == "facility" else None
            users[role] = make_user(
                session, role, scheme=None if reviewer else scheme, federation=federation if reviewer else None,
                provider=provider,
            )  # fmt: skip
    login(client, users["admin"])
    names = _names_by_route(app, client, ids)
    assert {"from", "to", "since", "value", "kind", "page"} <= {n for found in names.values() for n in found}
    for role in ROLES:
        walker = app.test_client()
        login(walker, users[role])
        sent = _walk(app, walker, role, ids, names)
        assert sent > (2000 if role == "admin" else 400), (role, sent)
        # No route signed the walker out; the site still answers.
        assert walker.get("/").status_code == 200
