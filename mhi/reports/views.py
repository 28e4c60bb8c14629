"""Report screens: a scheme's dashboard for a period (every indicator with its light, per-benefit table, 24-month
trend charts, CSV downloads, JSON and PDF), and a federation's consolidated report (schemes side by side and the
total, sortable, red schemes first).

Only aggregated figures are shown here: a federation reviewer (figures.read, federation.read) never sees a
patient's claim. Another scheme's or federation's pages answer 404 (core/access.py).
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from mhi.core import clock, sheets
from mhi.core.access import permission_required
from mhi.core.db import db, reporting_read
from mhi.core.errors import say
from mhi.core.jobs import Job, result_file
from mhi.core.storage import read_file
from mhi.core.web import current_scheme_locale
from mhi.reports import charts, documents, federation_yearend, pdf, services, yearend
from mhi.reports import indicators as ind
from mhi.reports.forms import YearEndDocumentsForm
from mhi.reports.labels import LABELS, grouped_keys
from mhi.schemes.access import federation_or_404, scheme_or_404
from mhi.schemes.queries import benefit_names

bp = Blueprint("reports", __name__)


TABLES = ("indicators", "benefits", "trend", "all")
#: Seconds between two looks at a job that is not finished.
POLL_SECONDS = 2


def requested_period() -> services.Period:
    """The period asked in the query string (kind, value, from, to); a bad one is a 400 with the reason."""
    try:
        return services.read_period(
            request.args.get("kind"),
            request.args.get("value"),
            request.args.get("from"),
            request.args.get("to"),
            clock.today(),
        )
    except services.PeriodError as exc:
        abort(400, say(exc))


def _pdf_response(data: bytes, filename: str) -> Response:
    """A PDF shown in the browser."""
    return Response(data, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{filename}"'})


def _trend_charts(points: list[services.TrendPoint], scheme) -> list[tuple[str, charts.Chart]]:
    """The four trend charts of the dashboard, with the green threshold as a reference line where there is one."""
    from mhi.schemes.settings import thresholds

    bounds = thresholds(scheme)
    labels = [p.month.strftime("%Y-%m") for p in points]

    def values(attribute):
        return [None if getattr(p, attribute) is None else float(getattr(p, attribute)) for p in points]

    return [
        (_l("Beneficiaries covered"), charts.line_chart(labels, [("", "line-1", values("beneficiaries"))])),
        (
            _l("Collection rate"),
            charts.line_chart(
                labels, [("", "line-1", values("collection_rate"))], float(bounds["collection_rate"]["green"])
            ),
        ),
        (
            _l("Incurred claims ratio"),
            charts.line_chart(
                labels,
                [("", "line-1", values("incurred_claims_ratio"))],
                float(bounds["incurred_claims_ratio"]["green_high"]),
            ),
        ),
        (
            _l("Reserves in months of claims"),
            charts.line_chart(
                labels, [("", "line-1", values("reserve_months"))], float(bounds["reserve_months"]["green"])
            ),
        ),
    ]


@bp.get("/schemes/<code>/indicators")
@permission_required("figures.read")
@reporting_read
def scheme(code: str):
    """The scheme's indicators for the chosen period, with lights and per-benefit figures. The 24-month trend is
    a page of its own (``scheme_trend``): it is 24 months of the same sums, too heavy for the page a manager opens
    several times a day on a large register (docs/decisions.md)."""
    scheme = scheme_or_404(code)
    period = requested_period()
    report = ind.scheme_indicators(db.session, scheme, period.start, period.end)
    return render_template(
        "reports/scheme.html",
        scheme=scheme,
        period=period,
        report=report,
        sections=grouped_keys(),
        labels=LABELS,
        kinds=ind.KIND,
        query=_query_args(period),
    )


@bp.get("/schemes/<code>/indicators/trend")
@permission_required("figures.read")
@reporting_read
def scheme_trend(code: str):
    """The scheme's last 24 months up to the chosen period's end: membership, collection rate, incurred claims
    ratio and reserves in months of claims, month by month (charts and downloads)."""
    scheme = scheme_or_404(code)
    period = requested_period()
    points = services.monthly_trend(db.session, scheme, period.end)
    return render_template(
        "reports/trend.html",
        scheme=scheme,
        period=period,
        trend=_trend_charts(points, scheme),
        query=_query_args(period),
    )


def _query_args(period: services.Period) -> dict:
    """The query-string arguments that reproduce ``period`` (for the download links)."""
    if period.kind == "range":
        return {"kind": "range", "from": period.start.isoformat(), "to": period.end.isoformat()}
    return {"kind": period.kind, "value": period.value}


@bp.get("/schemes/<code>/indicators.json")
@permission_required("figures.read", tokens=True)
@reporting_read
def scheme_json(code: str):
    """cli.md's ``report indicators --format json`` document for the period."""
    scheme = scheme_or_404(code)
    period = requested_period()
    return jsonify(ind.to_json(ind.scheme_indicators(db.session, scheme, period.start, period.end)))


