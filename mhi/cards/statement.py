"""A household's statement for a period [F, T]: its members, the contribution periods starting in the period with
their due, subsidy and paid amounts, the receipts, the claims, the balance and the coverage status on T.

The figures come from ``mhi.contributions.services.household_account`` on T (contributions.md §1–§4); the balance
is a statement of account: opening balance (what was due before F less what was paid before F), plus the member
dues of the periods starting in [F, T] (and the registration fee when the household enrolled then), less the
receipts of [F, T], gives the closing balance ``r + Σ d_k (start_k ≤ T) − C(T)``. As in contributions.md §3,
receipts dated on or after the strike-off date pay nothing: they are listed, flagged, and left out of the balance.

Claims are patient health data: they are printed only when the caller says the reader may see them
(``include_claims``; the web layer passes the "claims.read" permission, the command line prints them). The
co-payment of a claim is what the scheme did not pay: ``max(0, claimed − approved)``.

Every user-supplied text (names, references, collectors) goes into a Paragraph through ``escape``, so
``<b>x</b>`` prints as typed.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape

from babel.dates import format_date
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from mhi.claims.models import Claim
from mhi.contributions.services import Account, household_accounts
from mhi.core import clock
from mhi.core.formatting import display_locale, money
from mhi.core.pdf import FONT, FONT_BOLD, column_widths, register_fonts, stylesheet
from mhi.members.models import Household, Person
from mhi.members.queries import product_id_on
from mhi.schemes.models import Product, Scheme
from mhi.schemes.queries import benefit_names

Gettext = Callable[[str], str]

HEADER = colors.HexColor("#e8eef4")
GRID = colors.HexColor("#9aa7b4")


@dataclass(frozen=True)
class Balance:
    """The statement of account for [F, T] (module docstring)."""

    opening: Decimal
    dues: Decimal
    paid: Decimal
    closing: Decimal


def document_language(household: Household | None, scheme: Scheme, languages: Sequence[str], default: str) -> str:
    """The language a household's papers are printed in: its own, else the scheme's, else the default — each
    only if the application has that language (a household speaking Wolof gets the scheme's French)."""
    for candidate in ((household.language if household else "") or "", scheme.locale or ""):
        language = candidate.replace("-", "_").split("_")[0].lower()
        if language in languages:
            return language
    return default


class Formats:
    """Amounts and dates for one reader: their language with the scheme's country (``fr`` + ``SN``)."""

    def __init__(self, language: str, scheme: Scheme):
        """Pick the Babel locale once."""
        self.locale = display_locale(language, scheme.country)
        self.currency = scheme.currency

    def money(self, amount: Decimal | None) -> str:
        """An amount in the scheme's currency."""
        return money(amount, self.currency, self.locale)

    def day(self, value: date | None) -> str:
        """A date, medium form."""
        return "—" if value is None else format_date(value, format="medium", locale=self.locale)


def statement_balance(account: Account, household: Household, date_from: date, date_to: date) -> Balance:
    """Opening balance, dues and payments of [F, T], closing balance (module docstring)."""
    r = account.registration_fee
    enrolment = household.enrolment_date
    strike_off = account.strike_off_date

    def pays(day: date) -> bool:
        """contributions.md §3: only receipts dated before the strike-off date pay."""
        return strike_off is None or day < strike_off

    dues_before = (r if enrolment < date_from else Decimal(0)) + sum(
        (p.member_due for p in account.periods if p.start < date_from), Decimal(0)
    )
    paid_before = sum((x.amount for x in account.receipts if x.date < date_from and pays(x.date)), Decimal(0))
    dues = (r if date_from <= enrolment <= date_to else Decimal(0)) + sum(
        (p.member_due for p in account.periods if date_from <= p.start <= date_to), Decimal(0)
    )
    paid = sum((x.amount for x in account.receipts if date_from <= x.date <= date_to and pays(x.date)), Decimal(0))
    opening = dues_before - paid_before
    return Balance(opening=opening, dues=dues, paid=paid, closing=opening + dues - paid)


def coverage_sentence(account: Account, gettext: Gettext, fmt: Formats) -> str:
    """The household's cover on the account's day, in one sentence."""
    if account.status == "covered":
        if account.paid_until_unbounded or account.covered_until is None:
            return gettext("Covered, with no end date (contributions fully subsidised).")
        return gettext("Covered until %(day)s.") % {"day": fmt.day(account.covered_until)}
    if account.status == "grace":
        return gettext("In the grace period: covered until %(day)s, contributions are late.") % {
            "day": fmt.day(account.covered_until)
        }
    reasons = {
        "not_enrolled": gettext("Not covered: enrolment starts on %(day)s."),
        "exited": gettext("Not covered: the household left the scheme on %(day)s."),
        "struck_off": gettext("Not covered: struck off on %(day)s for unpaid contributions."),
        "unpaid": gettext("Not covered: contributions unpaid since %(day)s."),
    }
    return reasons.get(account.reason, gettext("Not covered.")) % {"day": fmt.day(account.reason_date)}


def paid_until_sentence(account: Account, gettext: Gettext, fmt: Formats) -> str:
    """Up to which day the contributions are paid (paid_until is the first unpaid day, contributions.md §3)."""
    if account.paid_until_unbounded:
        return gettext("Contributions paid with no end date (fully subsidised).")
    if account.paid_until is None:
        return gettext("No contribution period is paid yet.")
    return gettext("Contributions paid up to %(day)s included.") % {
        "day": fmt.day(account.paid_until - timedelta(days=1))
    }


def _method_text(receipt, methods: dict[str, str]) -> str:
    """The receipt's method, with the operator and its transaction id when it came through one."""
    text = methods.get(receipt.method, receipt.method)
    if receipt.operator:
        text += f" · {receipt.operator} {receipt.transaction_id or ''}".rstrip()
    return text


@dataclass
class StatementData:
    """Everything one household's statement prints, loaded beforehand (``load_statements``) so that drawing
    never queries: a run of thousands of statements reads its data in a few set-based queries per batch."""

    scheme: Scheme
    household: Household
    product: str
    account: Account
    balance: Balance
    persons: list[Person]
    claims: list[tuple[Claim, str]] | None  # None: not shown to this reader
    benefit_names: dict[str, str]
    assembly: tuple | None  # (meeting, adopted resolutions) when the decisions are printed and there are some
    decisions: bool


def load_statements(
    session: Session,
    scheme: Scheme,
    households: Sequence[Household],
    date_from: date,
    date_to: date,
    *,
    include_claims: bool,
    decisions: bool,
    today: date,
) -> list[StatementData]:
    """The statements of ``households`` (all of ``scheme``), in that order: accounts from
    ``contributions.services.household_accounts`` on T, then one query each for the persons, the products, the
    claims, the benefit names and the assembly's decisions — whatever the number of households."""
    ids = [h.id for h in households]
    accounts = household_accounts(session, scheme, ids, date_to)
    persons: dict[int, list[Person]] = defaultdict(list)
    if ids:
        for person in session.scalars(
            select(Person).where(Person.household_id.in_(ids)).order_by(Person.household_id, Person.member_no)
        ):
            persons[person.household_id].append(person)
    # The product on T (members/queries.product_id_on: the latest product change on or before T, else the
    # product at enrolment), one query for the batch.
    products = (
        dict(
            session.execute(
                select(Household.id, Product.name)
                .join(Product, product_id_on(date_to) == Product.id)
                .where(Household.id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    claims: dict[int, list[tuple[Claim, str]]] | None = None
    names: dict[str, str] = {}
    if include_claims:
        claims = defaultdict(list)
        if ids:
            for claim, household_id, first, last in session.execute(
                select(Claim, Person.household_id, Person.first_name, Person.last_name)
                .join(Person, Claim.person_id == Person.id)
                .where(Person.household_id.in_(ids), Claim.date_of_service.between(date_from, date_to))
                .order_by(Person.household_id, Claim.date_of_service, Claim.claim_ref)
            ):
                claims[household_id].append((claim, f"{first} {last}"))
        names = benefit_names(session, [scheme.id])  # the benefit's name, not its code (issue 16)
    assembly = _assembly(session, scheme, today) if decisions else None
    result = []
    for household in households:
        account = accounts[household.id]
        result.append(
            StatementData(
                scheme=scheme,
                household=household,
                product=products.get(household.id, "—"),
                account=account,
                balance=statement_balance(account, household, date_from, date_to),
                persons=persons.get(household.id, []),
                claims=None if claims is None else claims.get(household.id, []),
                benefit_names=names,
                assembly=assembly,
                decisions=decisions,
            )
        )
    return result


def _assembly(session: Session, scheme: Scheme, today: date) -> tuple | None:
    """The adopted resolutions of the scheme's last general assembly with quorum (C102 art. 72: the members
    are told what their assembly decided), resolutions loaded; None when there is none."""
    from mhi.governance.services import last_assembly_decisions

    found = last_assembly_decisions(session, scheme.id, today)
    if found is None:
        return None
    meeting, adopted = found
    return meeting, [(resolution.position, resolution.text) for resolution in adopted]


class _Section(Flowable):
    """An invisible mark opening one household's statement: it hands the page footer its text and where the
    household's pages start (a run prints many households in one document, each numbered from 1)."""

    def __init__(self, footer: str, state: dict):
        super().__init__()
        self.footer, self.state = footer, state
        self.width = self.height = 0

    def wrap(self, available_width, available_height):
        """Takes no room."""
        return 0, 0

    def draw(self) -> None:
        """Drawn at the top of the household's first page: the footers from here on are its own."""
        self.state.update(footer=self.footer, first_page=self.canv.getPageNumber())


def statement_story(
    data: StatementData, date_from: date, date_to: date, *, language: str, gettext: Gettext, today: date, state: dict
) -> list:
    """The flowables of one household's statement (its footer mark first). ``gettext`` must already translate
    into ``language``; nothing here queries the database."""
    scheme, household, account, balance = data.scheme, data.household, data.account, data.balance
    fmt = Formats(language, scheme)
    styles = document_styles()
    _ = gettext
    persons = data.persons
    head = next((p for p in persons if p.relation == "head"), persons[0] if persons else None)
    printed = _("Printed on %(day)s") % {"day": fmt.day(today)}

    story: list = [
        _Section(f"{scheme.name} — {household.ref} — {printed} — {_('Page')} ", state),
        Paragraph(escape(scheme.name), styles["scheme"]),
        Paragraph(escape(_("Household statement")), styles["title"]),
        Paragraph(
            escape(_("From %(start)s to %(end)s") % {"start": fmt.day(date_from), "end": fmt.day(date_to)}),
            styles["body"],
        ),
        Spacer(1, 3 * mm),
        _pairs(
            [
                (_("Household"), household.ref),
                (_("Head of household"), head.full_name if head else "—"),
                (_("Village"), household.village or "—"),
                (_("Product"), data.product),
                (_("Category"), household.category or "standard"),
                (_("Enrolled on"), fmt.day(household.enrolment_date)),
                (_("Cover on %(day)s") % {"day": fmt.day(date_to)}, coverage_sentence(account, _, fmt)),
                (_("Paid up to"), paid_until_sentence(account, _, fmt)),
            ],
            styles,
        ),
    ]

    relations = {
        "head": _("head"),
        "spouse": _("spouse"),
        "child": _("child"),
        "parent": _("parent"),
        "other": _("other"),
    }
    story += _section(_("Members"), styles)
    member_rows = [[_("Member no."), _("Name"), _("Sex"), _("Born"), _("Relationship"), _("Enrolled"), _("Left")]]
    for person in persons:
        member_rows.append(
            [
                person.member_no,
                person.full_name,
                person.sex,
                fmt.day(person.date_of_birth),
                relations.get(person.relation, person.relation),
                fmt.day(person.enrolment_date),
                fmt.day(person.exit_date) if person.exit_date else "",
            ]
        )
    story.append(_table(member_rows, styles, widths=(22, 50, 10, 24, 26, 24, 24), numeric=()))

    story += _section(_("Contribution periods"), styles)
    period_rows = [[_("Period"), _("Persons"), _("Due"), _("Subsidy"), _("Member due"), _("Paid"), _("Status")]]
    states = {"paid": _("paid"), "partly_paid": _("partly paid"), "unpaid": _("unpaid")}
    shown = [p for p in account.periods if date_from <= p.start <= date_to]
    if date_from <= household.enrolment_date <= date_to and account.registration_fee:
        period_rows.append([_("Registration fee"), "", "", "", fmt.money(account.registration_fee), "", ""])
    for period in shown:
        period_rows.append(
            [
                f"{fmt.day(period.start)} – {fmt.day(period.end - timedelta(days=1))}",
                str(period.persons),
                fmt.money(period.gross),
                fmt.money(period.subsidy),
                fmt.money(period.member_due),
                fmt.money(period.paid),
                states.get(period.status, period.status),
            ]
        )
    if len(period_rows) == 1:
        story.append(Paragraph(escape(_("No contribution period starts in this period.")), styles["body"]))
    else:
        story.append(_table(period_rows, styles, widths=(44, 18, 24, 24, 24, 24, 22), numeric=(1, 2, 3, 4, 5)))

    story += _section(_("Receipts"), styles)
    receipts = [x for x in account.receipts if date_from <= x.date <= date_to]
    methods = {"cash": _("cash"), "mobile_money": _("mobile money"), "bank": _("bank")}
    if receipts:
        receipt_rows = [[_("Date"), _("Receipt no."), _("Method"), _("Collector"), _("Amount"), _("Note")]]
        for receipt in receipts:
            note = ""
            if receipt.is_reversal:
                note = _("reversal: %(reason)s") % {"reason": receipt.reason}
            elif receipt.reversed_by:
                note = _("reversed by %(number)s") % {"number": receipt.reversed_by}
            elif receipt.refund_or_reenrol:
                note = _("after strike-off: pays nothing, to refund")
            receipt_rows.append(
                [
                    fmt.day(receipt.date),
                    receipt.receipt_no,
                    _method_text(receipt, methods),
                    receipt.collector,
                    fmt.money(receipt.amount),
                    note,
                ]
            )
        story.append(_table(receipt_rows, styles, widths=(22, 26, 30, 36, 26, 40), numeric=(4,)))
    else:
        story.append(Paragraph(escape(_("No receipt in this period.")), styles["body"]))

    story += _section(_("Claims"), styles)
    if data.claims is None:
        story.append(Paragraph(escape(_("Claims are shown only to claims staff.")), styles["body"]))
    else:
        claims = data.claims
        if claims:
            statuses = {"APPROVED": _("approved"), "REDUCED": _("reduced"), "REJECTED": _("rejected")}
            names = data.benefit_names
            claim_rows = [
                [
                    _("Date of care"),
                    _("Claim"),
                    _("Patient"),
                    _("Benefit"),
                    _("Claimed"),
                    _("Approved"),
                    _("Co-payment"),
                    _("Decision"),
                ]
            ]
            totals = [Decimal(0), Decimal(0), Decimal(0)]
            for claim, patient in claims:
                copay = max(Decimal(0), claim.amount_claimed - claim.amount_approved)
                totals = [totals[0] + claim.amount_claimed, totals[1] + claim.amount_approved, totals[2] + copay]
                claim_rows.append(
                    [
                        fmt.day(claim.date_of_service),
                        claim.claim_ref,
                        patient,
                        names.get(claim.benefit_code, claim.benefit_code),
                        fmt.money(claim.amount_claimed),
                        fmt.money(claim.amount_approved),
                        fmt.money(copay),
                        statuses.get(claim.status, claim.status),
                    ]
                )
            claim_rows.append(["", "", _("Total"), "", *(fmt.money(t) for t in totals), ""])
            story.append(
                _table(claim_rows, styles, widths=(21, 24, 31, 16, 22, 22, 24, 20), numeric=(4, 5, 6), total=True)
            )
        else:
            story.append(Paragraph(escape(_("No claim in this period.")), styles["body"]))

    story += _section(_("Balance"), styles)
    balance_rows = [
        [_("Owed at the start of the period"), fmt.money(balance.opening)],
        [_("Member dues of the period"), fmt.money(balance.dues)],
        [_("Paid in the period"), fmt.money(balance.paid)],
        [_("Owed at the end of the period"), fmt.money(balance.closing)],
    ]
    story.append(_table(balance_rows, styles, widths=(70, 35), numeric=(1,), header=False, total=True))
    if balance.closing < 0:
        story.append(Paragraph(escape(_("A negative amount is paid in advance.")), styles["small"]))

    if data.decisions:
        story += _decisions(data.assembly, _, fmt, styles)
    return story


class _Story(list):
    """The flowables of a document, taken from ``parts`` one part at a time as the document is laid out, so
    that a run of thousands of statements never holds them all (ReportLab's ``build`` consumes its list from
    the front and asks for its length before each flowable)."""

    def __init__(self, parts: Iterator[list]):
        super().__init__()
        self._parts = parts

    def __len__(self) -> int:
        while not super().__len__():
            part = next(self._parts, None)
            if part is None:
                return 0
            self.extend(part)
        return super().__len__()


def render_statements(parts: Iterable[list], *, title: str, author: str, state: dict) -> bytes:
    """The PDF of one or more statements: ``parts`` yields flowables (``statement_story``, each household's
    after a page break), ``state`` is the one their footer marks write to."""
    state.setdefault("footer", "")
    state.setdefault("first_page", 1)

    def footer(canvas, doc) -> None:
        """The household's name, print date and page number (counted from the household's first page)."""
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.grey)
        page = canvas.getPageNumber() - state["first_page"] + 1
        canvas.drawString(15 * mm, 10 * mm, f"{state['footer']}{page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=title,
        author=author,
        invariant=1,
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    doc.addPageTemplates([PageTemplate(id="statement", frames=[frame], onPageEnd=footer)])
    doc.build(_Story(iter(parts)))
    return buffer.getvalue()


def statement_pdf(
    session: Session,
    household: Household,
    date_from: date,
    date_to: date,
    *,
    language: str,
    gettext: Gettext,
    include_claims: bool,
    today: date | None = None,
    decisions: bool = True,
) -> bytes:
    """Render the statement of ``household`` for [date_from, date_to] and return the PDF bytes.

    ``gettext`` must already translate into ``language`` (the caller wraps this in ``force_locale``).
    """
    scheme = session.get(Scheme, household.scheme_id)
    today = today or clock.today()
    [data] = load_statements(
        session,
        scheme,
        [household],
        date_from,
        date_to,
        include_claims=include_claims,
        decisions=decisions,
        today=today,
    )
    state: dict = {}
    story = statement_story(data, date_from, date_to, language=language, gettext=gettext, today=today, state=state)
    return render_statements(
        [story], title=f"{gettext('Household statement')} {household.ref}", author=scheme.name, state=state
    )


def _decisions(assembly: tuple | None, gettext: Gettext, fmt: Formats, styles) -> list:
    """The adopted resolutions of the scheme's last general assembly with quorum; nothing when there is none."""
    if assembly is None:
        return []
    meeting, adopted = assembly
    _ = gettext
    story = _section(_("Decisions of the general assembly of %(day)s") % {"day": fmt.day(meeting.held_on)}, styles)
    if not adopted:
        return [*story, Paragraph(escape(_("The general assembly adopted no resolution.")), styles["body"])]
    for position, text in adopted:
        story.append(Paragraph(escape(f"{position}. {text}"), styles["body"]))
    return story


#: The type size of the statement's table cells (points).
CELL_SIZE = 7.5


def document_styles() -> dict[str, ParagraphStyle]:
    """The few paragraph styles of the statement and the receipt slip, in DejaVu Sans."""
    register_fonts()
    sheet = stylesheet()
    body = ParagraphStyle("body", parent=sheet["BodyText"], fontName=FONT, fontSize=9, leading=11.5)
    return {
        "scheme": ParagraphStyle("scheme", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14),
        "title": ParagraphStyle(
            "title", parent=sheet["Title"], fontName=FONT_BOLD, fontSize=15, leading=19, alignment=0, spaceAfter=2
        ),
        "section": ParagraphStyle(
            "section", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8, spaceAfter=3
        ),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        # Cells wrap between words, never inside one (a narrow column once printed "Sex e").
        "cell": ParagraphStyle("cell", parent=body, fontSize=CELL_SIZE, leading=9, splitLongWords=0),
        "cell_bold": ParagraphStyle(
            "cell_bold", parent=body, fontName=FONT_BOLD, fontSize=CELL_SIZE, leading=9, splitLongWords=0
        ),
        "cell_right": ParagraphStyle(
            "cell_right", parent=body, fontSize=CELL_SIZE, leading=9, alignment=TA_RIGHT, splitLongWords=0
        ),
        "label": ParagraphStyle("label", parent=body, textColor=colors.HexColor("#5a6470")),
    }


def _section(title: str, styles) -> list:
    """A section heading."""
    return [Paragraph(escape(title), styles["section"])]


def _pairs(rows: list[tuple[str, str]], styles) -> Table:
    """Label / value lines of the header."""
    data = [
        [Paragraph(escape(label), styles["label"]), Paragraph(escape(value), styles["body"])] for label, value in rows
    ]
    table = Table(data, colWidths=(45 * mm, 135 * mm), hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def _table(
    rows: list[list[str]],
    styles,
    *,
    widths: Sequence[float],
    numeric: Sequence[int],
    header: bool = True,
    total: bool = False,
) -> Table:
    """A grid of escaped Paragraph cells (so long names wrap and markup prints as text). ``widths`` (mm) give
    the table's whole width and are then shared out from what the columns hold (core/pdf.column_widths)."""
    data = []
    for index, row in enumerate(rows):
        bold = (header and index == 0) or (total and index == len(rows) - 1)
        cells = []
        for column, value in enumerate(row):
            style = styles["cell_bold"] if bold else styles["cell_right" if column in numeric else "cell"]
            if bold and column in numeric:
                style = ParagraphStyle("bold_right", parent=styles["cell_bold"], alignment=TA_RIGHT)
            cells.append(Paragraph(escape(str(value)), style))
        data.append(cells)
    fitted = column_widths(
        rows,
        sum(widths) * mm,
        size=CELL_SIZE,
        header_rows=1 if header else 0,
        bold_rows=(len(rows) - 1,) if total else (),
        unbroken=numeric,  # an amount never wraps ("F CFA" on one line, the figure on the next)
    )
    table = Table(data, colWidths=fitted, repeatRows=1 if header else 0, hAlign="LEFT")
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.3, GRID),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEADER))
    if total:
        commands.append(("BACKGROUND", (0, -1), (-1, -1), HEADER))
    table.setStyle(TableStyle(commands))
    return KeepTogether(table) if len(rows) <= 12 else table
