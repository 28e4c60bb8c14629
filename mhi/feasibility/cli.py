"""``flask --app mhi feasibility run FILE [--format json|pdf --out FILE]`` (cli.md).

JSON on stdout is exactly ``run_study``'s output (amounts as strings, ratios as numbers); ``pdf`` writes the
report to ``--out``; without ``--format`` a short readable summary. A bad study prints every error with its field
on stderr and exits 1 (conventions.md "Errors").
"""

from __future__ import annotations

from pathlib import Path

import click

from mhi.core.cli import Rejected, emit_json, feasibility_group, info
from mhi.feasibility.method import StudyError, load_study_text, run_study


@feasibility_group.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["json", "pdf"]), default=None, help="json or pdf (default: summary)"
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), help="file for the PDF")
@click.option("--locale", default="en", show_default=True, help="language and country of the PDF's figures (fr_SN)")
def run_command(file: Path, fmt: str | None, out: Path | None, locale: str) -> None:
    """Run the feasibility study in FILE (a study JSON, feasibility.md)."""
    if fmt == "pdf" and out is None:
        raise click.UsageError("--format pdf needs --out FILE")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(f"{file}: the file is not UTF-8 text") from exc
    try:
        study = load_study_text(text)
    except StudyError as exc:
        for path, message in exc.errors:
            info(f"{file}: {path}: {message}" if path else f"{file}: {message}")
        raise Rejected(f"{file}: {len(exc.errors)} error(s); nothing was run") from exc
    result = run_study(study)
    if fmt == "json":
        emit_json(result)
    elif fmt == "pdf":
        from mhi.feasibility.pdf import study_pdf

        out.write_bytes(study_pdf(result, locale=locale, gettext=lambda s: s, study=study))
        info(f"{out}: feasibility report written")
    else:
        click.echo(summary(result))


def summary(result: dict) -> str:
    """The study's key figures, its projection's last year and its break-even, as lines for a terminal."""
    currency = result["currency"]
    last = result["projection"][-1]
    break_even = result["break_even_beneficiaries"]
    lines = [
        result["name"],
        f"  pure premium per person per year        {result['pure_premium']} {currency}",
        f"  adjusted for the insurance effect       {result['adjusted_pure_premium']} {currency}",
        f"  gross contribution                      {result['gross_contribution']} {currency}",
        f"  contribution per person per year        {result['contribution_per_person_year']} {currency}",
        f"  contribution per person per month       {result['contribution_per_person_month']} {currency}",
        f"  contribution per household per year     {result['contribution_per_household_year']} {currency}",
        f"  member share per person per year        {result['member_share']} {currency}",
        f"  expected claims ratio                   {_ratio(result['expected_claims_ratio'])}",
        f"  affordability (share of income)         {_ratio(result['affordability_ratio'])}",
        f"  survey answers willing to pay           {_ratio(result['willingness_share'])}",
        "  break-even                              "
        + (f"{break_even} beneficiaries" if break_even is not None else "none: the scheme cannot cover its costs"),
        f"  year {last['year']}: {last['beneficiaries']} beneficiaries, result {last['result']} {currency}, "
        f"reserve {last['reserve']} {currency}",
    ]
    return "\n".join(lines)


def _ratio(value) -> str:
    """A ratio as a percentage with one decimal, or — when there is none."""
    return "—" if value is None else f"{value * 100:.1f} %"


def init_app(app) -> None:
    """The command lives on the shared ``feasibility`` group, registered by mhi.core.cli."""
