"""Sign-in and accounts: login, logout, password change, language switch, and the administrator's list of
users (create, deactivate, reactivate — nothing is deleted).

A refused sign-in never says which part was wrong (an unknown e-mail, a wrong password and an inactive account
read the same), and ``next`` is followed only when it stays on this site. Failed sign-ins slow down the
(e-mail, address) that fails, never the account for everyone (``mhi/auth/throttle.py``); every signed-in
request needs its open session row (``mhi/auth/sessions.py``), and a session expires when idle
(``mhi/core/security.py``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from mhi.auth import bearer, queries, sessions, throttle
from mhi.auth.forms import (
    ROLE_LABELS,
    AddressForm,
    LanguageForm,
    LoginForm,
    PasswordForm,
    ResetPasswordForm,
    TokenForm,
    UserForm,
)
from mhi.auth.models import User
from mhi.auth.operations import DeactivationRefused, set_user_active, set_user_locale
from mhi.auth.services import AccountError, account_language, change_password, create_user, reset_password
from mhi.auth.tokens import MAX_DAYS, TokenError, create_token, revoke_tokens, today_utc, tokens_of
from mhi.core import security
from mhi.core.access import permission_required, public
from mhi.core.db import db
from mhi.core.errors import say
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
        known = request.cookies.get(throttle.KNOWN_COOKIE)
        attempt = throttle.authenticate(
            db.session,
            form.email.data,
            form.password.data,
            address=request.remote_addr or "",
            browser_sessions=throttle.browser_sessions(known),
        )
        if attempt.user is not None:
            session_id = sessions.sign_in(attempt.user)  # a session row, checked on every request
            db.session.commit()
            response = redirect(safe_next(form.next.data) or url_for("home.index"))
            throttle.remember_browser(response, known, session_id)  # this browser is known from now on
            return response
        db.session.commit()  # keeps the count of failures
        if attempt.wait:
            return _too_many_attempts(form, attempt.wait)
        # The same words for an unknown e-mail, a wrong password and an inactive account.
        error = WRONG_CREDENTIALS
    return render_template("auth/login.html", form=form, error=error)


def _too_many_attempts(form: LoginForm, wait: int):
    """The sign-in page again with 429: this e-mail must wait before trying again from here (no password was
    checked). The same answer for every e-mail, known or not."""
    minutes = max(1, -(-wait // 60))
    error = ngettext(
        "Too many failed sign-ins for this account from here. Try again in %(num)d minute, or from a browser "
        "you signed in with before.",
        "Too many failed sign-ins for this account from here. Try again in %(num)d minutes, or from a browser "
        "you signed in with before.",
        minutes,
    )
    form.password.data = ""
    response = make_response(render_template("auth/login.html", form=form, error=error), 429)
    response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/logout")
@permission_required("account")
def logout():
    """Sign out (a POST with its CSRF token, so no other site can sign a user out): the session row ends, so a
    copy of the cookie is dead too."""
    sessions.sign_out()
    db.session.commit()
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
            change_password(
                db.session, user, form.current.data, form.new.data, keep_session=sessions.current_session_id()
            )
        except AccountError:
            db.session.rollback()
            form.new.errors.append(_("The password could not be changed."))
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form, forced=user.must_change_password)


@bp.get("/account")
@permission_required("account")
def account():
    """One's own account: the sessions signed in now (each can be ended) and the recent security events."""
    user = current_user._get_current_object()
    return render_template(
        "auth/account.html",
        user=user,
        sessions=sessions.active_sessions(db.session, user),
        current_session=sessions.current_session_id(),
        events=queries.account_events(db.session, user),
        role_labels=ROLE_LABELS,
    )


