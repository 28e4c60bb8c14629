"""Helpers for the register's tests: a scheme with a subsidy programme, households made through the service,
and CSV files written from rows."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from mhi.contributions.models import CoverageSpan, Receipt
from mhi.contributions.services import refresh_households
from mhi.core.audit import AuditEvent
from mhi.members.models import Household, Person
from mhi.members.services import PersonData, enrol_household
from mhi.schemes.models import Expense, SubsidyProgramme
from mhi.subsidies.models import SubsidyReceipt
from tests.factories import make_scheme

MEMBERS_HEADER = (
    "household_ref,member_no,first_name,last_name,sex,date_of_birth,relationship,enrolment_date,exit_date,"
    "product_code,category,village,phone,national_id"
)


def scheme_with_programme(session, code: str = "MUT-A"):
    """make_scheme's BASE (300 per person per month, fee 1000, grace 30, lapse 180) plus a programme paying half
    for ``indigent`` households."""
    scheme = make_scheme(session, code)
    session.add(
        SubsidyProgramme(
            scheme_id=scheme.id,
            position=0,
            code="CMU-IND",
            funder="Etat",
            categories=["indigent"],
            share=Decimal("0.5"),
            valid_from=date(2024, 1, 1),
            valid_to=None,
        )
    )
    session.commit()
    return scheme


def person(first: str, relation: str, enrolment: date, *, last: str = "Ndiaye", sex: str = "F", born=None, **kw):
    """A PersonData with sensible defaults."""
    return PersonData(
        first_name=first,
        last_name=last,
        sex=sex,
        date_of_birth=born or date(1990, 1, 1),
        relation=relation,
        enrolment_date=enrolment,
        **kw,
    )


def enrol(session, scheme, ref: str = "H-001", enrolment: date = date(2025, 1, 10), *, others: int = 1, **kw):
    """A household with its head and ``others`` spouses/children, all enrolled on ``enrolment``."""
    persons = [person("Awa", "head", enrolment)]
    persons += [person(f"Child{i}", "child", enrolment, born=date(2015, 1, 1)) for i in range(others)]
    household = enrol_household(session, scheme, ref=ref, product_code="BASE", persons=persons, **kw)
    refresh_households(session, scheme, [household.id])  # the caller refreshes (members/services.py)
    session.commit()
    return household


def counts(session) -> dict[str, int]:
    """Rows in every table an import or a service writes."""
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Household, Person, CoverageSpan, Receipt, SubsidyReceipt, Expense, AuditEvent)
    }


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    """A UTF-8 file (optionally with a BOM)."""
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path
