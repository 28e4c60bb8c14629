"""Statement runs: the statements of many households for one period in one PDF, one household after another
(each from a new page, in its own language, its pages numbered from 1), built by a background job
(``mhi.core.jobs``, kind ``cards.statements``) or by ``flask statements`` on the command line — the same function.

Who is in a run (docs/decisions.md, "Statement runs"):
- every household of the scheme (or of one village) that was a member on some day of [F, T]: enrolled by T,
  neither exited nor struck off on or before F;
- with "only households in arrears": exactly the households of the arrears list on T
  (``contributions.queries.households_in_arrears``, the list's own function), in the village if one is chosen.
Households are printed by village, then reference, as the collector walks.

The data is read ``BATCH`` households at a time, with a fixed number of set-based queries per batch
(``statement.load_statements``): the queries of a run grow with its batches, never with its households.
Claims are printed when the person who asked may read claims ("claims.read"), recorded on the job when it is
created; the run's page and PDF are then shown only to readers who may read claims too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.platypus import PageBreak
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mhi.cards.statement import document_language, load_statements, render_statements, statement_story
from mhi.core import jobs
from mhi.core.errors import N_, UserError
from mhi.core.jobs import Job
from mhi.members.models import Household
from mhi.schemes.models import Scheme

#: The job kind of a statement run.
STATEMENT_JOB = "cards.statements"
#: Households whose data is read together (one set of queries per batch).
BATCH = 200
#: The job's error message id when the selection holds nobody by the time it runs.
NOBODY = "cards.statements.nobody"


class StatementRunError(UserError):
    """A statement run that cannot be made (a period the wrong way round, nobody selected)."""


@dataclass(frozen=True)
class StatementRun:
    """What a run prints: the period, which households, and the optional parts."""

    date_from: date
    date_to: date
    village: str | None = None
    arrears: bool = False
    decisions: bool = True
    include_claims: bool = False

    def as_json(self) -> dict:
        """The run as stored on the job row."""
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "village": self.village,
            "arrears": self.arrears,
            "decisions": self.decisions,
            "claims": self.include_claims,
        }

    @classmethod
    def from_json(cls, data: dict) -> StatementRun:
        """Read back ``as_json``."""
        return cls(
            date_from=date.fromisoformat(data["from"]),
            date_to=date.fromisoformat(data["to"]),
            village=data.get("village") or None,
            arrears=bool(data.get("arrears")),
            decisions=bool(data.get("decisions")),
            include_claims=bool(data.get("claims")),
        )


def make_run(
    date_from: date,
    date_to: date,
    *,
    village: str | None = None,
    arrears: bool = False,
    decisions: bool = True,
    include_claims: bool = False,
) -> StatementRun:
    """A checked run: the period the right way round, an empty village meaning every village."""
    if date_from > date_to:
        raise StatementRunError(N_("the period ends on %(end)s, before it starts"), end=date_to.isoformat())
    village = (village or "").strip() or None
    return StatementRun(date_from, date_to, village, arrears, decisions, include_claims)


def run_household_ids(session: Session, scheme: Scheme, run: StatementRun) -> list[int]:
    """The households of ``run`` in printing order: village, then reference (module docstring)."""
    if run.arrears:
        from mhi.contributions.queries import households_in_arrears

        lines = households_in_arrears(session, scheme, run.date_to, village=run.village)
        return [line.household_id for line in lines]
    query = select(Household.id).where(
        Household.scheme_id == scheme.id,
        Household.enrolment_date <= run.date_to,
        or_(Household.exit_date.is_(None), Household.exit_date > run.date_from),
        or_(Household.strike_off_date.is_(None), Household.strike_off_date > run.date_from),
    )
    if run.village:
        query = query.where(Household.village == run.village)
    return list(session.scalars(query.order_by(Household.village, Household.ref)))


def statements_pdf(
    session: Session,
    scheme: Scheme,
    household_ids: Sequence[int],
    run: StatementRun,
    *,
    languages: Sequence[str],
    default_language: str,
    today: date,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """The statements of ``household_ids`` (in that order) as one PDF, each in its household's language
    (``document_language``, as the single statement). Reads ``BATCH`` households at a time."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    total = len(household_ids)
    state: dict = {}

    def parts() -> Iterator[list]:
        done = 0
        for start in range(0, total, BATCH):
            chunk = household_ids[start : start + BATCH]
            households = {h.id: h for h in session.scalars(select(Household).where(Household.id.in_(chunk)))}
            loaded = load_statements(
                session,
                scheme,
                [households[i] for i in chunk],
                run.date_from,
                run.date_to,
                include_claims=run.include_claims,
                decisions=run.decisions,
                today=today,
            )
            for data in loaded:
                language = document_language(data.household, scheme, languages, default_language)
                with force_locale(language):
                    story = statement_story(
                        data, run.date_from, run.date_to, language=language, gettext=_, today=today, state=state
                    )
                if done:
                    story.insert(0, PageBreak())
                yield story
                done += 1
            if progress:
                progress(done, total)

    with force_locale(default_language):
        title = _("Household statements")
    return render_statements(parts(), title=f"{title} {scheme.code}", author=scheme.name, state=state)


def write_statement_run(
    session: Session,
    scheme: Scheme,
    run: StatementRun,
    *,
    languages: Sequence[str],
    default_language: str,
    today: date,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, bytes]:
    """(households printed, PDF) of ``run``: the job and the command line both call this. Raises
    StatementRunError when the run selects nobody."""
    ids = run_household_ids(session, scheme, run)
    if not ids:
        raise StatementRunError(N_("no household in this selection"))
    if progress:
        progress(0, len(ids))
    pdf = statements_pdf(
        session,
        scheme,
        ids,
        run,
        languages=languages,
        default_language=default_language,
        today=today,
        progress=progress,
    )
    return len(ids), pdf


# -- the background job ------------------------------------------------------------------------------------


def create_statement_job(session: Session, scheme: Scheme, run: StatementRun, *, actor, today: date) -> Job:
    """Record a run (flushed, not committed; sent to the job queue on commit) after checking it selects
    somebody. Finished runs and their PDFs are deleted after ``jobs.KEEP_FINISHED``."""
    total = len(run_household_ids(session, scheme, run))
    if total == 0:
        raise StatementRunError(N_("no household in this selection"))
    params = {"run": run.as_json(), "today": today.isoformat()}
    return jobs.create_job(session, STATEMENT_JOB, scheme=scheme, actor=actor, params=params, total=total)


@jobs.handler(STATEMENT_JOB)
def run_statement_job(session: Session, job: jobs.JobInfo, progress: jobs.Progress) -> dict:
    """The job: the run's PDF, kept as the job's file."""
    from flask import current_app

    scheme = session.get(Scheme, job.scheme_id)
    run = StatementRun.from_json(job.params["run"])
    config = current_app.config
    try:
        count, pdf = write_statement_run(
            session,
            scheme,
            run,
            languages=config["LANGUAGES"],
            default_language=config["BABEL_DEFAULT_LOCALE"],
            today=date.fromisoformat(job.params["today"]),
            progress=progress,
        )
    except StatementRunError as exc:
        raise jobs.JobFailed(NOBODY) from exc
    jobs.attach_file(session, job, pdf, name=f"statements-{scheme.code}-{job.id}.pdf")
    return {"households": count}
