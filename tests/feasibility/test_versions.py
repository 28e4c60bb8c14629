"""Product versions (schemes/versions.py): a change is a new dated draft; activating needs a recent study on the
version's own rules; every change is audited; drafts are never the rules in force."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from mhi.core.audit import AuditEvent
from mhi.feasibility import services
from mhi.schemes import versions
from mhi.schemes.services import version_in_force
from tests.conftest import EXAMPLES
from tests.factories import make_resolution, make_scheme, make_user

TODAY = date(2026, 3, 1)
NOW = datetime(2026, 3, 1, 9, 0)


def fandene() -> dict:
    """The example study input."""
    return json.loads((EXAMPLES / "fandene-study.json").read_text(encoding="utf-8"))


@pytest.fixture
def setup(session):
    """A scheme, its manager, and a product STEP made from the Fandène study (a draft from 2026-04-01)."""
    scheme = make_scheme(session, "MUT-V")
    manager = make_user(session, "scheme_manager", scheme)
    study = services.save_study(session, fandene(), scheme=scheme, federation_id=None, actor=manager, now=NOW)
    product = services.create_product_from_study(
        session,
        study,
        scheme,
        code="STEP",
        name="Paquet",
        period_months=12,
        effective_from=date(2026, 4, 1),
        actor=manager,
    )
    resolution = make_resolution(session, scheme, held_on=date(2026, 2, 20), actor=manager)
    session.commit()
    return {
        "scheme": scheme,
        "manager": manager,
        "study": study,
        "product": product,
        "draft": product.versions[0],
        "resolution": resolution,
    }


def values_of(version, **changes) -> dict:
    """A version's rule fields as ``update_draft`` takes them, with ``changes``."""
    return {k: getattr(version, k) for k in versions.VERSION_FIELDS} | changes


def benefits_of(version, **coverage) -> list[dict]:
    """A version's benefits as ``update_draft`` takes them, with new coverage rates by code."""
    rows = []
    for b in version.benefits:
        row = {k: getattr(b, k) for k in versions.BENEFIT_FIELDS}
        if b.code in coverage:
            row["coverage_rate"] = Decimal(coverage[b.code])
        rows.append(row)
    return rows


def test_first_version_activates_on_its_study(session, setup):
    """The draft made from a study is activated on it; drafts were never in force, active versions are."""
    draft, study = setup["draft"], setup["study"]
    assert version_in_force(setup["product"].versions, date(2026, 5, 1)) is None
    assert versions.activation_problems(draft, study, today=TODAY) == []
    versions.activate_version(session, draft, study, setup["resolution"], today=TODAY, actor=setup["manager"])
    session.commit()
    assert draft.status == "active"
    assert version_in_force(setup["product"].versions, date(2026, 5, 1)) is draft
    audit = session.query(AuditEvent).filter_by(entity="product_version", entity_id=draft.id, action="activate")
    assert audit.count() == 1


def test_activation_without_study_is_refused_with_a_clear_message(session, setup):
    """No study attached: refused, saying what to do."""
    with pytest.raises(versions.VersionError, match="attach a feasibility study"):
        versions.activate_version(
            session, setup["draft"], None, setup["resolution"], today=TODAY, actor=setup["manager"]
        )
    assert setup["draft"].status == "draft"


