"""Claims screens: the eligibility check at the health centre (page and JSON), providers, the claim form and the
JSON API (both decided at once by adjudication.md, through ``services.decide_and_store`` like the import), the
claim page with every check, the claims officer's queue and overrides, and provider payment batches.

Claims are patient health data: every view needs a ``claims.*`` or ``providers.write`` permission, which a
federation reviewer never holds, and loads records through ``scheme_or_404``/``in_scope_or_404``.
The JSON API keeps CSRF protection: a browser script sends the page's token in the ``X-CSRFToken`` header.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from mhi.claims import labels as claims_labels
from mhi.claims import queries
from mhi.claims.attachments import (
    AttachmentError,
    add_attachment,
    add_draft_attachment,
    attachments_of,
    draft_attachments_of,
    open_attachment,
)
from mhi.claims.drafts import DraftError, discard_draft, drafts_of, open_drafts, save_draft, submit_draft
from mhi.claims.forms import (
    ActionForm,
    ApprovalForm,
    AttachmentForm,
    BatchPaidForm,
    CancelLetterForm,
    ClaimForm,
    EligibilityForm,
    LetterForm,
    OverrideForm,
    claim_form_class,
)
from mhi.claims.imports import COLUMNS as CLAIM_COLUMNS
from mhi.claims.imports import import_claims, read_entry
from mhi.claims.labels import benefit_kind_label, day_count, status_label
from mhi.claims.letters import LetterError, LetterRequest, cancel_letter, issue_letter, letters_of
from mhi.claims.messages import DAY_COUNTS, N_, RENAMED
from mhi.claims.models import DRAFT_STATES, Claim, ClaimAttachment, ClaimDraft, ClaimLine, GuaranteeLetter, PaymentBatch
from mhi.claims.pdf import batch_pdf, letter_pdf
from mhi.claims.services import (
    ClaimError,
    approve_override,
    create_batch,
    eligibility,
    mark_batch_paid,
    override_decision,
    remove_from_batch,
    submit_claim,
)
from mhi.core import clock, formatting
from mhi.core import validation as v
from mhi.core.access import permission_required
from mhi.core.confirm import confirmation_page, confirmed
from mhi.core.db import db
from mhi.core.errors import say
from mhi.core.limits import JsonRefused, column_length, date_message, query_date, read_json_object, text_field
from mhi.core.money import money_str
from mhi.core.paging import Paged, page_number, paginate
from mhi.core.validation import FieldError, InputRejected, Problem
from mhi.members.uploads import add_upload_routes
from mhi.schemes.access import bound_provider_id, in_scope_or_404, scheme_or_404
from mhi.schemes.models import Provider
from mhi.schemes.queries import benefit_names

bp = Blueprint("claims", __name__)

# Check and eligibility parameters by kind, so they are shown in the user's locale (rules.py stores them as text).
DATE_PARAMS = frozenset(
    {"day", "start", "end", "service", "submitted", "recorded", "enrolment", "exit", "first_day", "until", "birth"}
)
MONEY_PARAMS = frozenset({"admissible", "amount", "ceiling", "remaining"})


def _locale(scheme) -> str:
    """The user's language with the scheme's country (fr + SN = fr_SN)."""
    return formatting.display_locale(str(get_locale() or "en"), scheme.country)


def translate(message: str, params: dict, scheme) -> str:
    """A check or eligibility message in the user's language, dates and amounts formatted for the locale, counts
    of days worded with their plural ("1 day"), a message stored by an earlier release read as its new text."""
    locale = _locale(scheme)
    message = RENAMED.get(message, message)
    day_params = DAY_COUNTS.get(message, ())
    values = {}
    for key, value in params.items():
        if value in (None, ""):
            values[key] = value
        elif key in day_params:
            values[key] = day_count(value)
        elif key in DATE_PARAMS:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
            values[key] = formatting.day(day, locale)
        elif key in MONEY_PARAMS:
            values[key] = formatting.money(Decimal(str(value)), scheme.currency, locale)
        elif key == "rate":
            values[key] = formatting.percent(Decimal(str(value)), locale)
        elif key == "kind":
            values[key] = benefit_kind_label(value)
        else:
            values[key] = value
    return _(message, **values)


def _claim_of(scheme, claim_id: int) -> Claim:
    """A claim of this scheme the user may see, else 404."""
    claim = in_scope_or_404(Claim, claim_id)
    if claim.scheme_id != scheme.id:
        abort(404)
    return claim


def _batch_of(scheme, batch_id: int) -> PaymentBatch:
    """A payment batch of this scheme the user may see, else 404."""
    batch = in_scope_or_404(PaymentBatch, batch_id)
    if batch.scheme_id != scheme.id:
        abort(404)
    return batch


def _provider_of(scheme, provider_code: str) -> Provider:
    """A provider of this scheme by code, else 404."""
    provider = db.session.scalar(
        db.select(Provider).where(Provider.scheme_id == scheme.id, Provider.code == provider_code)
    )
    if provider is None:
        abort(404)
    return provider


# ---------------------------------------------------------------------------------------------------- eligibility


def _scanned(value: str | None) -> str:
    """The member number from what was typed or scanned: the card's QR code holds the raw number; a scanner
    that types like a keyboard may add spaces or a line end."""
    return (value or "").strip()


@bp.get("/schemes/<code>/eligibility")
@permission_required("eligibility.read")
def eligibility_page(code: str):
    """Type or scan a member number: covered or not and why, the household, what each benefit still allows."""
    scheme = scheme_or_404(code)
    form = EligibilityForm(request.args)
    answer = None
    if request.args.get("member_no") and form.validate():
        answer = eligibility(db.session, scheme, _scanned(form.member_no.data), form.on.data or clock.today())
    return render_template("claims/eligibility.html", scheme=scheme, form=form, answer=answer, translate=translate)


@bp.get("/schemes/<code>/eligibility.json")
@permission_required("eligibility.read", tokens=True)
def eligibility_json(code: str):
    """The eligibility answer as JSON (amounts as strings in the currency's decimals, conventions.md)."""
    scheme = scheme_or_404(code)
    member_no = _scanned(request.args.get("member_no"))
    if not member_no:
        return jsonify(error=_("Give a member number (member_no).")), 400
    try:
        on = v.day(request.args["on"]) if request.args.get("on") else clock.today()
    except FieldError:
        return jsonify(error=date_message("on")), 400
    return jsonify(eligibility_document(scheme, member_no, on))


def eligibility_document(scheme, member_no: str, on: date) -> dict:
    """The eligibility answer as a JSON document (amounts as strings in the currency's decimals, conventions.md);
    the page's JSON, the API and FHIR give this same answer."""
    answer = eligibility(db.session, scheme, member_no, on)
    currency = scheme.currency

    def amount(value):
        return None if value is None else money_str(value, currency)

    return dict(
        member_no=answer.member_no,
        on=answer.on.isoformat(),
        found=answer.found,
        covered=answer.covered,
        waiting_until=answer.waiting_until.isoformat() if answer.waiting_until else None,
        reasons=[translate(message, params, scheme) for message, params in answer.reasons],
        name=answer.name,
        household_ref=answer.household_ref,
        product=answer.product_code,
        members=[
            {"member_no": m.member_no, "name": m.name, "relationship": m.relationship, "covered": m.covered}
            for m in answer.members
        ],
        benefits=[
            {
                "code": b.code,
                "name": b.name,
                "kind": b.kind,
                "waiting_period_ends": b.first_day.isoformat(),
                "waiting_over": b.waiting_over,
                "usable": b.usable,
                "usable_from": b.usable_from.isoformat() if b.usable_from else None,
                "usable_until": b.usable_until.isoformat() if b.usable_until else None,
                "refusal": b.refusal,
                "ceiling_per_year": amount(b.ceiling_per_year),
                "used": amount(b.used),
                "remaining": amount(b.remaining),
                "cases": b.cases,
                "max_cases": b.max_cases,
            }
            for b in answer.benefits
        ],
    )


# -------------------------------------------------------------------------------------------- guarantee letters


def _letter_in(scheme, letter_id: int) -> GuaranteeLetter:
    """The letter if it belongs to ``scheme`` (and the user's schemes); 404 otherwise."""
    letter = in_scope_or_404(GuaranteeLetter, letter_id)
    if letter.scheme_id != scheme.id:
        abort(404)
    return letter


def _letter_error(exc: LetterError, scheme) -> str:
    """A refused letter in the user's language: the rule's failing check when a rule refused it."""
    if exc.answer is not None:
        failed = next((c for c in exc.answer.checks if c.passed is False), None)
        if failed is not None:
            return _(
                "Refused (%(code)s): %(detail)s",
                code=failed.code,
                detail=translate(failed.message, failed.params, scheme),
            )
        if exc.answer.remaining is not None:
            left = formatting.money(exc.answer.remaining, scheme.currency, _locale(scheme))
            return _(
                "Refused (%(code)s): only %(left)s of the annual ceiling is left.", code=exc.answer.refusal, left=left
            )
        return _("Refused (%(code)s): a guarantee letter is for care, not for a cash benefit.", code=exc.answer.refusal)
    return exc.translated()


@bp.get("/schemes/<code>/letters")
@permission_required("claims.read")
def letters(code: str):
    """The scheme's guarantee letters: issued, used, cancelled, expired."""
    scheme = scheme_or_404(code)
    member_no = request.args.get("member_no", "").strip() or None
    return render_template(
        "claims/letters.html", scheme=scheme, letters=letters_of(db.session, scheme, member_no=member_no),
        today=clock.today(), member_no=member_no, benefit_names=_benefit_names(scheme),
    )  # fmt: skip


@bp.route("/schemes/<code>/letters/new", methods=["GET", "POST"])
@permission_required("claims.write")
def new_letter(code: str):
    """Issue a guarantee letter: refused with the first failing check, or above the ceiling left."""
    scheme = scheme_or_404(code)
    form = LetterForm()
    form.set_choices(_benefit_choices(scheme), _provider_choices(scheme))
    if request.method == "GET" and request.args.get("member_no"):
        form.member_no.data = _scanned(request.args["member_no"])
    if form.validate_on_submit():
        request_ = LetterRequest(
            form.member_no.data, form.benefit_code.data, form.provider_code.data, form.valid_from.data,
            form.valid_to.data, form.amount.data, form.note.data or "",
        )  # fmt: skip
        try:
            letter = issue_letter(db.session, scheme, request_, actor=current_user, today=clock.today())
        except LetterError as exc:
            db.session.rollback()
            field = getattr(form, exc.field, None) if exc.field else None
            (field.errors if field is not None else form.form_errors).append(_letter_error(exc, scheme))
        else:
            db.session.commit()
            flash(_("Guarantee letter %(number)s issued.", number=letter.number), "success")
            return redirect(url_for("claims.letter", code=scheme.code, letter_id=letter.id))
    return render_template("claims/letter_form.html", scheme=scheme, form=form)


@bp.get("/schemes/<code>/letters/<int:letter_id>")
@permission_required("claims.read")
def letter(code: str, letter_id: int):
    """One guarantee letter, its state and the claim that used it; cancel it with a reason."""
    scheme = scheme_or_404(code)
    item = _letter_in(scheme, letter_id)
    return render_template(
        "claims/letter.html", scheme=scheme, letter=item, state=item.state_on(clock.today()), form=CancelLetterForm(),
        benefit_names=_benefit_names(scheme),
    )  # fmt: skip


@bp.get("/schemes/<code>/letters/<int:letter_id>.pdf")
@permission_required("claims.read")
def letter_download(code: str, letter_id: int):
    """The letter as the PDF the provider keeps (QR code of the letter number)."""
    scheme = scheme_or_404(code)
    item = _letter_in(scheme, letter_id)
    name = _benefit_names(scheme).get(item.benefit_code)
    pdf = letter_pdf(scheme, item, item.person, item.provider, name or item.benefit_code, _locale(scheme))
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{item.number}.pdf"'}
    )


