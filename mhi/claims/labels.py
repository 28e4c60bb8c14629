"""What a person reads instead of a claims code (issue 16: labels, never codes): the decision's status, each
reason and check code of the rules engine (``rules.CHECK_CODES``, ``rules.NOTE_CODES``), the benefit kinds, and
counted words ("1 day", "2 days") in check messages. Labels are translated where they are read (``_l``); a code
the table does not know is shown as it is rather than hidden.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from mhi.claims import rules

STATUS_LABELS = {rules.APPROVED: _l("approved"), rules.REDUCED: _l("reduced"), rules.REJECTED: _l("rejected")}

REASON_LABELS = {
    rules.UNKNOWN_MEMBER: _l("Unknown member"),
    rules.UNKNOWN_BENEFIT: _l("Benefit not in the product"),
    rules.NOT_FOR_PATIENT: _l("Benefit not open to this patient"),
    rules.PROVIDER_NOT_CONTRACTED: _l("Provider not under contract"),
    rules.INVALID_DATES: _l("Dates not valid"),
    rules.LATE_SUBMISSION: _l("Submitted too late"),
    rules.NOT_ENROLLED: _l("Not enrolled"),
    rules.WAITING_PERIOD: _l("Waiting period"),
    rules.NOT_COVERED: _l("Household not covered"),
    rules.DUPLICATE: _l("Duplicate claim"),
    rules.MAX_CASES: _l("Case limit reached"),
    rules.NOTHING_PAYABLE: _l("Nothing payable"),
    rules.CEILING_PER_YEAR: _l("Annual ceiling reached"),
    rules.TARIFF_CAPPED: _l("Capped at the tariff"),
    rules.CEILING_PER_CASE: _l("Ceiling per case reached"),
    rules.GUARANTEE_LETTER: _l("Guarantee letter"),
}

BENEFIT_KIND_LABELS = {rules.SERVICE: _l("service"), rules.CASH: _l("cash")}


def status_label(status: str) -> str:
    """A decision's status (APPROVED, REDUCED, REJECTED) in the reader's language."""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


def reason_label(code: str) -> str:
    """A reason or check code (TARIFF_CAPPED, WAITING_PERIOD, …) in the reader's language."""
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else code


def reason_labels(reasons: str | None) -> list[tuple[str, str]]:
    """A claim's or decision's ``reasons`` (codes joined by ";") as (label, code) pairs, in their order."""
    return [(reason_label(code), code) for code in (reasons or "").split(";") if code]


def benefit_kind_label(kind: str) -> str:
    """A benefit's kind (service, cash) in the reader's language."""
    label = BENEFIT_KIND_LABELS.get(kind)
    return str(label) if label is not None else kind


def day_count(days) -> str:
    """``days`` as "1 day" / "3 days" in the reader's language (a check message's counted days)."""
    number = int(days)
    return ngettext("%(num)d day", "%(num)d days", number)


def init_app(app) -> None:
    """The labels as template filters: ``{{ claim.status | status_label }}``, ``{{ claim.reasons | reason_labels }}``."""
    app.add_template_filter(status_label, "status_label")
    app.add_template_filter(reason_label, "reason_label")
    app.add_template_filter(reason_labels, "reason_labels")
    app.add_template_filter(benefit_kind_label, "benefit_kind_label")