@bp.get("/schemes/<code>/indicators.pdf")
@permission_required("figures.read")
@reporting_read
def scheme_pdf(code: str):
    """The scheme's printed monitoring report for the period."""
    scheme = scheme_or_404(code)
    period = requested_period()
    report = ind.scheme_indicators(db.session, scheme, period.start, period.end)
    points = services.monthly_trend(db.session, scheme, period.end)
    names = benefit_names(db.session, [scheme.id])
    data = pdf.scheme_report_pdf(
        report, locale=current_scheme_locale(scheme.country), trend=points, benefit_names=names
    )
    return _pdf_response(data, f"{scheme.code}-{period.start}-{period.end}.pdf")


@bp.get("/schemes/<code>/indicators/<table>.<any(csv, xlsx):fmt>")
@permission_required("figures.read")
@reporting_read
def scheme_table(code: str, table: str, fmt: str):
    """One table of the dashboard as CSV or XLSX (the indicators, the per-benefit figures or the trend); the
    whole report as one workbook with ``all.xlsx``."""
    if table not in TABLES or (table == "all" and fmt != "xlsx"):
        abort(404)
    scheme = scheme_or_404(code)
    period = requested_period()
    tables = []
    if table in ("trend", "all"):
        tables.append(services.trend_table(services.monthly_trend(db.session, scheme, period.end)))
    if table != "trend":
        report = ind.scheme_indicators(db.session, scheme, period.start, period.end)
        if table in ("indicators", "all"):
            tables.insert(0, services.indicators_table(report))
        if table in ("benefits", "all"):
            tables.insert(1 if table == "all" else 0, services.benefits_table(report.benefits, report.currency))
    stem = f"{scheme.code}-{table}-{period.start}-{period.end}"
    return sheets.download(tables, fmt, stem, current_scheme_locale(scheme.country))


def _federation_report(federation, period):
    """The consolidated report, or a 409 page saying why the schemes cannot be summed."""
    try:
        return ind.federation_indicators(db.session, federation, period.start, period.end)
    except ind.MixedCurrencies as exc:
        abort(409, say(exc))


@bp.get("/federations/<federation_code>/report")
@permission_required("federation.read")
@reporting_read
def federation(federation_code: str):
    """The federation's schemes side by side with the total; red schemes first, then by the chosen column."""
    federation = federation_or_404(federation_code)
    period = requested_period()
    report = _federation_report(federation, period)
    sort = request.args.get("sort") or ""
    descending = request.args.get("order") == "desc"
    schemes = services.sort_schemes(report.schemes, sort, descending)
    return render_template(
        "reports/federation.html",
        federation=federation,
        period=period,
        report=report,
        schemes=schemes,
        sort=sort,
        descending=descending,
        sections=grouped_keys(),
        labels=LABELS,
        kinds=ind.KIND,
        red=services.red_count,
        query=_query_args(period),
        country=next((s.country for s in federation.schemes), None),
    )


@bp.get("/federations/<federation_code>/report.json")
@permission_required("federation.read", tokens=True)
@reporting_read
def federation_json(federation_code: str):
    """cli.md's ``report federation --format json`` document."""
    federation = federation_or_404(federation_code)
    return jsonify(ind.federation_to_json(_federation_report(federation, requested_period())))


