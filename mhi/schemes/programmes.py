"""Subsidy programmes' dated terms: the one read of "the share and categories a programme gives on a day".

A programme's share and categories live in effective-dated rows (``SubsidyProgrammeTerms``); a change takes effect
from its date and the periods that start before it keep the old terms (data-formats.md "Loading the same
scheme.json", contributions.md §2: each period reads its category and terms on its start). ``terms_on`` is the
rule, for the stored programmes and for the contributions engine's ``Programme`` (which carries the same terms as
``ProgrammeTerms``). Pure: no database, so the engine can use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mhi.core.dates import version_on


@dataclass(frozen=True)
class ProgrammeTerms:
    """A programme's share and categories from ``effective_from`` on (the engine's copy of a terms row)."""

    effective_from: date
    share: Decimal
    categories: frozenset[str]


def terms_on(programme, day: date):
    """The terms of ``programme`` in force on ``day``: the last dated on or before it; before the first one's date
    the first applies (``core.dates.version_on``, the one rule for dated rules). None for a programme without terms.

    ``programme`` is a stored ``SubsidyProgramme`` or the engine's ``Programme``: both list ``terms`` in date order.
    """
    return version_on(programme.terms, day)


def same_terms(terms, share: Decimal, categories) -> bool:
    """True when ``terms`` already give ``share`` to ``categories`` (their order does not matter)."""
    return terms is not None and terms.share == share and sorted(set(terms.categories)) == sorted(set(categories))
