"""A scheme's history written in one scheme.json (data-formats.md "Dated rules inside scheme.json").

A product may carry ``versions`` (later versions, each with every rule field, applied from ``effective_from``), a
subsidy programme ``terms`` (later share and categories, from ``from``), a provider ``tariff_changes`` (later whole
tariff lists, from ``from``). ``split_history`` turns such a file into the plain files "as of" each date, so that
loading it is loading the first and then each change with ``--effective-from`` (the spec's own definition).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from mhi.core import validation as v
from mhi.core.errors import N_
from mhi.core.validation import FieldError, InputRejected, Problem

PRODUCT_RULE_FIELDS = (
    "contribution",
    "waiting_period_days",
    "grace_period_days",
    "lapse_after_days",
    "submission_limit_days",
    "newborn_days",
    "benefits",
)
HISTORY_KEYS = {"products": "versions", "subsidy_programmes": "terms", "providers": "tariff_changes"}
_DATE_KEY = {"versions": "effective_from", "terms": "from", "tariff_changes": "from"}
_ALLOWED = {
    "versions": {"effective_from", *PRODUCT_RULE_FIELDS},
    "terms": {"from", "share", "categories"},
    "tariff_changes": {"from", "tariffs"},
}


def _start(item: dict, key: str) -> date | None:
    """The date the first terms of ``item`` start (a product's is the scheme's opening date, read by the caller)."""
    field = {"terms": "valid_from", "tariff_changes": "contract_from"}[key]
    try:
        return v.day(item.get(field))
    except FieldError:
        return None  # parse_scheme reports it


def split_history(data: Any, file: str = "scheme.json") -> list[tuple[date | None, dict]]:
    """``[(None, first file), (D1, file as of D1), …]``; a file without history gives one plain file.

    Raises ``InputRejected`` naming the field when a dated entry is malformed, not after the previous one, or
    before what it changes starts (a tariff change before the provider's contract, terms before the programme).
    """
    if not isinstance(data, dict):
        return [(None, data)]
    problems: list[Problem] = []
    dated: dict[tuple[str, int], list[tuple[date, dict]]] = {}
    try:
        opening = v.day(data.get("opening_date"))
    except FieldError:
        opening = None
    for section, key in HISTORY_KEYS.items():
        items = data.get(section)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if not isinstance(item, dict) or key not in item:
                continue
            path = f"{section}[{i}].{key}"
            entries = item[key]
            if not isinstance(entries, list):
                problems.append(Problem(N_("must be a list"), column=path, file=file))
                continue
            start = opening if key == "versions" else _start(item, key)
            previous = start
            out = []
            for j, entry in enumerate(entries):
                epath = f"{path}[{j}]."
                if not isinstance(entry, dict):
                    problems.append(Problem(N_("must be an object"), column=epath[:-1], file=file))
                    continue
                for unknown in sorted(set(entry) - _ALLOWED[key]):
                    problems.append(Problem(N_("unknown field (a typo?)"), column=epath + unknown, file=file))
                date_key = _DATE_KEY[key]
                try:
                    day = v.day(entry.get(date_key))
                except FieldError as exc:
                    problems.append(Problem.of(exc, column=epath + date_key, file=file))
                    continue
                if start is not None and day <= start:
                    message = {
                        "versions": N_(
                            "%(day)s must be after the scheme's opening date (the product's first version), %(start)s"
                        ),
                        "terms": N_("%(day)s must be after the programme's valid_from (its first terms), %(start)s"),
                        "tariff_changes": N_(
                            "%(day)s must be after the provider's contract_from (its first tariffs), %(start)s"
                        ),
                    }[key]
                    problems.append(
                        Problem(
                            message,
                            column=epath + date_key,
                            file=file,
                            params={"day": day.isoformat(), "start": start.isoformat()},
                        )
                    )
                    continue
                if previous is not None and day <= previous:
                    problems.append(
                        Problem(
                            N_("%(day)s must be after the previous entry's date"),
                            params={"day": day.isoformat()},
                            column=epath + date_key,
                            file=file,
                        )
                    )
                    continue
                previous = day
                out.append((day, {k: val for k, val in entry.items() if k != date_key}))
            dated[(section, i)] = out
    if problems:
        raise InputRejected(problems)
    first = copy.deepcopy(data)
    for section, key in HISTORY_KEYS.items():
        for item in first.get(section) or []:
            if isinstance(item, dict):
                item.pop(key, None)
    days = sorted({day for entries in dated.values() for day, _ in entries})
    snapshots: list[tuple[date | None, dict]] = [(None, first)]
    for day in days:
        snap = copy.deepcopy(first)
        for (section, i), entries in dated.items():
            current = [values for since, values in entries if since <= day]
            if current:
                if section == "products":  # a version carries every rule field: one it omits is none
                    for field in PRODUCT_RULE_FIELDS:
                        snap[section][i].pop(field, None)
                snap[section][i].update(copy.deepcopy(current[-1]))
        snapshots.append((day, snap))
    return snapshots
