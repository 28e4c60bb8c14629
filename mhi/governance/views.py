"""The governance register's screens: a scheme's meetings, recording one, and one meeting with its resolutions.

Only the scheme's managers record (``governance.write``); managers, auditors and federation reviewers read.
Another scheme's meetings answer 404 (core/access.py).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from mhi.core import clock
from mhi.core.access import permission_required
from mhi.core.db import db
from mhi.governance import services
from mhi.governance.forms import MeetingForm, kind_labels
from mhi.governance.models import Meeting
from mhi.schemes.access import scheme_or_404

bp = Blueprint("governance", __name__)


@bp.get("/schemes/<code>/meetings")
@permission_required("governance.read")
def index(code: str):
    """The scheme's general assemblies and board meetings, the latest first."""
    scheme = scheme_or_404(code)
    return render_template(
        "governance/index.html",
        scheme=scheme,
        meetings=services.meetings_of(db.session, scheme.id),
        kinds=kind_labels(),
        share=services.quorum_share(scheme),
    )


@bp.route("/schemes/<code>/meetings/new", methods=["GET", "POST"])
@permission_required("governance.write")
def new(code: str):
    """Record a meeting as it was held: attendance, and each resolution with its votes."""
    scheme = scheme_or_404(code)
    form = MeetingForm()
    if form.validate_on_submit():
        if form.add_resolution.data:
            form.resolutions.append_entry()
        else:
            votes = [
                services.Vote(
                    row.text.data or "",
                    row.votes_for.data or 0,
                    row.votes_against.data or 0,
                    row.votes_abstain.data or 0,
                )
                for row in form.resolutions
                if (row.text.data or "").strip()
            ]
            try:
                meeting = services.record_meeting(
                    db.session,
                    scheme,
                    kind=form.kind.data,
                    held_on=form.held_on.data,
                    members_entitled=form.members_entitled.data,
                    attendance=form.attendance.data,
                    votes=votes,
                    place=form.place.data or "",
                    notes=form.notes.data or "",
                    today=clock.today(),
                    actor=current_user,
                )
            except services.GovernanceError as exc:
                db.session.rollback()
                form.form_errors.append(exc.translated())
            else:
                db.session.commit()
                flash(_("The meeting is recorded."), "success")
                return redirect(url_for("governance.detail", code=scheme.code, meeting_id=meeting.id))
    return render_template("governance/form.html", scheme=scheme, form=form, share=services.quorum_share(scheme))


@bp.get("/schemes/<code>/meetings/<int:meeting_id>")
@permission_required("governance.read")
def detail(code: str, meeting_id: int):
    """One meeting: attendance, quorum and its resolutions with the votes."""
    scheme = scheme_or_404(code)
    meeting = db.session.scalar(select(Meeting).where(Meeting.id == meeting_id, Meeting.scheme_id == scheme.id))
    if meeting is None:
        abort(404)
    return render_template("governance/detail.html", scheme=scheme, meeting=meeting, kinds=kind_labels())


def init_app(app) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