def test_activation_needs_an_adopted_resolution(session, setup):
    """C102 art. 72: a version is activated on a resolution adopted at a meeting with quorum, held by then."""
    draft, study, manager, scheme = setup["draft"], setup["study"], setup["manager"], setup["scheme"]
    with pytest.raises(versions.VersionError, match="choose the resolution"):
        versions.activate_version(session, draft, study, None, today=TODAY, actor=manager)
    no_quorum = make_resolution(
        session, scheme, held_on=date(2026, 2, 1), attendance=40, votes=(30, 5, 5), actor=manager
    )
    assert not no_quorum.meeting.quorum_reached and not no_quorum.adopted
    with pytest.raises(versions.VersionError, match="did not reach its quorum"):
        versions.activate_version(session, draft, study, no_quorum, today=TODAY, actor=manager)
    rejected = make_resolution(session, scheme, held_on=date(2026, 2, 1), votes=(20, 30, 10), actor=manager)
    with pytest.raises(versions.VersionError, match="not adopted"):
        versions.activate_version(session, draft, study, rejected, today=TODAY, actor=manager)
    later = make_resolution(session, scheme, held_on=date(2026, 2, 20), actor=manager)
    with pytest.raises(versions.VersionError, match="after the activation"):
        versions.activate_version(session, draft, study, later, today=date(2026, 2, 19), actor=manager)
    elsewhere = make_resolution(session, make_scheme(session, "MUT-X"), held_on=date(2026, 2, 1), actor=manager)
    with pytest.raises(versions.VersionError, match="of this scheme"):
        versions.activate_version(session, draft, study, elsewhere, today=TODAY, actor=manager)
    assert draft.status == "draft" and draft.resolution_id is None
    versions.activate_version(session, draft, study, setup["resolution"], today=TODAY, actor=manager)
    assert draft.status == "active" and draft.resolution_id == setup["resolution"].id


def test_quorum_is_a_scheme_setting(session, setup):
    """Half of the members entitled by default; a scheme may ask for two thirds."""
    scheme, manager = setup["scheme"], setup["manager"]
    assert make_resolution(session, scheme, attendance=50, votes=(40, 5, 5), actor=manager).adopted  # exactly half
    scheme.settings = {**(scheme.settings or {}), "governance": {"quorum_share": "0.6667"}}
    assert not make_resolution(session, scheme, attendance=60, actor=manager).adopted
    assert make_resolution(session, scheme, attendance=67, actor=manager).adopted


def test_activation_on_an_old_study_is_refused(session, setup):
    """A study run more than 12 months ago no longer supports an activation."""
    study = setup["study"]
    study.run_at = datetime(2025, 2, 28, 12, 0)
    with pytest.raises(versions.VersionError, match="more than 12 months ago"):
        versions.activate_version(
            session, setup["draft"], study, setup["resolution"], today=TODAY, actor=setup["manager"]
        )
    study.run_at = datetime(2025, 3, 1, 12, 0)  # exactly 12 months: still valid
    assert versions.activation_problems(setup["draft"], study, today=TODAY) == []


def test_change_needs_a_study_on_the_new_rules(session, setup):
    """A new version that covers drugs at 60 % cannot be activated on the study of 50 %; on a new study it can."""
    manager, product = setup["manager"], setup["product"]
    versions.activate_version(session, setup["draft"], setup["study"], setup["resolution"], today=TODAY, actor=manager)
    with pytest.raises(versions.VersionError, match="retroactively"):
        versions.new_draft(session, product, effective_from=date(2026, 2, 1), today=TODAY, actor=manager)
    with pytest.raises(versions.VersionError, match="already has a version"):
        versions.new_draft(session, product, effective_from=date(2026, 4, 1), today=TODAY, actor=manager)
    draft = versions.new_draft(session, product, effective_from=date(2027, 1, 1), today=TODAY, actor=manager)
    assert (draft.status, draft.source, draft.study_id) == ("draft", "app", None)
    versions.update_draft(
        session, draft, values=values_of(draft), benefits=benefits_of(draft, DRUG="0.6"), today=TODAY, actor=manager
    )
    versions.attach_study(session, draft, setup["study"], actor=manager)
    problems = versions.activation_problems(draft, setup["study"], today=TODAY)
    assert problems == ["DRUG: the study covers 0.50, this version 0.6"]

    richer = fandene()
    richer["services"][1]["coverage_rate"] = "0.60"
    new_study = services.save_study(session, richer, scheme=setup["scheme"], federation_id=None, actor=manager, now=NOW)
    versions.attach_study(session, draft, new_study, actor=manager)
    # The richer package costs more: 7000 a year no longer suffices.
    assert versions.activation_problems(draft, new_study, today=TODAY) == [
        f"the contribution 7000 is below the {new_study.result['contribution_per_person_year']} the study found "
        "necessary"
    ]
    amount = Decimal(new_study.result["contribution_per_person_year"])
    versions.update_draft(
        session, draft, values=values_of(draft, amount=amount), benefits=benefits_of(draft), today=TODAY, actor=manager
    )
    versions.activate_version(session, draft, new_study, setup["resolution"], today=TODAY, actor=manager)
    session.commit()
    assert version_in_force(product.versions, date(2026, 12, 31)).effective_from == date(2026, 4, 1)
    assert version_in_force(product.versions, date(2027, 1, 1)) is draft
    actions = [e.action for e in session.query(AuditEvent).filter_by(entity="product_version", entity_id=draft.id)]
    assert actions == ["new_draft", "update_draft", "attach_study", "attach_study", "update_draft", "activate"]


