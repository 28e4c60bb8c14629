"""The web upload of an import file (CSV or XLSX): a preview in the request, the real import as a background job.

1. The file is read (bounded: ``mhi.core.tabular``) and dry-run by the same import function as the command line;
   the page shows what it would add and every error. A file with rows to add and no error is kept in the shared
   storage (``mhi.core.storage``: the database or MHI_STORAGE_DIR, never the session cookie or one machine's
   disk), for this user, scheme and kind, for ``UPLOAD_TTL``; its random token goes in the confirm form.
2. Confirming hands the kept file to a new import job in one conditional UPDATE (``consume_upload``): a double
   or triple click imports once — the later clicks find the file taken and are sent to the same job's page.
3. The job (kind ``import.<kind>``) runs the import for real, all or nothing, in a queue worker (not inside a
   web worker's timeout); its page shows the rows checked so far, then the counts or the problems.

The command-line imports stay synchronous (``mhi.core.tabular.run_import_command``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select, update

from mhi.core import jobs
from mhi.core.jobs import Job
from mhi.core.storage import StoredFile, empty_files, purge_expired, put_file, read_file, utcnow
from mhi.core.tabular import ImportResult, lock_scheme_for_import, read_table
from mhi.core.validation import InputRejected, Problem

#: A previewed file not confirmed within this time is deleted (it holds personal data).
UPLOAD_TTL = timedelta(hours=1)
#: The job's error message id when the file has problems at the time of the real import.
PROBLEMS = "import.problems"
#: The job's error message id when the file has likely duplicates nobody confirmed as different people.
DUPLICATES = "import.duplicates"
#: The job's error message id when its file is gone.
FILE_GONE = "import.file_gone"
#: Problems kept on a failed job for its page (the count covers them all).
KEEP_PROBLEMS = 500


def job_kind(kind: str) -> str:
    """The job kind of an upload kind: ``import.members``, ``import.contributions``…"""
    return f"import.{kind}"


def keep_upload(session, data: bytes, name: str, kind: str, scheme, actor) -> StoredFile:
    """Keep a previewed file in the shared storage for ``UPLOAD_TTL`` (flushed); expired ones go on the way."""
    purge_expired(session)
    return put_file(
        session,
        data,
        name=name,
        purpose=f"upload:{kind}",
        scheme_id=scheme.id,
        owner_id=actor.id,
        expires_in=UPLOAD_TTL,
    )


def confirms_duplicates(importer) -> bool:
    """Whether ``importer`` warns about likely duplicates and takes the user's confirmation (members.csv)."""
    return "allow_duplicates" in inspect.signature(importer).parameters


def consume_upload(
    session, token: str, kind: str, scheme, actor, *, importer_options: dict | None = None
) -> Job | None:
    """Hand the kept file ``token`` to a new import job (flushed; the caller's commit sends it), or None when
    this user has no unclaimed upload of that token for this scheme and kind — then the caller rolls back
    (an earlier confirmation took it: ``upload_job_of``; or it expired, was deleted, or is forged)."""
    job = jobs.create_job(
        session, job_kind(kind), scheme=scheme, actor=actor, params={"importer_options": importer_options or {}}
    )
    # The one atomic step: only the first confirmation finds the file unclaimed (PostgreSQL makes the others
    # wait for its commit, then re-reads the row; SQLite has one writer at a time).
    taken = session.execute(
        update(StoredFile)
        .where(
            StoredFile.token == token,
            StoredFile.purpose == f"upload:{kind}",
            StoredFile.scheme_id == scheme.id,
            StoredFile.owner_id == actor.id,
            StoredFile.job_id.is_(None),
            StoredFile.expires_at > utcnow(),
        )
        .values(job_id=job.id, purpose="input", expires_at=utcnow() + jobs.KEEP_FINISHED + timedelta(days=1))
        .execution_options(synchronize_session=False)
    ).rowcount
    return job if taken == 1 else None


def upload_job_of(session, token: str, kind: str, scheme, actor) -> Job | None:
    """The import job this user's upload ``token`` was handed to, if any."""
    return session.scalar(
        select(Job)
        .join(StoredFile, StoredFile.job_id == Job.id)
        .where(
            StoredFile.token == token,
            StoredFile.scheme_id == scheme.id,
            StoredFile.owner_id == actor.id,
            Job.kind == job_kind(kind),
        )
    )