@bp.get("/federations/<federation_code>/report.pdf")
@permission_required("federation.read")
@reporting_read
def federation_pdf(federation_code: str):
    """The federation's printed consolidated report."""
    federation = federation_or_404(federation_code)
    period = requested_period()
    report = _federation_report(federation, period)
    country = next((s.country for s in federation.schemes), None)
    names = benefit_names(db.session, [s.id for s in federation.schemes])
    data = pdf.federation_report_pdf(report, locale=current_scheme_locale(country), benefit_names=names)
    return _pdf_response(data, f"{federation.code}-{period.start}-{period.end}.pdf")


@bp.get("/federations/<federation_code>/report/<table>.<any(csv, xlsx):fmt>")
@permission_required("federation.read")
@reporting_read
def federation_table(federation_code: str, table: str, fmt: str):
    """The schemes side by side (``indicators``) or the total's per-benefit figures (``benefits``), as CSV or
    XLSX; both as one workbook with ``all.xlsx``."""
    if table not in ("indicators", "benefits", "all") or (table == "all" and fmt != "xlsx"):
        abort(404)
    federation = federation_or_404(federation_code)
    period = requested_period()
    report = _federation_report(federation, period)
    tables = []
    if table in ("indicators", "all"):
        tables.append(services.federation_table(report))
    if table in ("benefits", "all"):
        tables.append(services.benefits_table(report.total_benefits, report.currency))
    country = next((s.country for s in federation.schemes), None)
    stem = f"{federation.code}-{table}-{period.start}-{period.end}"
    return sheets.download(tables, fmt, stem, current_scheme_locale(country))


@bp.get("/schemes/<code>/export.zip")
@permission_required("scheme.settings")
@reporting_read
def scheme_export(code: str):
    """The whole scheme as the folder ``export scheme`` writes (cli.md), zipped: for the manager's own copy, or to
    move the scheme to another installation."""
    from mhi.reports.scheme_export import scheme_files, zip_bytes

    scheme = scheme_or_404(code)
    stamp = clock.today().isoformat()
    document = zip_bytes(scheme_files(db.session, scheme), f"{scheme.code}-{stamp}")
    return Response(
        document,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{scheme.code}-{stamp}.zip"'},
    )


def _year_end_pack(code: str):
    """The scheme (if the user may see it) and its year-end pack for ``?year=`` (last year by default); a year
    that is not a number or out of range is a 400 with the reason."""
    scheme = scheme_or_404(code)
    today = clock.today()
    raw = request.args.get("year") or str(max(today.year - 1, scheme.opening_date.year))
    if not raw.isdigit() or len(raw) != 4:
        abort(400, str(_l("The year is four digits, such as 2025.")))
    try:
        return scheme, yearend.year_end(db.session, scheme, int(raw), today)
    except yearend.YearError as exc:
        abort(400, exc.translated())


@bp.get("/schemes/<code>/year-end")
@permission_required("figures.read")
@reporting_read
def year_end(code: str):
    """The scheme's accounts for a financial year: income statement and balance sheet (the year-end pack)."""
    scheme, pack = _year_end_pack(code)
    return render_template("reports/year_end.html", scheme=scheme, pack=pack, yearend=yearend)


def _reportable_years(scheme) -> range:
    """The years a year-end pack can be asked for (``yearend.year_bounds``)."""
    return range(scheme.opening_date.year, clock.today().year + yearend.FUTURE_YEARS + 1)


@bp.route("/schemes/<code>/year-end/documents", methods=["GET", "POST"])
@permission_required("figures.read")
def year_end_documents(code: str):
    """The year-end documents prepared lately (PDF and workbook), and the form that prepares a year's in the
    background (docs/decisions.md: the documents are a job, not a download built in the request)."""
    scheme = scheme_or_404(code)
    form = YearEndDocumentsForm(years=_reportable_years(scheme))
    if request.method == "GET":
        today = clock.today()
        asked = request.args.get("year", "")
        form.year.data = int(asked) if asked.isdigit() else max(today.year - 1, scheme.opening_date.year)
    if form.validate_on_submit():
        job = documents.create_year_end_job(
            db.session,
            scheme,
            form.year.data,
            actor=current_user,
            language=str(get_locale() or "en"),
            today=clock.today(),
        )
        db.session.commit()  # sends the job to the queue
        return redirect(url_for("reports.year_end_document", code=scheme.code, job_id=job.id))
    items = db.session.scalars(
        select(Job)
        .where(Job.scheme_id == scheme.id, Job.kind == documents.YEAR_END_JOB)
        .order_by(Job.id.desc())
        .limit(20)
    ).all()
    return render_template("reports/year_end_documents.html", scheme=scheme, form=form, jobs=items)