@bp.post("/account/sessions/<int:session_id>/end")
@permission_required("account")
def session_end(session_id: int):
    """End one of one's own sessions (another browser); ending this one is signing out."""
    user = current_user._get_current_object()
    if session_id == sessions.current_session_id():
        return logout()
    if not sessions.revoke_session(db.session, user, session_id, actor=user):
        abort(404)
    db.session.commit()
    flash(_("That session is ended."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/end-others")
@permission_required("account")
def sessions_end_others():
    """Sign out every other browser of one's own account."""
    user = current_user._get_current_object()
    count = sessions.revoke_all_sessions(db.session, user, actor=user, keep=sessions.current_session_id())
    db.session.commit()
    flash(ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", count), "success")
    return redirect(url_for("auth.account"))


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
    from mhi.schemes.models import Federation, Provider, Scheme

    form = UserForm()
    if form.validate_on_submit():
        scheme = db.session.get(Scheme, form.scheme.data) if form.scheme.data else None
        federation = db.session.get(Federation, form.federation.data) if form.federation.data else None
        provider = db.session.get(Provider, form.provider.data) if form.provider.data else None
        locale = form.locale.data or account_language(
            db.session,
            scheme or (provider.scheme if provider else None),
            federation,
            current_app.config["LANGUAGES"],
            current_app.config["BABEL_DEFAULT_LOCALE"],
        )
        try:
            user = create_user(
                db.session,
                form.email.data,
                form.role.data,
                form.password.data,
                scheme=scheme,
                federation=federation,
                provider=provider,
                name=form.name.data or "",
                locale=locale,
                actor=current_user._get_current_object(),
            )
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(say(exc))
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


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@permission_required("admin")
def user_password(user_id: int):
    """An administrator gives an account a new password (a forgotten one), to be changed at its next sign-in."""
    user = db.session.get(User, user_id) or abort(404)
    form = ResetPasswordForm(user)
    if form.validate_on_submit():
        reset_password(db.session, user, form.password.data, actor=current_user._get_current_object())
        db.session.commit()
        flash(_("%(email)s has a new password, to be changed at the next sign-in.", email=user.email), "success")
        return redirect(url_for("auth.users"))
    return render_template("auth/reset.html", form=form, user=user)


@bp.post("/admin/users/<int:user_id>/sessions/end")
@permission_required("admin")
def user_sessions_end(user_id: int):
    """An administrator signs a user out everywhere (a lost phone, a shared computer left signed in)."""
    user = db.session.get(User, user_id) or abort(404)
    keep = sessions.current_session_id() if user.id == current_user.id else None
    count = sessions.revoke_all_sessions(db.session, user, actor=current_user._get_current_object(), keep=keep)
    db.session.commit()
    flash(
        ngettext(
            "%(num)d session of %(email)s ended.", "%(num)d sessions of %(email)s ended.", count, email=user.email
        ),
        "success",
    )
    return redirect(url_for("auth.users"))


@bp.get("/admin/sign-ins")
@permission_required("admin")
def throttles():
    """Who must wait before signing in again now: (e-mail, address) pairs after failed sign-ins, and addresses
    refused for failing on many accounts; each can be lifted."""
    pairs, addresses = throttle.current_throttles(db.session)
    return render_template("auth/throttles.html", pairs=pairs, addresses=addresses, lift_form=AddressForm())


@bp.post("/admin/sign-ins/<int:throttle_id>/lift")
@permission_required("admin")
def throttle_lift(throttle_id: int):
    """Let an (e-mail, address) pair try again at once (the person called: it was them)."""
    row = throttle.lift_throttle(db.session, throttle_id, actor=current_user._get_current_object()) or abort(404)
    db.session.commit()
    flash(_("%(email)s may sign in again from %(address)s.", email=row.email, address=row.address), "success")
    return redirect(url_for("auth.throttles"))


@bp.post("/admin/sign-ins/addresses/lift")
@permission_required("admin")
def address_lift():
    """Let an address try again at once, forgetting all its failures."""
    form = AddressForm()
    if not form.validate():
        abort(400)
    throttle.lift_address(db.session, form.address.data, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("Sign-ins from %(address)s are accepted again.", address=form.address.data), "success")
    return redirect(url_for("auth.throttles"))


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
    security.init_app(app)  # session expiry, proxies, the throttle's settings
    # Every request signed in by cookie needs its open session row; checked before the token hook, which asks
    # who is signed in. A token request carries no cookie sign-in: this check leaves it alone.
    app.before_request(sessions.check_session)
    bearer.init_app(app)  # API tokens (mhi/auth/bearer.py)