class _CountedRows(list):
    """The file's rows, telling ``progress`` how many the import has gone through (every 500)."""

    def __init__(self, rows, progress: Callable[[int], None]):
        super().__init__(rows)
        self._progress = progress

    def __iter__(self) -> Iterator:
        for number, row in enumerate(super().__iter__()):
            if number % 500 == 0:
                self._progress(number)
            yield row
        self._progress(len(self))


def run_upload(
    db_session, scheme, importer, data: bytes, name: str, *, dry_run: bool, actor, progress=None, options=None
) -> ImportResult:
    """Read the file and run the import (a dry run for the preview); problems are in the result. ``options``
    are the importer's own keywords (``allow_duplicates`` for members.csv)."""
    if not dry_run:
        lock_scheme_for_import(db_session, scheme)
    try:
        table = read_table(data, name or "file")
    except InputRejected as exc:
        result = ImportResult(importer.__name__.removeprefix("import_"))
        result.problems = exc.problems
        return result
    rows = table.rows
    if progress is not None:
        rows = _CountedRows(rows, lambda done: progress(done, len(table.rows)))
        progress(0, len(table.rows))
    return importer(db_session, scheme, table.header, rows, dry_run=dry_run, actor=actor, file=name, **(options or {}))


def register_import_job(kind: str, importer) -> None:
    """The job that imports a confirmed upload of ``kind`` with ``importer``."""

    @jobs.handler(job_kind(kind))
    def run_import(session, job: jobs.JobInfo, progress: jobs.Progress) -> dict:
        from mhi.auth.models import User
        from mhi.schemes.models import Scheme

        stored = session.scalar(select(StoredFile).where(StoredFile.job_id == job.id, StoredFile.purpose == "input"))
        if stored is None:  # deleted by hand, or MHI_STORAGE_DIR not mounted here: nothing to import
            raise jobs.JobFailed(FILE_GONE)
        scheme = session.get(Scheme, job.scheme_id)
        actor = session.get(User, job.created_by_id) if job.created_by_id else None
        result = run_upload(
            session,
            scheme,
            importer,
            read_file(stored),
            stored.name,
            dry_run=False,
            actor=actor,
            progress=progress,
            options=job.params.get("importer_options") or {},
        )
        if not result.ok:  # the register changed since the preview: nothing is written
            raise jobs.JobFailed(
                PROBLEMS, count=len(result.problems), problems=[_kept(p) for p in result.problems[:KEEP_PROBLEMS]]
            )
        if result.duplicates and not result.written:  # not confirmed as different people: nothing is written
            raise jobs.JobFailed(
                DUPLICATES,
                count=len(result.duplicates),
                duplicates=[asdict(d) for d in result.duplicates[:KEEP_PROBLEMS]],
            )
        # Imported: the copy of the file has done its work (its row stays, so a late click finds this job).
        empty_files(session, StoredFile.id == stored.id)
        return {"added": result.added, "unchanged": result.unchanged}


def upload_page(scheme, kind: str, importer, title: str):
    """GET: the upload form. POST: dry-run the file, show its rows and errors with a confirm button (only when
    there is no error and something to add), keeping the file for the confirmation."""
    from flask_login import current_user

    from mhi.core.db import db
    from mhi.members.forms import ConfirmForm, UploadForm

    form = UploadForm()
    result = token = None
    if form.validate_on_submit():
        name = (form.file.data.filename or "")[-200:]
        data = form.file.data.read()
        result = run_upload(db.session, scheme, importer, data, name, dry_run=True, actor=current_user)
        db.session.rollback()
        if result.ok and result.added:
            token = keep_upload(db.session, data, name, kind, scheme, current_user).token
            db.session.commit()
    confirm = None
    if token:
        confirm = ConfirmForm(token=token)
        if not result.duplicates:
            del confirm.different_people
    return render_template(
        "members/upload.html", scheme=scheme, kind=kind, title=title, form=form, result=result, confirm=confirm
    )


