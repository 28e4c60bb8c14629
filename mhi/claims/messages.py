"""The check and eligibility messages marked for translation.

``rules.MESSAGES`` and ``services.ELIGIBILITY_MESSAGES`` are English templates chosen at run time, which the
message extractor cannot see; they are listed here with ``N_`` so the catalogs carry them, and the views translate
them with ``gettext(message, **params)``. tests/claims/test_views.py checks this list matches both dicts.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a translation marker
    """Mark ``message`` for extraction; translated later, where it is shown."""
    return message


TRANSLATABLE = (
    # rules.MESSAGES
    N_("Not checked: an earlier check rejected the claim."),
    N_("No person with member number %(member_no)s in this scheme."),
    N_("Member %(member_no)s is a person of the scheme."),
    N_("The household has no product in force on %(day)s."),
    N_("Benefit %(benefit)s is not part of the household's product on %(day)s."),
    N_("Benefit %(benefit)s (%(kind)s) is part of the household's product."),
    N_("Benefit %(benefit)s is for sex %(limit)s only; this person's sex is %(sex)s."),
    N_("Benefit %(benefit)s is from age %(limit)s; this person is %(age)s on %(day)s."),
    N_("Benefit %(benefit)s is up to age %(limit)s; this person is %(age)s on %(day)s."),
    N_("Benefit %(benefit)s is open to this person (aged %(age)s on %(day)s)."),
    N_("Benefit %(benefit)s is open to every member."),
    N_("Cash benefit: no provider needed."),
    N_("No provider given for a service benefit."),
    N_("Provider %(provider)s is not known to the scheme."),
    N_("Provider %(provider)s is under contract from %(start)s to %(end)s, not on %(day)s."),
    N_("Provider %(provider)s is under contract from %(start)s, not on %(day)s."),
    N_("Provider %(provider)s is under contract on %(day)s."),
    N_("Date of service %(service)s is after the submission date %(submitted)s."),
    N_("Submission date %(submitted)s is after the day the claim was recorded, %(recorded)s."),
    N_("Service on %(service)s, submitted on %(submitted)s, recorded on %(recorded)s."),
    N_("Submitted %(days)s after the service; the limit is %(limit)s."),
    N_("Submitted %(days)s after the service, within the limit of %(limit)s."),
    N_("Submitted %(days)s after the service; the product sets no limit."),
    N_("Not enrolled on %(day)s: enrolled from %(enrolment)s."),
    N_("Not enrolled on %(day)s: left the scheme on %(exit)s."),
    N_("Enrolled on %(day)s (from %(enrolment)s)."),
    N_("Not covered on %(day)s: a newborn is covered from birth, on %(birth)s."),
    N_("Newborn registered within %(days)s of birth: covered from birth (%(birth)s), enrolled on %(enrolment)s."),
    N_("Waiting period of %(days)s: this benefit is covered from %(first_day)s, not on %(service)s."),
    N_("Waiting period of %(days)s over: this benefit is covered from %(first_day)s."),
    N_("Newborn: no waiting period, covered from birth (%(first_day)s)."),
    N_("The household is not covered on %(day)s (contributions unpaid, lapsed, struck off or left)."),
    N_("The household is covered on %(day)s."),
    N_("An approved claim already has the same member, benefit, provider, date of service and amount."),
    N_("An approved claim already pays %(benefit)s for this person on %(service)s."),
    N_("A death allowance was already approved for this person (death on %(day)s): a death is paid once."),
    N_("No earlier approved claim is the same."),
    N_("Already %(cases)s approved cases of %(benefit)s in %(year)s; the limit is %(limit)s."),
    N_("%(cases)s earlier approved cases of %(benefit)s in %(year)s; the limit is %(limit)s."),
    N_("No limit on the number of cases of %(benefit)s."),
    N_("Nothing is payable: the admissible amount %(admissible)s at a rate of %(rate)s comes to 0."),
    N_("Nothing is payable: the benefit's amount comes to 0."),
    N_("Payable before the annual ceiling: %(amount)s."),
    N_("The annual ceiling of %(ceiling)s for %(benefit)s in %(year)s is used up."),
    N_("%(remaining)s of the annual ceiling of %(ceiling)s remained; %(amount)s approved."),
    N_("No annual ceiling; %(amount)s approved."),
    N_("Guarantee letter %(letter)s used: its own reservation is left out of the annual ceiling."),
    N_(
        "Guarantee letter %(letter)s does not match this claim (unknown, used, cancelled, or another person,"
        " benefit, provider or period): decided as if it cited none."
    ),
    # services.ELIGIBILITY_MESSAGES
    N_("Not enrolled yet: enrolled from %(enrolment)s."),
    N_("Left the scheme on %(exit)s."),
    N_("The household left the scheme on %(exit)s."),
    N_("The household was struck off on %(day)s for unpaid contributions."),
    N_("Contributions unpaid: not covered since %(day)s."),
    N_("No contribution period paid yet."),
    N_("Covered on %(day)s."),
    N_("Covered on %(day)s; paid up, with the grace period, until %(until)s."),
    N_("Covered on %(day)s, waiting until %(until)s: no benefit may be used before then."),
    N_("Covered on %(day)s, but no benefit of the product is for this person on that day."),
)


#: Messages stored by earlier releases (a decision keeps its message text) → the text they are shown with now:
#: their counts of days are worded by ``ngettext`` ("1 day", not "1 days"; issue 16).
RENAMED: dict[str, str] = {
    "Submitted %(days)s days after the service; the limit is %(limit)s days.": "Submitted %(days)s after the service; the limit is %(limit)s.",
    "Submitted %(days)s days after the service, within the limit of %(limit)s days.": "Submitted %(days)s after the service, within the limit of %(limit)s.",
    "Submitted %(days)s days after the service; the product sets no limit.": "Submitted %(days)s after the service; the product sets no limit.",
    "Newborn registered within %(days)s days of birth: covered from birth (%(birth)s), enrolled on %(enrolment)s.": "Newborn registered within %(days)s of birth: covered from birth (%(birth)s), enrolled on %(enrolment)s.",
    "Waiting period of %(days)s days: this benefit is covered from %(first_day)s, not on %(service)s.": "Waiting period of %(days)s: this benefit is covered from %(first_day)s, not on %(service)s.",
    "Waiting period of %(days)s days over: this benefit is covered from %(first_day)s.": "Waiting period of %(days)s over: this benefit is covered from %(first_day)s.",
}

#: The parameters of a message that are a number of days, worded "%(num)d day(s)" before the message is built.
DAY_COUNTS: dict[str, tuple[str, ...]] = {
    "Submitted %(days)s after the service; the limit is %(limit)s.": ("days", "limit"),
    "Submitted %(days)s after the service, within the limit of %(limit)s.": ("days", "limit"),
    "Submitted %(days)s after the service; the product sets no limit.": ("days",),
    "Newborn registered within %(days)s of birth: covered from birth (%(birth)s), enrolled on %(enrolment)s.": (
        "days",
    ),
    "Waiting period of %(days)s: this benefit is covered from %(first_day)s, not on %(service)s.": ("days",),
    "Waiting period of %(days)s over: this benefit is covered from %(first_day)s.": ("days",),
}