@bp.post("/schemes/<code>/letters/<int:letter_id>/cancel")
@permission_required("claims.write")
def letter_cancel(code: str, letter_id: int):
    """Cancel an issued letter with a written reason."""
    scheme = scheme_or_404(code)
    item = _letter_in(scheme, letter_id)
    form = CancelLetterForm()
    try:
        if not form.validate_on_submit():
            raise LetterError(N_("Give the reason for cancelling the letter."), "reason")
        cancel_letter(db.session, item, reason=form.reason.data, actor=current_user)
    except LetterError as exc:
        db.session.rollback()
        flash(_letter_error(exc, scheme), "error")
    else:
        db.session.commit()
        flash(_("Guarantee letter %(number)s cancelled.", number=item.number), "success")
    return redirect(url_for("claims.letter", code=scheme.code, letter_id=item.id))


# ------------------------------------------------------------------------------------------------------ providers


@bp.get("/schemes/<code>/providers")
@permission_required("claims.read")
def providers(code: str):
    """The scheme's providers: contract dates, claims, amounts approved, paid and outstanding, 100 a page with the
    count ("101–200 of 240")."""
    scheme = scheme_or_404(code)
    figures = queries.provider_figures(db.session, scheme)
    pages = -(-len(figures) // PROVIDERS_PAGE) or 1
    page = min(max(1, page_number(request.args.get("page"))), pages)
    paged = Paged(figures[(page - 1) * PROVIDERS_PAGE : page * PROVIDERS_PAGE], page, PROVIDERS_PAGE, len(figures))
    return render_template("claims/providers.html", scheme=scheme, figures=paged.items, paged=paged)


#: Providers listed per page (a federation's hospital network can pass a hundred).
PROVIDERS_PAGE = 100


@bp.get("/schemes/<code>/providers/<provider_code>")
@permission_required("claims.read")
def provider(code: str, provider_code: str):
    """One provider: contract, tariffs, figures, recent claims, approved unpaid claims and payment batches."""
    scheme = scheme_or_404(code)
    item = _provider_of(scheme, provider_code)
    return render_template(
        "claims/provider.html",
        scheme=scheme,
        provider=item,
        figures=queries.provider_figures(db.session, scheme, item)[0],
        claims=queries.provider_claims(db.session, item),
        unpaid=queries.approved_unpaid(db.session, item),
        batches=queries.batches(db.session, scheme, item),
        action_form=ActionForm(),
        benefit_names=_benefit_names(scheme),
    )


# --------------------------------------------------------------------------------------------------------- claims


def _benefit_names(scheme) -> dict[str, str]:
    """Benefit code → name in the scheme's products (pages show the name, the code beside it)."""
    return benefit_names(db.session, [scheme.id])


def _benefit_choices(scheme) -> list[tuple[str, str]]:
    """Every benefit code of the scheme's products, with its name."""
    return [(c, f"{c} — {n}") for c, n in sorted(_benefit_names(scheme).items())]


def _provider_choices(scheme) -> list[tuple[str, str]]:
    """The scheme's providers as (code, name)."""
    rows = db.session.execute(
        db.select(Provider.code, Provider.name).where(Provider.scheme_id == scheme.id).order_by(Provider.code)
    )
    return [(c, f"{c} — {n}") for c, n in rows]


def _own_provider_choices(scheme) -> list[tuple[str, str]]:
    """The providers a user may enter claims for: a facility account's own, else all the scheme's."""
    provider_id = bound_provider_id()
    choices = _provider_choices(scheme)
    if provider_id is None:
        return choices
    own = db.session.get(Provider, provider_id)
    return [(c, label) for c, label in choices if own is not None and own.scheme_id == scheme.id and c == own.code]


def _fix_provider(form) -> None:
    """A facility account's claim is for its own provider: the only choice, and what is read whatever was sent."""
    if bound_provider_id() is None:
        return
    form.provider_code.choices = [choice for choice in form.provider_code.choices if choice.value]
    form.provider_code.data = form.provider_code.choices[0].value if form.provider_code.choices else ""


@bp.get("/schemes/<code>/claims")
@permission_required("claims.view")
def queue(code: str):
    """The claims officer's queue: recent decisions, rejected and reduced first, with filters (a facility
    account: its own provider's claims only, whatever the filter says)."""
    scheme = scheme_or_404(code)
    args = request.args
    since = query_date("since")
    provider_id = bound_provider_id()
    if provider_id is None and args.get("provider"):
        provider_id = _provider_of(scheme, args["provider"]).id
    claims = queries.queue(
        db.session,
        scheme,
        status=args.get("status") or None,
        benefit_code=args.get("benefit") or None,
        provider_id=provider_id,
        reason=args.get("reason") or None,
        member_no=args.get("member_no") or None,
        since=since,
        overridden=True if args.get("overridden") else None,
        page=page_number(args.get("page")),
    )
    return render_template(
        "claims/queue.html",
        scheme=scheme,
        claims=claims,
        args=args,
        benefits=_benefit_choices(scheme),
        providers=_own_provider_choices(scheme),
        open_drafts=open_drafts(db.session, scheme),
        benefit_names=_benefit_names(scheme),
    )


def _form_problems(form: ClaimForm, problems) -> None:
    """Show each problem beside its field (bill-line problems beside the lines)."""
    fields = {
        "claim_ref": form.claim_ref,
        "member_no": form.member_no,
        "provider_code": form.provider_code,
        "benefit_code": form.benefit_code,
        "date_of_service": form.date_of_service,
        "date_submitted": form.date_submitted,
        "diagnosis_code": form.diagnosis_code,
        "guarantee_ref": form.guarantee_ref,
    }
    for problem in problems:
        target = fields.get(problem.column)
        if target is not None:
            target.errors.append(problem.translated_text())
        elif problem.row is not None and problem.column in ("label", "amount"):
            form.form_errors.append(
                _(
                    "Bill line %(n)s, %(column)s: %(message)s",
                    n=problem.row,
                    column=problem.column,
                    message=problem.translated_text(),
                )
            )
        else:
            form.form_errors.append(
                problem.translated_text()
                if problem.column != "amount_claimed"
                else _("The bill: %(message)s", message=problem.translated_text())
            )


#: The claim form's fields read by ``read_entry`` (claims.csv's columns a clerk types).
FORM_FIELDS = (
    "claim_ref",
    "member_no",
    "provider_code",
    "benefit_code",
    "date_of_service",
    "date_submitted",
    "diagnosis_code",
    "guarantee_ref",
)


def _draft_of(scheme, draft_id: int) -> ClaimDraft:
    """A draft of this scheme the user may see, else 404."""
    draft = in_scope_or_404(ClaimDraft, draft_id)
    if draft.scheme_id != scheme.id:
        abort(404)
    return draft


def _draft_form_data(draft: ClaimDraft, scheme) -> dict:
    """A draft's values as the claim form shows them."""
    data = {name: getattr(draft, name) for name in FORM_FIELDS}
    data["discharge_date"] = draft.discharge_date
    data["lines"] = [{"item": line.label, "amount": money_str(line.amount, scheme.currency)} for line in draft.lines]
    return data


def _draft_error(form: ClaimForm, exc: DraftError) -> None:
    """A refused draft action beside its field, in the user's language."""
    field = getattr(form, exc.field, None) if exc.field else None
    (field.errors if field is not None else form.form_errors).append(_(exc.message, **exc.params))


def _claim_form_page(scheme, draft: ClaimDraft | None = None):
    """The claim form, new or correcting ``draft``: "Add a line" shows one more empty line (nothing saved),
    "Save draft" keeps it as a draft, "Save and submit" also decides it. Bad input changes nothing."""
    max_lines = current_app.config["MHI_MAX_CLAIM_LINES"]
    form_class = claim_form_class(max_lines)
    form = form_class(data=_draft_form_data(draft, scheme)) if draft and request.method == "GET" else form_class()
    form.set_choices(_benefit_choices(scheme), _own_provider_choices(scheme))
    _fix_provider(form)
    if request.method == "GET" and draft is None and request.args.get("member_no"):
        form.member_no.data = _scanned(request.args["member_no"])
    action = request.form.get("action", "save")
    if request.method == "POST" and action == "add_line":
        if len(form.lines) >= max_lines:
            form.form_errors.append(_("A claim has at most %(n)s bill lines.", n=max_lines))
        else:
            form.lines.append_entry()
    elif form.validate_on_submit():
        if len(form.lines) > max_lines:
            form.form_errors.append(_("A claim has at most %(n)s bill lines.", n=max_lines))
            return render_template("claims/form.html", scheme=scheme, form=form, draft=draft)
        data = {name: getattr(form, name).data for name in FORM_FIELDS}
        try:
            entry = read_entry(db.session, scheme, data, form.bill_lines(), ref_required=False, max_lines=max_lines)
            entry = replace(entry, discharge_date=form.discharge_date.data)
            saved = save_draft(db.session, scheme, entry, actor=current_user, draft=draft)
            claim = None
            if action == "submit":
                claim = submit_draft(db.session, scheme, saved, actor=current_user, today=clock.today())
        except InputRejected as exc:
            db.session.rollback()
            _form_problems(form, exc.problems)
        except DraftError as exc:
            db.session.rollback()
            _draft_error(form, exc)
        except ClaimError as exc:
            db.session.rollback()
            form.claim_ref.errors.append(say(exc))
        else:
            db.session.commit()
            if claim is not None:
                flash(
                    _("Claim %(ref)s decided: %(status)s.", ref=claim.claim_ref, status=status_label(claim.status)),
                    "success",
                )
                return redirect(url_for("claims.detail", code=scheme.code, claim_id=claim.id))
            flash(_("Draft %(n)s saved: correct it, discard it or submit it.", n=saved.id), "success")
            return redirect(url_for("claims.draft", code=scheme.code, draft_id=saved.id))
    return render_template("claims/form.html", scheme=scheme, form=form, draft=draft)


@bp.route("/schemes/<code>/claims/new", methods=["GET", "POST"])
@permission_required("claims.enter")
def new_claim(code: str):
    """Type a claim with its bill lines; it is kept as a draft, or submitted and decided at once."""
    return _claim_form_page(scheme_or_404(code))


@bp.get("/schemes/<code>/claims/drafts")
@permission_required("claims.view")
def drafts(code: str):
    """The scheme's drafts waiting to be submitted (or those submitted, or discarded), newest first."""
    scheme = scheme_or_404(code)
    state = request.args.get("state") if request.args.get("state") in DRAFT_STATES else "draft"
    query = drafts_of(db.session, scheme, state)
    if bound_provider_id() is not None:  # a facility desk: its own provider's drafts only
        query = query.where(ClaimDraft.provider_code.in_([code for code, _label in _own_provider_choices(scheme)]))
    paged = paginate(db.session, query, page_number(request.args.get("page")), 100)
    return render_template("claims/drafts.html", scheme=scheme, drafts=paged, state=state)


@bp.get("/schemes/<code>/claims/drafts/<int:draft_id>")
@permission_required("claims.view")
def draft(code: str, draft_id: int):
    """A draft: what was typed, its bill, and Edit / Discard / Submit while it is open."""
    scheme = scheme_or_404(code)
    item = _draft_of(scheme, draft_id)
    return render_template(
        "claims/draft.html",
        scheme=scheme,
        draft=item,
        action_form=ActionForm(),
        attachments=draft_attachments_of(db.session, item),
        attachment_form=AttachmentForm(),
    )


@bp.post("/schemes/<code>/claims/drafts/<int:draft_id>/attachments")
@permission_required("claims.enter")
def draft_attachment_add(code: str, draft_id: int):
    """Attach a scanned bill or referral letter to an open draft; it follows the claim at submission."""
    scheme = scheme_or_404(code)
    item = _draft_of(scheme, draft_id)
    form = AttachmentForm()
    limit = current_app.config["MHI_MAX_ATTACHMENT_BYTES"]
    try:
        if not form.validate_on_submit():
            raise AttachmentError(next(iter(form.file.errors or form.kind.errors), N_("Choose the file to attach.")))
        data = form.file.data.read(limit + 1)
        add_draft_attachment(
            db.session, item, kind=form.kind.data, name=form.file.data.filename or "", data=data, max_bytes=limit,
            actor=current_user,
        )  # fmt: skip
    except AttachmentError as exc:
        db.session.rollback()
        flash(_(exc.message, **exc.params), "error")
    else:
        db.session.commit()
        flash(_("File attached to draft %(n)s.", n=item.id), "success")
    return redirect(url_for("claims.draft", code=scheme.code, draft_id=item.id) + "#attachments")


@bp.get("/schemes/<code>/claims/drafts/<int:draft_id>/attachments/<int:attachment_id>")
@permission_required("claims.view")
def draft_attachment_download(code: str, draft_id: int, attachment_id: int):
    """Download one attachment of a draft (generated name; audited)."""
    scheme = scheme_or_404(code)
    item = _draft_of(scheme, draft_id)
    attachment = db.session.get(ClaimAttachment, attachment_id)
    if attachment is None or attachment.draft_id != item.id:
        abort(404)
    return _attachment_response(attachment)


@bp.route("/schemes/<code>/claims/drafts/<int:draft_id>/edit", methods=["GET", "POST"])
@permission_required("claims.enter")
def draft_edit(code: str, draft_id: int):
    """Correct an open draft (the audit keeps what it said before)."""
    scheme = scheme_or_404(code)
    item = _draft_of(scheme, draft_id)
    if item.state != "draft":
        flash(_("This draft is closed: it can no longer change."), "error")
        return redirect(url_for("claims.draft", code=scheme.code, draft_id=item.id))
    return _claim_form_page(scheme, item)


@bp.post("/schemes/<code>/claims/drafts/<int:draft_id>/discard")
@permission_required("claims.enter")
def draft_discard(code: str, draft_id: int):
    """Discard an open draft after confirmation: it stays, discarded, and never becomes a claim."""
    scheme = scheme_or_404(code)
    item = _draft_of(scheme, draft_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    back = url_for("claims.draft", code=scheme.code, draft_id=item.id)
    if not confirmed():
        return confirmation_page(
            title=_("Discard draft %(n)s", n=item.id),
            what=_("The draft is kept as discarded, with your name; it is never decided nor paid."),
            irreversible=_("A discarded draft cannot be submitted: type the claim again if it was needed."),
            button=_("Discard"),
            back_url=back,
        )
    try:
        discard_draft(db.session, item, actor=current_user)
    except DraftError as exc:
        db.session.rollback()
        flash(_(exc.message, **exc.params), "error")
    else:
        db.session.commit()
        flash(_("Draft %(n)s discarded.", n=item.id), "success")
    return redirect(back)


@bp.post("/schemes/<code>/claims/drafts/<int:draft_id>/submit")
@permission_required("claims.enter")
def draft_submit(code: str, draft_id: int):
    """Submit an open draft: decided at once by adjudication.md, like a claim sent directly."""
    scheme = scheme_or_404(code)
    item = _draft_of(scheme, draft_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        claim = submit_draft(db.session, scheme, item, actor=current_user, today=clock.today())
    except DraftError as exc:
        db.session.rollback()
        flash(_(exc.message, **exc.params), "error")
    except ClaimError as exc:
        db.session.rollback()
        flash(say(exc), "error")
    else:
        db.session.commit()
        flash(
            _("Claim %(ref)s decided: %(status)s.", ref=claim.claim_ref, status=status_label(claim.status)), "success"
        )
        return redirect(url_for("claims.detail", code=scheme.code, claim_id=claim.id))
    return redirect(url_for("claims.draft", code=scheme.code, draft_id=item.id))


#: The API's text members and the longest text each may hold (the claim table's columns; dates and amounts are
#: short texts read again by ``read_entry``).
API_TEXTS = {
    "claim_ref": column_length(Claim.claim_ref),
    "member_no": column_length(Claim.member_no),
    "provider_code": column_length(Claim.provider_code),
    "benefit_code": column_length(Claim.benefit_code),
    "diagnosis_code": column_length(Claim.diagnosis_code),
    "date_of_service": 10,
    "date_submitted": 10,
}
AMOUNT_TEXT = 30


def _api_amount(value, where: str) -> str:
    """An amount member: a string or an exact JSON number (Decimal), never a boolean, list or object."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal) or len(str(value)) > AMOUNT_TEXT:
        raise InputRejected([Problem(_('must be an amount written as a string, e.g. "2500"'), column=where)])
    return str(value)


def _api_document(data: dict, max_lines: int) -> tuple[dict, list[tuple[str, str]]]:
    """The claim's values and bill lines from the API's JSON object, each member of the type and length its
    column takes (``"claim_ref": true`` is refused, not stored as "True"); at most ``max_lines`` lines."""
    problems = []
    values: dict = {}
    for name, length in API_TEXTS.items():
        try:
            values[name] = text_field(data, name, length)
        except FieldError as exc:
            problems.append(Problem.of(exc, column=name))
    try:
        values["amount_claimed"] = _api_amount(data.get("amount_claimed"), "amount_claimed") or None
    except InputRejected as exc:
        problems.extend(exc.problems)
    raw_lines = data.get("lines") or []
    if not isinstance(raw_lines, list) or not all(isinstance(x, dict) for x in raw_lines):
        problems.append(Problem(_("lines must be a list of {label, amount} objects."), column="lines"))
        raw_lines = []
    if len(raw_lines) > max_lines:
        problems.append(
            Problem(_("A claim has at most %(n)s bill lines; this one has %(count)s.", n=max_lines, count=len(raw_lines)),
                    column="lines")
        )  # fmt: skip
        raw_lines = []
    lines = []
    for row, line in enumerate(raw_lines, start=1):
        try:
            label = text_field(line, "label", column_length(ClaimLine.label)) or ""
            lines.append((label, _api_amount(line.get("amount"), "amount")))
        except FieldError as exc:
            problems.append(Problem.of(exc, row=row, column="label"))
        except InputRejected as exc:
            problems.extend(Problem(p.message, row=row, column=p.column, params=p.params) for p in exc.problems)
    if problems:
        raise InputRejected(problems)
    return values, lines


@bp.post("/api/schemes/<code>/claims")
@permission_required("claims.enter", tokens=True)
def api_create(code: str):
    """Receive one claim as JSON and decide it at once (201 with the decision; 400 with field problems).

    Body: ``claim_ref`` (optional), ``member_no``, ``provider_code``, ``benefit_code``, ``date_of_service``,
    ``date_submitted``, ``amount_claimed`` (a string, or left out when ``lines`` [{label, amount}] are given),
    ``diagnosis_code``, ``guarantee_ref`` (the guarantee letter the claim uses). Amounts are read as exact
    decimals, never floats.
    """
    scheme = scheme_or_404(code)
    if not request.is_json:
        return jsonify(error=_("Send the claim as JSON (Content-Type: application/json).")), 415
    try:
        data = read_json_object()
    except JsonRefused as exc:
        return jsonify(error=say(exc)), 400
    try:
        values, lines = _api_document(data, current_app.config["MHI_MAX_CLAIM_LINES"])
        claim = claim_from_json(scheme, values, lines, actor=current_user)
    except InputRejected as exc:
        db.session.rollback()
        errors: dict[str, str] = {}
        for problem in exc.problems:
            key = (
                problem.column
                if problem.row is None or problem.column == "amount_claimed"
                else (f"lines[{problem.row - 1}].{problem.column}")
            )
            errors[key or "claim"] = problem.translated_text()
        return jsonify(errors=errors), 400
    except ClaimError as exc:
        db.session.rollback()
        return jsonify(errors={"claim_ref": say(exc)}), 409
    db.session.commit()
    return jsonify(
        claim_document(claim, scheme) | {"url": url_for("claims.detail", code=scheme.code, claim_id=claim.id)}
    ), 201


#: The fields of a claim sent as JSON: claims.csv's columns but paid_on (a payment is not the provider's to say).
CLAIM_FIELDS = tuple(column for column in CLAIM_COLUMNS if column != "paid_on")


def claim_from_json(scheme, values: dict, lines: list[tuple[str, str]], *, actor) -> Claim:
    """Read a claim sent by a program (this JSON route, /api/v1, FHIR) and decide it at once by the form's own
    path: ``read_entry`` then ``submit_claim``. Raises ``InputRejected`` or ``ClaimError``; flushes only."""
    values = {k: values.get(k) for k in CLAIM_FIELDS}
    bind_provider(scheme, values, actor)
    max_lines = current_app.config["MHI_MAX_CLAIM_LINES"]
    # A blank claim_ref is numbered by submit_claim.
    entry = read_entry(db.session, scheme, values, lines, ref_required=False, max_lines=max_lines)
    return submit_claim(db.session, scheme, entry, source="api", actor=actor, recorded_on=clock.today())


def bind_provider(scheme, values: dict, actor) -> None:
    """A facility account sends claims for its own provider only (issue 13): a blank provider_code is its
    own, another one is refused (InputRejected on provider_code)."""
    provider_id = bound_provider_id(actor)
    if provider_id is None:
        return
    own = db.session.get(Provider, provider_id)
    sent = (values.get("provider_code") or "").strip()
    if own is None or own.scheme_id != scheme.id or (sent and sent != own.code):
        code = own.code if own is not None else "—"
        raise InputRejected(
            [Problem(_("This account enters claims for its own provider (%(code)s) only.", code=code),
                     column="provider_code")]
        )  # fmt: skip
    values["provider_code"] = own.code


def claim_document(claim: Claim, scheme, *, checks: bool = True) -> dict:
    """A decided claim as JSON: what was received, the decision in force, and (``checks``) every check."""
    document = {
        "claim_ref": claim.claim_ref,
        "member_no": claim.member_no,
        "provider_code": claim.provider_code,
        "benefit_code": claim.benefit_code,
        "date_of_service": claim.date_of_service.isoformat(),
        "discharge_date": claim.discharge_date.isoformat() if claim.discharge_date else None,
        "date_submitted": claim.date_submitted.isoformat(),
        "status": claim.status,
        "amount_claimed": money_str(claim.amount_claimed, scheme.currency),
        "amount_approved": money_str(claim.amount_approved, scheme.currency),
        "reasons": [r for r in claim.reasons.split(";") if r],
        "paid_on": claim.paid_on.isoformat() if claim.paid_on else None,
    }
    if checks:
        decision = claim.decisions[-1]
        document["checks"] = [
            {"code": c["code"], "passed": c["passed"], "detail": translate(c["message"], c["params"], scheme)}
            for c in decision.checks
        ]
    return document


@bp.get("/schemes/<code>/claims/<int:claim_id>")
@permission_required("claims.view")
def detail(code: str, claim_id: int):
    """A claim: what was received, its bill lines, and every decision with each check and its result."""
    scheme = scheme_or_404(code)
    claim = _claim_of(scheme, claim_id)
    return render_template(
        "claims/detail.html",
        scheme=scheme,
        claim=claim,
        decisions=queries.decisions_of(db.session, claim),
        translate=translate,
        status_label=status_label,
        approval_form=ApprovalForm(),
        benefit_names=_benefit_names(scheme),
        attachments=attachments_of(db.session, claim),
        attachment_form=AttachmentForm(),
    )


# ---------------------------------------------------------------------------------------------------- attachments


@bp.post("/schemes/<code>/claims/<int:claim_id>/attachments")
@permission_required("claims.enter")
def attachment_add(code: str, claim_id: int):
    """Attach a scanned bill, referral letter or other paper (PDF, JPEG, PNG) to a claim; a refused file writes
    nothing and says why."""
    scheme = scheme_or_404(code)
    claim = _claim_of(scheme, claim_id)
    form = AttachmentForm()
    limit = current_app.config["MHI_MAX_ATTACHMENT_BYTES"]
    try:
        if not form.validate_on_submit():
            raise AttachmentError(next(iter(form.file.errors or form.kind.errors), N_("Choose the file to attach.")))
        # One byte more than the limit is enough to know it is too large.
        data = form.file.data.read(limit + 1)
        add_attachment(
            db.session, claim, kind=form.kind.data, name=form.file.data.filename or "", data=data, max_bytes=limit,
            actor=current_user,
        )  # fmt: skip
    except AttachmentError as exc:
        db.session.rollback()
        flash(_(exc.message, **exc.params), "error")
    else:
        db.session.commit()
        flash(_("File attached to claim %(ref)s.", ref=claim.claim_ref), "success")
    return redirect(url_for("claims.detail", code=scheme.code, claim_id=claim.id) + "#attachments")


@bp.get("/schemes/<code>/claims/<int:claim_id>/attachments/<int:attachment_id>")
@permission_required("claims.view")
def attachment_download(code: str, claim_id: int, attachment_id: int):
    """Download one attachment (under a generated name, never the sender's); each download is audited."""
    scheme = scheme_or_404(code)
    claim = _claim_of(scheme, claim_id)
    item = db.session.get(ClaimAttachment, attachment_id)
    if item is None or item.claim_id != claim.id:
        abort(404)
    return _attachment_response(item)


def _attachment_response(item: ClaimAttachment):
    """The attachment's bytes as a download under its generated name; the download is audited and committed."""
    try:
        data, name = open_attachment(db.session, item, actor=current_user)
    except FileNotFoundError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    return Response(
        data,
        mimetype=item.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/schemes/<code>/claims/<int:claim_id>/override", methods=["GET", "POST"])
@permission_required("claims.write")
def override(code: str, claim_id: int):
    """A claims officer replaces the decision, with a written reason; both decisions stay in the history."""
    scheme = scheme_or_404(code)
    claim = _claim_of(scheme, claim_id)
    form = OverrideForm()
    if request.method == "GET":
        form.status.data = claim.status
        form.amount_approved.data = money_str(claim.amount_approved, scheme.currency)
    if form.validate_on_submit():
        try:
            amount = Decimal((form.amount_approved.data or "0").strip())
        except InvalidOperation:
            form.amount_approved.errors.append(_("Write an amount with digits and '.' as the decimal separator."))
        else:
            try:
                override_decision(
                    db.session,
                    claim,
                    status=form.status.data,
                    amount_approved=amount,
                    reason=form.reason.data,
                    actor=current_user,
                )
            except ClaimError as exc:
                db.session.rollback()
                form.form_errors.append(say(exc))
            else:
                db.session.commit()
                flash(_("Decision changed: %(status)s.", status=status_label(claim.status)), "success")
                return redirect(url_for("claims.detail", code=scheme.code, claim_id=claim.id))
    return render_template("claims/override.html", scheme=scheme, claim=claim, form=form, status_label=status_label)


@bp.post("/schemes/<code>/claims/<int:claim_id>/approve")
@permission_required("claims.write")
def override_approve(code: str, claim_id: int):
    """A second officer approves an override above the scheme's four-eyes amount, with a written reason."""
    scheme = scheme_or_404(code)
    claim = _claim_of(scheme, claim_id)
    form = ApprovalForm()
    try:
        if not form.validate_on_submit():
            raise ClaimError(N_("An approval needs a written reason."))
        approve_override(db.session, claim, note=form.note.data, actor=current_user)
    except ClaimError as exc:
        db.session.rollback()
        flash(say(exc), "error")
    else:
        db.session.commit()
        flash(_("Override approved: the claim may be paid."), "success")
    return redirect(url_for("claims.detail", code=scheme.code, claim_id=claim.id))


# ------------------------------------------------------------------------------------------------ payment batches


@bp.get("/schemes/<code>/batches")
@permission_required("claims.view")
def batches(code: str):
    """The scheme's payment batches, newest first (a facility account: its own provider's)."""
    scheme = scheme_or_404(code)
    provider_id = bound_provider_id()
    own = db.session.get(Provider, provider_id) if provider_id is not None else None
    paged = queries.batches(db.session, scheme, own, page=page_number(request.args.get("page")))
    return render_template("claims/batches.html", scheme=scheme, rows=paged.items, paged=paged)


@bp.post("/schemes/<code>/providers/<provider_code>/batches")
@permission_required("providers.write")
def batch_create(code: str, provider_code: str):
    """Gather a provider's approved unpaid claims into a new payment batch."""
    scheme = scheme_or_404(code)
    item = _provider_of(scheme, provider_code)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        batch = create_batch(db.session, item, actor=current_user)
    except ClaimError as exc:
        db.session.rollback()
        flash(say(exc), "error")
        return redirect(url_for("claims.provider", code=scheme.code, provider_code=item.code))
    db.session.commit()
    flash(_("Payment batch %(number)s built.", number=batch.number), "success")
    return redirect(url_for("claims.batch", code=scheme.code, batch_id=batch.id))


@bp.route("/schemes/<code>/batches/<int:batch_id>", methods=["GET"])
@permission_required("claims.view")
def batch(code: str, batch_id: int):
    """A payment batch: its claims and total, to print, then mark paid."""
    scheme = scheme_or_404(code)
    item = _batch_of(scheme, batch_id)
    claims = queries.batch_claims(db.session, item)
    return render_template(
        "claims/batch.html",
        scheme=scheme,
        batch=item,
        claims=claims,
        total=sum((c.amount_approved for c in claims), Decimal(0)),
        paid_form=BatchPaidForm(),
        action_form=ActionForm(),
    )


@bp.post("/schemes/<code>/batches/<int:batch_id>/paid")
@permission_required("providers.write")
def batch_paid(code: str, batch_id: int):
    """Mark a batch paid: its claims get the paid_on date; the batch can no longer change."""
    scheme = scheme_or_404(code)
    item = _batch_of(scheme, batch_id)
    form = BatchPaidForm()
    if not form.validate_on_submit():
        flash(_("Give the day the batch was paid."), "error")
        return redirect(url_for("claims.batch", code=scheme.code, batch_id=item.id))
    if not confirmed():
        return confirmation_page(
            title=_("Mark batch %(number)s paid", number=item.number),
            what=_("Every claim of the batch gets the payment date %(day)s.", day=form.paid_on.data.isoformat()),
            irreversible=_("A paid batch can no longer change: its claims cannot be removed or overridden, and "
                           "the payment date stays on them. A payment made in error is put right with the "
                           "provider, not by changing the batch."),
            button=_("Mark paid"),
            back_url=url_for("claims.batch", code=scheme.code, batch_id=item.id),
            hidden={"paid_on": form.paid_on.data.isoformat()},
        )  # fmt: skip
    try:
        mark_batch_paid(db.session, item, form.paid_on.data, actor=current_user)
    except ClaimError as exc:
        db.session.rollback()
        flash(say(exc), "error")
    else:
        db.session.commit()
        flash(_("Batch %(number)s marked paid.", number=item.number), "success")
    return redirect(url_for("claims.batch", code=scheme.code, batch_id=item.id))


@bp.post("/schemes/<code>/batches/<int:batch_id>/claims/<int:claim_id>/remove")
@permission_required("providers.write")
def batch_remove(code: str, batch_id: int, claim_id: int):
    """Take a claim out of an open batch."""
    scheme = scheme_or_404(code)
    item = _batch_of(scheme, batch_id)
    claim = _claim_of(scheme, claim_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        remove_from_batch(db.session, item, claim, actor=current_user)
    except ClaimError as exc:
        db.session.rollback()
        flash(say(exc), "error")
    else:
        db.session.commit()
    return redirect(url_for("claims.batch", code=scheme.code, batch_id=item.id))


@bp.get("/schemes/<code>/batches/<int:batch_id>/batch.pdf")
@permission_required("claims.view")
def batch_print(code: str, batch_id: int):
    """The batch as a printable PDF: the claims listed (ref, member, date, approved amount) and the total."""
    scheme = scheme_or_404(code)
    item = _batch_of(scheme, batch_id)
    document = batch_pdf(scheme, item, queries.batch_claims(db.session, item), _locale(scheme))
    return Response(
        document,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{item.number}.pdf"'},
    )


# A claims file from the web: previewed (each claim decided, then rolled back), imported by a background job.
add_upload_routes(
    bp,
    kind="claims",
    importer=import_claims,
    title=lambda: _("Import claims"),
    permission="claims.write",
    done_endpoint="claims.queue",
)


def init_app(app) -> None:
    """Register the blueprint and the feature's label filters (templates show labels, never codes)."""
    app.register_blueprint(bp)
    claims_labels.init_app(app)