def confirm_upload(scheme, kind: str, endpoint: str, importer=None):
    """POST: hand the kept file to an import job (once, however many clicks), then show the job's page. For an
    importer that warns about duplicates, the job imports them only if the user ticked "these are different
    people" (otherwise it fails listing them, having written nothing)."""
    from flask_babel import gettext as _
    from flask_login import current_user

    from mhi.core.db import db
    from mhi.members.forms import ConfirmForm

    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("That upload has expired: send the file again."), "error")
        return redirect(request.url.rsplit("/confirm", 1)[0])
    options = {}
    if importer is not None and confirms_duplicates(importer):
        options["allow_duplicates"] = bool(form.different_people.data)
    job = consume_upload(db.session, form.token.data, kind, scheme, current_user, importer_options=options)
    if job is not None:
        db.session.commit()  # sends the job to the queue
        return redirect(url_for(endpoint, code=scheme.code, job_id=job.id))
    db.session.rollback()
    earlier = upload_job_of(db.session, form.token.data, kind, scheme, current_user)
    if earlier is None:
        flash(_("That upload has expired: send the file again."), "error")
        return redirect(request.url.rsplit("/confirm", 1)[0])
    flash(_("This file is already being imported: here is its progress."), "info")
    return redirect(url_for(endpoint, code=scheme.code, job_id=earlier.id))


def _kept(problem: Problem) -> dict:
    """A problem as the job keeps it (JSON): its message id, parameters as text, and where; said in the reader's
    language when the job's page shows it (``_shown``)."""
    params = {key: str(value) for key, value in (problem.params or {}).items()} or None
    return {"message": problem.message, "params": params, "row": problem.row, "column": problem.column,
            "file": problem.file}  # fmt: skip


def _shown(kept) -> str:
    """A kept problem in the request's language (a plain text, from a job kept before, as it is)."""
    if isinstance(kept, dict):
        return Problem(**kept).translated()
    return str(kept)


def job_page(scheme, kind: str, job_id: int, title: str, done_url: str, poll: int = 2):
    """The import job's progress, then its counts or its problems; reloads itself until it has finished."""
    from flask import Response, abort

    from mhi.schemes.access import in_scope_or_404

    job = in_scope_or_404(Job, job_id)
    if job.scheme_id != scheme.id or job.kind != job_kind(kind):
        abort(404)
    response = Response(
        render_template(
            "members/upload_job.html",
            scheme=scheme,
            kind=kind,
            title=title,
            job=job,
            problems=PROBLEMS,
            duplicates=DUPLICATES,
            shown=_shown,
            done_url=done_url,
            poll=poll,
        )
    )
    if not job.finished:
        response.headers["Refresh"] = str(poll)
    return response


def add_upload_routes(
    bp, *, kind: str, importer, title, permission: str, done_endpoint: str, endpoint: str = "upload"
) -> None:
    """Give ``bp`` the three pages of one import file's upload, as ``<bp>.<endpoint>``, ``<bp>.<endpoint>_confirm``
    and ``<bp>.<endpoint>_job`` (``upload`` unless a blueprint has several): ``/schemes/<code>/imports/<kind>`` (the upload form and its preview), ``…/confirm``
    (starts the import job) and ``…/jobs/<job_id>`` (its progress and outcome). Registers the job kind.

    ``title`` is a function giving the page title in the request's language; ``done_endpoint`` the page linked
    once the import is done. Every import file goes through the same flow, so it is written once.
    """
    from mhi.core.access import permission_required
    from mhi.schemes.access import scheme_or_404

    register_import_job(kind, importer)

    @bp.route(f"/schemes/<code>/imports/{kind}", methods=["GET", "POST"], endpoint=endpoint)
    @permission_required(permission)
    def upload(code: str):
        """Upload the file (CSV or XLSX): preview rows and errors, then confirm."""
        return upload_page(scheme_or_404(code), kind, importer, title())

    @bp.post(f"/schemes/<code>/imports/{kind}/confirm", endpoint=f"{endpoint}_confirm")
    @permission_required(permission)
    def upload_confirm(code: str):
        """Start the import of the previewed file: all or nothing, once."""
        return confirm_upload(scheme_or_404(code), kind, f"{bp.name}.{endpoint}_job", importer)

    @bp.get(f"/schemes/<code>/imports/{kind}/jobs/<int:job_id>", endpoint=f"{endpoint}_job")
    @permission_required(permission)
    def upload_job(code: str, job_id: int):
        """The import's progress, then what it added or why it wrote nothing."""
        return job_page(scheme_or_404(code), kind, job_id, title(), url_for(done_endpoint, code=code))
