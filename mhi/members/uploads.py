"""The web upload of an import file (CSV or XLSX): keep the file server-side, preview what it would add and every
error (a dry run of the same import function as the command line), then write all or nothing on confirmation.

The uploaded file is stored in the instance folder under a random name — the client's file name is never used
for a path — and the token is remembered in the signed session, so only the user who uploaded it can confirm it,
for the scheme and the kind it was uploaded for.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, session

from mhi.core.files import new_private_file, private_folder
from mhi.core.tabular import ImportResult, lock_scheme_for_import, read_table
from mhi.core.validation import InputRejected

_SESSION_KEY = "uploads"


def _folder() -> Path:
    """instance/uploads, created on first use, readable by the application's user only (``0700``)."""
    return private_folder(Path(current_app.instance_path) / "uploads")


def keep_upload(storage, kind: str, scheme_id: int) -> tuple[str, str]:
    """Store an uploaded file (werkzeug FileStorage); returns (token, extension)."""
    extension = "xlsx" if (storage.filename or "").lower().endswith(".xlsx") else "csv"
    token = secrets.token_hex(16)
    storage.save(str(new_private_file(_folder() / f"{token}.{extension}")))  # 0600 before a byte is written
    uploads = dict(session.get(_SESSION_KEY, {}))
    uploads[token] = {"kind": kind, "scheme": scheme_id, "ext": extension, "name": (storage.filename or "")[-80:]}
    session[_SESSION_KEY] = uploads
    return token, extension


def kept_upload(token: str, kind: str, scheme_id: int) -> tuple[Path, str] | None:
    """The stored file of ``token`` (and its original name) if this user uploaded it for this scheme and kind."""
    entry = session.get(_SESSION_KEY, {}).get(token)
    if not entry or entry["kind"] != kind or entry["scheme"] != scheme_id or not token.isalnum():
        return None
    path = _folder() / f"{token}.{entry['ext']}"
    return (path, entry["name"]) if path.is_file() else None


def forget_upload(token: str) -> None:
    """Delete the stored file and its token."""
    uploads = dict(session.get(_SESSION_KEY, {}))
    entry = uploads.pop(token, None)
    session[_SESSION_KEY] = uploads
    if entry and token.isalnum():
        (_folder() / f"{token}.{entry['ext']}").unlink(missing_ok=True)


def run_upload(db_session, scheme, importer, path: Path, name: str, *, dry_run: bool, actor) -> ImportResult:
    """Read the stored file and run the import (a dry run for the preview); problems are in the result."""
    if not dry_run:
        lock_scheme_for_import(db_session, scheme)
    try:
        table = read_table(path.read_bytes(), name or path.name)
    except InputRejected as exc:
        result = ImportResult(importer.__name__.removeprefix("import_"))
        result.problems = exc.problems
        return result
    return importer(db_session, scheme, table.header, table.rows, dry_run=dry_run, actor=actor, file=name)


def upload_page(scheme, kind: str, importer, title: str):
    """GET: the upload form. POST: keep the file, dry-run the import, show its rows and errors with a confirm
    button (only when there is no error and something to add)."""
    from flask_login import current_user

    from mhi.core.db import db
    from mhi.members.forms import ConfirmForm, UploadForm

    form = UploadForm()
    result = token = None
    if form.validate_on_submit():
        token, _extension = keep_upload(form.file.data, kind, scheme.id)
        path, name = kept_upload(token, kind, scheme.id)
        result = run_upload(db.session, scheme, importer, path, name, dry_run=True, actor=current_user)
        db.session.rollback()
        if not result.ok or not result.added:
            forget_upload(token)
            token = None
    return render_template(
        "members/upload.html",
        scheme=scheme,
        kind=kind,
        title=title,
        form=form,
        result=result,
        confirm=ConfirmForm(token=token) if token else None,
    )


def confirm_upload(scheme, kind: str, importer, done_url: str):
    """POST: import the kept file for real — all or nothing — then forget it."""
    from flask_babel import gettext as _
    from flask_login import current_user

    from mhi.core.db import db
    from mhi.members.forms import ConfirmForm

    form = ConfirmForm()
    kept = kept_upload(form.token.data or "", kind, scheme.id) if form.validate_on_submit() else None
    if kept is None:
        flash(_("That upload has expired: send the file again."), "error")
        return redirect(request.url.rsplit("/confirm", 1)[0])
    result = run_upload(db.session, scheme, importer, *kept, dry_run=False, actor=current_user)
    if not result.ok:
        db.session.rollback()
        flash(_("The file was not imported: %(n)d problem(s). Nothing was written.", n=len(result.problems)), "error")
        return redirect(request.url.rsplit("/confirm", 1)[0])
    db.session.commit()
    forget_upload(form.token.data)
    flash(
        _(
            "%(kind)s: %(added)d added, %(unchanged)d unchanged.",
            kind=kind,
            added=result.added,
            unchanged=result.unchanged,
        ),
        "success",
    )
    return redirect(done_url)


def add_upload_routes(bp, *, kind: str, importer, title, permission: str, done_endpoint: str) -> None:
    """Give ``bp`` the two pages of one import file's upload, as ``<bp>.upload`` and ``<bp>.upload_confirm``:
    ``/schemes/<code>/imports/<kind>`` (the upload form and its preview) and ``…/confirm`` (the real import).

    ``title`` is a function giving the page title in the request's language; ``done_endpoint`` the page shown
    after a successful import. Every import file goes through the same flow, so it is written once.
    """
    from flask import url_for

    from mhi.core.access import permission_required, scheme_or_404

    @bp.route(f"/schemes/<code>/imports/{kind}", methods=["GET", "POST"], endpoint="upload")
    @permission_required(permission)
    def upload(code: str):
        """Upload the file (CSV or XLSX): preview rows and errors, then confirm."""
        return upload_page(scheme_or_404(code), kind, importer, title())

    @bp.post(f"/schemes/<code>/imports/{kind}/confirm", endpoint="upload_confirm")
    @permission_required(permission)
    def upload_confirm(code: str):
        """Import the previewed file: all or nothing."""
        return confirm_upload(scheme_or_404(code), kind, importer, url_for(done_endpoint, code=code))
