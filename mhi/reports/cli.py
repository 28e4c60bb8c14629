"""``report indicators`` and ``report federation`` (cli.md).

Without ``--format`` a readable table goes to stdout; ``--format json`` writes cli.md's JSON document (to stdout,
or to ``--out``); ``--format pdf`` writes the printed report to ``--out``, ``--format xlsx`` its tables as a workbook. An unknown scheme or federation, or a
federation whose schemes do not share a currency, is rejected input (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select

from mhi.core.cli import Rejected, emit_json, export_group, info, report_group
from mhi.core.dates import DateError, parse_date
from mhi.core.db import db
from mhi.reports import indicators as ind
from mhi.reports import services


class IsoDate(click.ParamType):
    """A ``YYYY-MM-DD`` option; anything else is a usage error (exit 2)."""

    name = "date"

    def convert(self, value, param, ctx):
        """Parse the ISO date or fail with the clerk-readable message of ``parse_date``."""
        if not isinstance(value, str):
            return value
        try:
            return parse_date(value)
        except DateError as exc:
            self.fail(str(exc), param, ctx)


ISO_DATE = IsoDate()


def period_options(command):
    """``--from D --to D`` (both required, both included: conventions.md "Dates and periods")."""
    command = click.option("--to", "date_to", required=True, type=ISO_DATE, help="last day (YYYY-MM-DD)")(command)
    return click.option("--from", "date_from", required=True, type=ISO_DATE, help="first day (YYYY-MM-DD)")(command)


def output_options(command):
    """``--format json|pdf|xlsx`` and ``--out FILE``."""
    command = click.option("--out", "out", type=click.Path(dir_okay=False), help="write to this file")(command)
    return click.option("--format", "fmt", type=click.Choice(["json", "pdf", "xlsx"]), default=None)(command)


def check_period(date_from, date_to) -> None:
    """A period that ends before it starts is a usage error."""
    if date_from > date_to:
        raise click.UsageError(f"--from {date_from} is after --to {date_to}")


def write_output(fmt: str | None, out: str | None, document: dict, make_pdf, make_text, make_xlsx=None) -> None:
    """Send the report where the options say: text or JSON to stdout or a file, PDF or XLSX to a file."""
    if fmt in ("pdf", "xlsx"):
        if not out:
            raise click.UsageError(f"--format {fmt} needs --out FILE")
        Path(out).write_bytes(make_pdf() if fmt == "pdf" else make_xlsx())
        info(f"written {out}")
    elif fmt == "json":
        if out:
            Path(out).write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
            info(f"written {out}")
        else:
            emit_json(document)
    else:
        text = make_text()
        if out:
            Path(out).write_text(text, encoding="utf-8")
            info(f"written {out}")
        else:
            click.echo(text, nl=False)


def _value_text(key: str, value, currency: str) -> str:
    """One indicator as plain text: amounts with the currency's decimals, ratios as given, null as a dash."""
    shown = ind.json_value(key, value, currency)
    return "—" if shown is None else str(shown)


def scheme_text(report: ind.SchemeIndicators) -> str:
    """A readable table of one scheme's indicators, per-benefit figures and lights."""
    lines = [f"{report.code} — {report.name} ({report.currency}), {report.date_from} to {report.date_to}", ""]
    for key, _ in ind.INDICATORS:
        light = report.thresholds.get(key)
        suffix = f"  [{light}]" if light else ""
        lines.append(f"  {key:<30} {_value_text(key, report.indicators[key], report.currency):>16}{suffix}")
    lines += ["", f"  {'benefit':<10} {'cases':>8} {'amount':>14} {'average':>12} {'per 1000':>12}"]
    lines += _benefit_lines(report.benefits, report.currency)
    return "\n".join(lines) + "\n"


def _benefit_lines(benefits: dict, currency: str) -> list[str]:
    """The per-benefit rows of a text table."""
    rows = []
    for code, figures in benefits.items():
        data = ind.benefits_json({code: figures}, currency)[code]
        rows.append(
            f"  {code:<10} {data['cases']:>8} {data['amount']:>14} {data['average_cost'] or '—':>12} "
            f"{'—' if data['utilization_per_1000'] is None else data['utilization_per_1000']:>12}"
        )
    return rows


def federation_text(report: ind.FederationIndicators) -> str:
    """A readable table: one column per scheme and one for the total."""
    columns = [scheme.code for scheme in report.schemes] + ["TOTAL"]
    values = [scheme.indicators for scheme in report.schemes] + [report.total_indicators]
    width = max([14, *(len(c) for c in columns)]) + 2
    lines = [f"{report.code} — {report.name} ({report.currency}), {report.date_from} to {report.date_to}", ""]
    lines.append(f"  {'indicator':<30}" + "".join(f"{c:>{width}}" for c in columns))
    for key, _ in ind.INDICATORS:
        cells = "".join(f"{_value_text(key, v[key], report.currency):>{width}}" for v in values)
        lines.append(f"  {key:<30}{cells}")
    lines += [
        "",
        "  total per benefit:",
        f"  {'benefit':<10} {'cases':>8} {'amount':>14} {'average':>12} {'per 1000':>12}",
    ]
    lines += _benefit_lines(report.total_benefits, report.currency)
    return "\n".join(lines) + "\n"


