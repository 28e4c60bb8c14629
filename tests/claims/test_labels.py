"""Labels, never codes (issue 16): the claims queue, a claim, the household page, the eligibility page and the
provider page, read in French, name each reason, relationship and provider kind by its label — a reason code may
stand beside its label, small, never alone — and count days with their plural ("1 jour", never "1 jours")."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest

from mhi.claims import rules
from mhi.claims.models import Claim
from mhi.claims.services import submit_claim
from tests.claims.claim_helpers import entry, make_household, make_scheme
from tests.factories import login, make_user, records

#: Every code of the families under test, with the French label that must come first wherever it shows.
LABELS = {
    rules.TARIFF_CAPPED: "Ramenée au tarif conventionnel",
    rules.CEILING_PER_YEAR: "Plafond annuel atteint",
    rules.WAITING_PERIOD: "Délai de carence",
    rules.LATE_SUBMISSION: "Déposée hors délai",
}
#: Codes that never show at all: their label replaces them.
NEVER = {"head": "Chef de ménage", "child": "Enfant", "health_centre": "centre de santé"}


class _Text(HTMLParser):
    """The text a reader sees (no attributes, no script or style)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def bare_codes(text: str) -> list[str]:
    """The codes of ``text`` not right after their label (so shown alone, or label second)."""
    wrong = []
    for code, label in LABELS.items():
        for match in re.finditer(rf"\b{code}\b", text):
            if not text[: match.start()].rstrip().endswith(label):
                wrong.append(f"{code} at …{text[max(0, match.start() - 60) : match.end()]}")
    for code in NEVER:
        wrong += [f"{code} (no label)" for _ in re.finditer(rf"(?<![\w-]){code}(?![\w-])", text)]
    return wrong


@pytest.fixture
def world(app):
    """The claims test scheme (OPD capped at 4000 at the health centre CS, 80 %, 6000 a year), a household of a
    head and a child, two decided claims — the second reduced for two reasons — and a French claims manager."""
    with records(app) as session:
        scheme = make_scheme(session)
        household = make_household(session, scheme, "H-1", [("A-1", "head"), ("A-2", "child")])
        session.commit()
        first = submit_claim(
            session, scheme, entry("C-1", "A-1", amount="9000", service=date(2025, 3, 1), submitted=date(2025, 3, 2)),
            source="form", actor=None, recorded_on=date(2025, 3, 3),
        )  # fmt: skip
        second = submit_claim(
            session, scheme, entry("C-2", "A-1", amount="9000", service=date(2025, 4, 1), submitted=date(2025, 4, 2)),
            source="form", actor=None, recorded_on=date(2025, 4, 3),
        )  # fmt: skip
        session.commit()
        manager = make_user(session, "scheme_manager", scheme=scheme, locale="fr")
        return {"scheme": scheme, "household": household, "claims": (first, second), "manager": manager}


def test_reasons_relationships_and_provider_kinds_show_as_labels_in_french(app, client, world):
    scheme, household = world["scheme"], world["household"]
    first, second = world["claims"]
    with records(app) as session:
        stored = session.get(Claim, second.id)
        assert (stored.status, stored.reasons.split(";")) == ("REDUCED", ["TARIFF_CAPPED", "CEILING_PER_YEAR"])
    login(client, world["manager"])
    pages = {
        "queue": f"/schemes/{scheme.code}/claims",
        "claim": f"/schemes/{scheme.code}/claims/{second.id}",
        "household": f"/schemes/{scheme.code}/households/{household.id}",
        "eligibility": f"/schemes/{scheme.code}/eligibility?member_no=A-1&on=2025-06-01",
        "provider": f"/schemes/{scheme.code}/providers/CS",
    }
    texts = {}
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        texts[name] = visible(response.get_data(as_text=True))
        assert bare_codes(texts[name]) == [], name
    # The labels are there (so the test above has something to see).
    for name in ("queue", "claim"):
        both = f"{LABELS['TARIFF_CAPPED']} TARIFF_CAPPED ?, {LABELS['CEILING_PER_YEAR']} CEILING_PER_YEAR"
        assert re.search(both, texts[name]), name
    assert "Chef de ménage" in texts["household"] and "Enfant" in texts["household"]
    assert "Chef de ménage" in texts["eligibility"]
    assert "centre de santé" in texts["provider"]
    assert "Consultation" in texts["claim"] and "Consultation" in texts["queue"]  # the benefit's name


def test_a_bare_code_fails_the_check():
    """The check itself: a code shown alone, or before its label, is found."""
    assert bare_codes("Décision : réduite — TARIFF_CAPPED") != []
    assert bare_codes("TARIFF_CAPPED Ramenée au tarif conventionnel") != []
    assert bare_codes("Lien de parenté head") != []
    assert bare_codes("Type health_centre") != []
    assert bare_codes("Ramenée au tarif conventionnel TARIFF_CAPPED, Chef de ménage") == []


def test_one_day_is_singular(app, client, world):
    """A claim submitted one day after the care: "1 jour", never "1 jours" (the check messages count with
    ngettext)."""
    scheme = world["scheme"]
    first, _second = world["claims"]
    login(client, world["manager"])
    text = visible(client.get(f"/schemes/{scheme.code}/claims/{first.id}").get_data(as_text=True))
    assert "Déposée 1 jour après les soins, dans le délai de 90 jours." in text
    assert "Délai de carence de 30 jours écoulé" in text
    assert not re.search(r"\b1 jours\b", text)


def test_a_message_stored_by_an_earlier_release_is_worded_with_its_plural(app):
    """Decisions keep their message text: one stored with the old "%(days)s days" wording reads as the new one."""
    from flask_babel import force_locale

    from mhi.claims.views import translate

    old = "Submitted %(days)s days after the service; the limit is %(limit)s days."
    with app.test_request_context(), records(app) as session:
        scheme = make_scheme(session, "MUT-OLD")
        with force_locale("fr"):
            assert translate(old, {"days": 1, "limit": 90}, scheme) == (
                "Déposée 1 jour après les soins ; le délai est de 90 jours."
            )
        with force_locale("en"):
            assert translate(old, {"days": 1, "limit": 1}, scheme) == (
                "Submitted 1 day after the service; the limit is 1 day."
            )
