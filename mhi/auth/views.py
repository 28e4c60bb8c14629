"""Sign-in and accounts: login, logout, password change, language switch, and the administrator's list of
users (create, deactivate, reactivate — nothing is deleted).

A refused sign-in never says which part was wrong (an unknown e-mail, a wrong password, an inactive and a locked
account read the same), and ``next`` is followed only when it stays on this site. Failed sign-ins are limited
per address and per account, and a session expires when idle (``mhi/core/security.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mhi.auth import bearer
from mhi.auth.forms import ROLE_LABELS, LanguageForm, LoginForm, PasswordForm, TokenForm, UserForm
from mhi.auth.models import User
from mhi.auth.operations import DeactivationRefused, authenticate, set_user_active, set_user_locale
from mhi.auth.services import AccountError, change_password, create_user
from mhi.auth.tokens import MAX_DAYS, TokenError, create_token, revoke_tokens, today_utc, tokens_of
from mhi.core import security
from mhi.core.access import permission_required, public
from mhi.core.db import db
from mhi.core.web import login_manager

bp = Blueprint("auth", __name__)

WRONG_CREDENTIALS = _l("Wrong e-mail or password.")


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in user of the session; a deactivated account is signed out at its next request."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def safe_next(target: str | None) -> str | None:
    """``target`` as a path on this site, or None when it would lead elsewhere (an open redirect)."""
    if not target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        # An absolute URL (the Referer header) is accepted only when it names this very host.
        if parts.scheme not in ("http", "https") or parts.netloc != request.host:
            return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with e-mail and password."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if not form.is_submitted():
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        user = authenticate(db.session, form.email.data, form.password.data)
        db.session.commit()  # keeps the count of failures (the lockout) as well as its reset
        if user is not None:
            login_user(user)
            session.permanent = True
            security.start_session()  # idle and absolute expiry (mhi/core/security.py)
            return redirect(safe_next(form.next.data) or url_for("home.index"))
        # The same words for an unknown e-mail, a wrong password, an inactive and a locked account.
        error = WRONG_CREDENTIALS
    return render_template("auth/login.html", form=form, error=error)


@bp.post("/logout")
@permission_required("account")
def logout():
    """Sign out (a POST with its CSRF token, so no other site can sign a user out)."""
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@permission_required("account")
def password():
    """Change one's own password."""
    user = current_user._get_current_object()
    form = PasswordForm(user)
    if form.validate_on_submit():
        try:
            change_password(db.session, user, form.current.data, form.new.data)
        except AccountError:
            db.session.rollback()
            form.new.errors.append(_("The password could not be changed."))
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form)


@bp.post("/language")
@public
def language():
    """Switch the language; remembered in the session and, when signed in, on the account."""
    form = LanguageForm()
    if not form.validate():
        abort(400)
    session["lang"] = form.lang.data
    if current_user.is_authenticated:
        set_user_locale(db.session, current_user._get_current_object(), form.lang.data)
        db.session.commit()
    return redirect(safe_next(form.next.data) or safe_next(request.referrer) or url_for("home.index"))


@bp.get("/admin/users")
@permission_required("admin")
def users():
    """Every account, with its role, scheme or federation, and whether it may sign in."""
    items = db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    return render_template("auth/index.html", users=items, role_labels=ROLE_LABELS)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@permission_required("admin")
def user_new():
    """An administrator creates an account."""
    from mhi.schemes.models import Federation, Scheme

    form = UserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                db.session,
                form.email.data,
                form.role.data,
                form.password.data,
                scheme=db.session.get(Scheme, form.scheme.data) if form.scheme.data else None,
                federation=db.session.get(Federation, form.federation.data) if form.federation.data else None,
                name=form.name.data or "",
                locale=form.locale.data,
                actor=current_user._get_current_object(),
            )
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/form.html", form=form)


@bp.post("/admin/users/<int:user_id>/deactivate")
@permission_required("admin")
def user_deactivate(user_id: int):
    """Stop an account from signing in (its records and audit trail stay)."""
    return _set_active(user_id, False)


@bp.post("/admin/users/<int:user_id>/reactivate")
@permission_required("admin")
def user_reactivate(user_id: int):
    """Let a deactivated account sign in again."""
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    """Deactivate or reactivate, then back to the list."""
    user = db.session.get(User, user_id) or abort(404)
    try:
        set_user_active(db.session, user, active, actor=current_user._get_current_object())
    except DeactivationRefused as exc:
        db.session.rollback()
        message = (
            _("You cannot deactivate your own account.")
            if exc.reason == "self"
            else _("The last active administrator cannot be deactivated.")
        )
        flash(message, "error")
    else:
        db.session.commit()
        flash(
            _("%(email)s can sign in again.", email=user.email)
            if active
            else _("%(email)s can no longer sign in.", email=user.email),
            "success",
        )
    return redirect(url_for("auth.users"))


TOKEN_REFUSALS = {
    "inactive": _l("This account is deactivated."),
    "expiry_past": _l("The last day cannot be in the past."),
    "expiry_too_far": _l("A token lasts at most %(days)s days.", days=MAX_DAYS),
}


@bp.route("/account/tokens", methods=["GET", "POST"])
@permission_required("account")
def tokens():
    """One's API tokens: make one (its secret is shown on this answer only), see them, revoke them all."""
    user = current_user._get_current_object()
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            _token, secret = create_token(db.session, user, expires_on=form.expires_on.data, actor=user)
        except TokenError as exc:
            db.session.rollback()
            form.expires_on.errors.append(str(TOKEN_REFUSALS[exc.message_id]))
        else:
            db.session.commit()
    return render_template(
        "auth/tokens.html",
        form=form,
        secret=secret,
        tokens=tokens_of(db.session, user),
        today=today_utc(),
    )


@bp.post("/account/tokens/revoke")
@permission_required("account")
def tokens_revoke():
    """Revoke every token of one's account (a program using one gets 401 from now on)."""
    user = current_user._get_current_object()
    if not FlaskForm().validate_on_submit():  # an empty form: its CSRF token
        abort(400)
    count = revoke_tokens(db.session, user, actor=user)
    db.session.commit()
    flash(_("%(count)s token(s) revoked.", count=count), "success")
    return redirect(url_for("auth.tokens"))


def init_app(app) -> None:
    """Register the blueprint; the sign-in prompt is said in the user's language."""
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # flash() stores the message in the session cookie: translate the lazy string to text first.
    login_manager.localize_callback = str
    app.register_blueprint(bp)
    security.init_app(app)  # rate limits on the sign-in view, session expiry
    bearer.init_app(app)  # API tokens (mhi/auth/bearer.py)
