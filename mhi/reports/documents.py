"""The year-end documents as a background job (issue 17): the PDF for the general assembly and the workbook of a
financial year, built together by a queue worker (``mhi.core.jobs``, kind ``reports.year_end``) and kept as the
job's two files until the jobs' retention ends. The pack itself is ``mhi.reports.yearend.year_end``; nothing is
computed a second time here.

The documents are written in the language of the person who asked (as the page they asked from), with the
scheme's country for amounts and dates; the financial year is checked when the job is created, and again by
the job (a scheme's opening date may change in between).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from mhi.core import jobs, sheets
from mhi.core.formatting import display_locale
from mhi.core.jobs import Job
from mhi.reports import yearend
from mhi.schemes.models import Scheme

#: The job kind of the year-end documents.
YEAR_END_JOB = "reports.year_end"
#: The job's error message id when the year is out of range by the time it runs.
BAD_YEAR = "reports.year_end.year"
#: The purposes of the job's two files (``jobs.result_file``).
PDF, XLSX = "result", "xlsx"
#: Steps reported as progress: the pack, the PDF, the workbook.
STEPS = 3


def create_year_end_job(session: Session, scheme: Scheme, year: int, *, actor, language: str, today: date) -> Job:
    """Record a request for the documents of ``year`` (flushed, not committed; sent to the queue on commit).
    Raises ``yearend.YearError`` for a year out of the reportable range."""
    yearend.year_bounds(scheme, year, today)
    params = {"year": year, "language": language, "today": today.isoformat()}
    return jobs.create_job(session, YEAR_END_JOB, scheme=scheme, actor=actor, params=params, total=STEPS)


def file_stem(scheme: Scheme, year: int) -> str:
    """The documents' file name without its extension."""
    return f"{scheme.code}-year-end-{year}"


@jobs.handler(YEAR_END_JOB)
def run_year_end_job(session: Session, job: jobs.JobInfo, progress: jobs.Progress) -> dict:
    """The job: the pack, its PDF and its workbook, both kept as the job's files."""
    from flask_babel import force_locale

    from mhi.reports import pdf

    scheme = session.get(Scheme, job.scheme_id)
    year, language = int(job.params["year"]), job.params["language"]
    try:
        pack = yearend.year_end(session, scheme, year, date.fromisoformat(job.params["today"]))
    except yearend.YearError as exc:
        raise jobs.JobFailed(BAD_YEAR, first=exc.first, last=exc.last) from exc
    progress(1, STEPS)
    document = pdf.year_end_pdf(pack, locale=display_locale(language, scheme.country))
    progress(2, STEPS)
    with force_locale(language):
        workbook = sheets.to_xlsx(yearend.tables(pack))
    progress(3, STEPS)
    stem = file_stem(scheme, year)
    jobs.attach_file(session, job, document, name=f"{stem}.pdf", purpose=PDF)
    jobs.attach_file(session, job, workbook, name=f"{stem}.xlsx", purpose=XLSX)
    return {"year": year}