@report_group.command("indicators")
@click.option("--scheme", "scheme_code", required=True, help="scheme code")
@period_options
@output_options
def indicators_command(scheme_code, date_from, date_to, fmt, out):
    """The monitoring indicators of one scheme for a period (indicators.md)."""
    from mhi.reports import pdf
    from mhi.schemes.models import Scheme
    from mhi.schemes.queries import benefit_names

    check_period(date_from, date_to)
    scheme = db.session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise Rejected(f"no scheme {scheme_code}")
    report = ind.scheme_indicators(db.session, scheme, date_from, date_to)
    write_output(
        fmt,
        out,
        ind.to_json(report),
        lambda: pdf.scheme_report_pdf(
            report, locale=scheme.locale or "fr", benefit_names=benefit_names(db.session, [scheme.id])
        ),
        lambda: scheme_text(report),
        lambda: _workbook(
            scheme.locale or "fr",
            lambda: [
                services.indicators_table(report),
                services.benefits_table(report.benefits, report.currency),
                services.trend_table(services.monthly_trend(db.session, scheme, date_to)),
            ],
        ),
    )


@report_group.command("federation")
@click.option("--federation", "federation_code", required=True, help="federation code")
@period_options
@output_options
def federation_command(federation_code, date_from, date_to, fmt, out):
    """The consolidated report of a federation: each scheme and the total (indicators.md "A federation")."""
    from mhi.reports import pdf
    from mhi.schemes.models import Federation
    from mhi.schemes.queries import benefit_names

    check_period(date_from, date_to)
    federation = db.session.scalar(select(Federation).where(Federation.code == federation_code))
    if federation is None:
        raise Rejected(f"no federation {federation_code}")
    try:
        report = ind.federation_indicators(db.session, federation, date_from, date_to)
    except ind.MixedCurrencies as exc:
        raise Rejected(str(exc)) from exc
    locale = next((scheme.locale for scheme in federation.schemes if scheme.locale), "fr")
    write_output(
        fmt,
        out,
        ind.federation_to_json(report),
        lambda: pdf.federation_report_pdf(
            report, locale=locale, benefit_names=benefit_names(db.session, [s.id for s in federation.schemes])
        ),
        lambda: federation_text(report),
        lambda: _workbook(
            locale,
            lambda: [
                services.federation_table(report),
                services.benefits_table(report.total_benefits, report.currency),
            ],
        ),
    )


@report_group.command("year-end")
@click.option("--scheme", "scheme_code", required=True, help="scheme code")
@click.option("--year", "year", required=True, type=click.IntRange(1900, 2999), help="financial year (YYYY)")
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="write to this file")
def year_end_command(scheme_code, year, fmt, out):
    """The year-end pack of one scheme: income statement and balance sheet (docs/year-end.md)."""
    from mhi.reports import pdf, yearend
    from mhi.schemes.models import Scheme

    scheme = db.session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise Rejected(f"no scheme {scheme_code}")
    try:
        pack = yearend.year_end(db.session, scheme, year)
    except yearend.YearError as exc:
        raise Rejected(str(exc)) from exc
    db.session.commit()  # keep the report ledgers built on the way (derived data)
    locale = scheme.locale or "fr"
    if fmt == "pdf":
        data = pdf.year_end_pdf(pack, locale=locale)
    else:
        data = _workbook(locale, lambda: yearend.tables(pack))
    Path(out).write_bytes(data)
    info(f"written {out}")


def _workbook(locale: str, make_tables) -> bytes:
    """The report's tables as a workbook, with headers in the language of the scheme's documents."""
    from flask_babel import force_locale

    from mhi.core import sheets

    with force_locale(locale.split("_")[0]):
        return sheets.to_xlsx(make_tables())


@report_group.command("refresh-ledgers")
@click.option("--scheme", "scheme_code", default=None, help="scheme code (default: every scheme)")
@click.option("--to", "upto", type=ISO_DATE, default=None, help="store periods past this day (default: today)")
def refresh_ledgers_command(scheme_code, upto):
    """Carry the stored ledgers' horizon on and rebuild any whose inputs changed (a scheduled job, e.g. monthly;
    after a restore or an upgrade), and recount the claim, period and coverage totals. Writes derived rows only;
    reports never do."""
    from mhi.claims import totals as claim_totals
    from mhi.contributions import coverage_totals, period_totals
    from mhi.core.clock import today
    from mhi.reports import ledgers
    from mhi.schemes.models import Scheme

    query = select(Scheme).order_by(Scheme.code)
    if scheme_code:
        query = query.where(Scheme.code == scheme_code)
    schemes = list(db.session.scalars(query))
    if not schemes:
        raise Rejected(f"no scheme {scheme_code}")
    for scheme in schemes:
        count = ledgers.refresh(db.session, scheme, upto or today())
        db.session.commit()
        info(f"{scheme.code}: {count} household ledgers rebuilt")
        # The claim totals are kept by triggers; recounting them repairs whatever a trigger-less load left.
        rows = claim_totals.rebuild(db.session, scheme.id)
        db.session.commit()
        info(f"{scheme.code}: claim totals recounted ({rows} rows)")
        rows = period_totals.rebuild(db.session, scheme.id)
        db.session.commit()
        info(f"{scheme.code}: period totals recounted ({rows} rows)")
        rows = coverage_totals.rebuild(db.session, scheme.id)
        db.session.commit()
        info(f"{scheme.code}: coverage totals recounted ({rows} rows)")


def init_app(app) -> None:
    """Commands are registered on the shared ``report`` group at import; nothing else to do."""


@export_group.command("scheme")
@click.option("--scheme", "scheme_code", required=True, help="The scheme's code.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="The folder to write.")
def export_scheme_command(scheme_code, out):
    """Write the whole scheme as a folder of data-formats.md files (cli.md)."""
    from mhi.reports.scheme_export import scheme_files, write_folder
    from mhi.schemes.models import Scheme

    scheme = db.session.scalar(select(Scheme).where(Scheme.code == scheme_code))
    if scheme is None:
        raise Rejected(f"scheme {scheme_code} is not loaded (run `scheme load` first)")
    files = scheme_files(db.session, scheme)
    write_folder(files, Path(out))
    info(f"{scheme_code}: {len(files)} files written to {out}")