def test_active_version_cannot_change(session, setup):
    """An active version is history: editing it or attaching another study is refused."""
    draft, manager = setup["draft"], setup["manager"]
    versions.activate_version(session, draft, setup["study"], setup["resolution"], today=TODAY, actor=manager)
    with pytest.raises(versions.VersionError, match="cannot change"):
        versions.update_draft(
            session, draft, values=values_of(draft), benefits=benefits_of(draft), today=TODAY, actor=manager
        )
    with pytest.raises(versions.VersionError):
        versions.attach_study(session, draft, setup["study"], actor=manager)


def test_study_of_another_scheme_cannot_be_attached(session, setup):
    """The evidence for a version is a study of its own scheme."""
    other = make_scheme(session, "MUT-W")
    study = services.save_study(session, fandene(), scheme=other, federation_id=None, actor=None, now=NOW)
    with pytest.raises(versions.VersionError, match="this scheme"):
        versions.attach_study(session, setup["draft"], study, actor=setup["manager"])


def test_household_and_monthly_contribution_from_the_study(session, setup):
    """What the study asks of a version: P · months / 12 per person, times the household size per household."""
    draft, study = setup["draft"], setup["study"]
    draft.period_months = 1
    assert versions.study_contribution(draft, study) == Decimal(583)
    draft.basis, draft.period_months = "household", 12
    assert versions.study_contribution(draft, study) == Decimal(42000)


def test_benefit_pairs(session, setup):
    """Old and new benefits side by side by code; changed ones marked."""
    manager, product = setup["manager"], setup["product"]
    versions.activate_version(session, setup["draft"], setup["study"], setup["resolution"], today=TODAY, actor=manager)
    draft = versions.new_draft(session, product, effective_from=date(2027, 1, 1), today=TODAY, actor=manager)
    rows = [b for b in benefits_of(draft, LAB="0.9") if b["code"] != "MAT"]
    versions.update_draft(session, draft, values=values_of(draft), benefits=rows, today=TODAY, actor=manager)
    pairs = versions.benefit_pairs(versions.previous_version(session, draft), draft)
    assert [(p.code, p.changed) for p in pairs] == [
        ("OPD", False),
        ("DRUG", False),
        ("LAB", True),
        ("HOSP", False),
        ("MAT", True),
    ]


def test_activation_in_a_closed_pool_period_is_refused(session, setup):
    """A version taking effect on or before the end of a closed pool settlement would change settled figures."""
    from mhi.pooling.models import PoolSettlement
    from tests.factories import make_federation

    federation = make_federation(session, "FED-V")
    setup["scheme"].federation_id = federation.id
    session.add(
        PoolSettlement(
            federation_id=federation.id, period_from=date(2026, 1, 1), period_to=date(2026, 6, 30), status="closed",
            opening_balance=Decimal(0), closing_balance=Decimal(0), result={},
        )
    )  # fmt: skip
    session.flush()
    with pytest.raises(versions.VersionError, match="closed pool settlement of 2026-01-01 to 2026-06-30"):
        versions.activate_version(
            session, setup["draft"], setup["study"], setup["resolution"], today=TODAY, actor=setup["manager"]
        )
    session.rollback()