def _year_end_job(scheme, job_id: int) -> Job:
    """Year-end documents of ``scheme``, else 404."""
    item = db.session.get(Job, job_id)
    if item is None or item.scheme_id != scheme.id or item.kind != documents.YEAR_END_JOB:
        abort(404)
    return item


@bp.get("/schemes/<code>/year-end/documents/<int:job_id>")
@permission_required("figures.read")
def year_end_document(code: str, job_id: int):
    """The documents' progress; the page reloads itself until they are ready, then offers both."""
    scheme = scheme_or_404(code)
    item = _year_end_job(scheme, job_id)
    response = Response(render_template("reports/year_end_document.html", scheme=scheme, job=item, poll=POLL_SECONDS))
    if not item.finished:
        response.headers["Refresh"] = str(POLL_SECONDS)
    return response


def _document(code: str, job_id: int, purpose: str, mimetype: str) -> Response:
    """One of the finished job's files, as a download."""
    scheme = scheme_or_404(code)
    item = _year_end_job(scheme, job_id)
    stored = result_file(db.session, item, purpose) if item.state == "done" else None
    if stored is None:
        abort(404)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", stored.name) or "document"
    return Response(
        read_file(stored), mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@bp.get("/schemes/<code>/year-end/documents/<int:job_id>/year-end.pdf")
@permission_required("figures.read")
def year_end_document_pdf(code: str, job_id: int):
    """The year-end pack as a PDF for the general assembly."""
    return _document(code, job_id, documents.PDF, "application/pdf")


@bp.get("/schemes/<code>/year-end/documents/<int:job_id>/year-end.xlsx")
@permission_required("figures.read")
def year_end_document_xlsx(code: str, job_id: int):
    """The year-end pack as a workbook: the income statement and the balance sheet."""
    return _document(code, job_id, documents.XLSX, sheets.XLSX_MIMETYPE)


def _federation_year_end(federation_code: str):
    """The federation (if the user may see it) and its schemes' year-end figures for ``?year=`` (last year by
    default): 400 for a year that is not a number or out of range, 409 when the schemes' currencies differ."""
    federation = federation_or_404(federation_code)
    today = clock.today()
    raw = request.args.get("year") or str(federation_yearend.default_year(federation, today))
    if not raw.isdigit() or len(raw) != 4:
        abort(400, str(_l("The year is four digits, such as 2025.")))
    try:
        return federation, federation_yearend.federation_year_end(db.session, federation, int(raw), today)
    except yearend.YearError as exc:
        abort(400, exc.translated())
    except ind.MixedCurrencies as exc:
        abort(409, say(exc))


@bp.get("/federations/<federation_code>/year-end")
@permission_required("federation.read")
@reporting_read
def federation_year_end(federation_code: str):
    """The year-end figures of the federation's schemes side by side, with the federation's total."""
    federation, report = _federation_year_end(federation_code)
    country = next((s.country for s in federation.schemes), None)
    return render_template("reports/federation_year_end.html", federation=federation, report=report, country=country)


@bp.get("/federations/<federation_code>/year-end.xlsx")
@permission_required("federation.read")
@reporting_read
def federation_year_end_xlsx(federation_code: str):
    """The same figures as a workbook: the income statement and the balance sheet, a column per scheme."""
    federation, report = _federation_year_end(federation_code)
    locale = current_scheme_locale(next((s.country for s in federation.schemes), None))
    stem = f"{federation.code}-year-end-{report.year}"
    return sheets.download(federation_yearend.tables(report), "xlsx", stem, locale)


@bp.get("/federations/<federation_code>/year-end.pdf")
@permission_required("federation.read")
@reporting_read
def federation_year_end_pdf(federation_code: str):
    """The same figures as a PDF for the federation's general assembly and its funders."""
    federation, report = _federation_year_end(federation_code)
    locale = current_scheme_locale(next((s.country for s in federation.schemes), None))
    data = pdf.federation_year_end_pdf(report, locale)
    return _pdf_response(data, f"{federation.code}-year-end-{report.year}.pdf")


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
