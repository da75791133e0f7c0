"""Signing in to the console: a pasted `care` token becomes a session; every request checks it.

The session cookie is signed with a key derived from `RESOLUTION_JWT_SECRET` (one secret to
configure; rotating it signs everyone out of the console as it invalidates every token). It
holds the agent's id and when the sign-in ends (the token's expiry, or 12 hours, whichever is
first), never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import timedelta
from urllib.parse import urlsplit

import jwt
from flask import (
    Flask,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..config import Config
from ..domain.actors import Actor, Role
from ..web.auth import Unauthorized, actor_from_header
from ..web.i18n import LANGUAGE_COOKIE, LANGUAGES
from .blueprint import bp
from .forms import SignInForm, SignOutForm

SIGN_IN_LASTS = timedelta(hours=12)
csrf = CSRFProtect()
# Pages anyone may open: the sign-in form and the console's static files.
_OPEN = {"console.login", "console.static"}


def session_key(jwt_secret: str) -> str:
    """The session cookie's signing key: derived from the token secret, never equal to it."""
    return hmac.new(jwt_secret.encode(), b"resolution console session", hashlib.sha256).hexdigest()


SESSION_COOKIE = "resolution_console"
# `__Host-`: only ever set over HTTPS, by this host, for the whole site (Path=/), never by a
# sibling subdomain (RFC 6265bis 4.1.3.2), so nobody can plant a session of their own.
SECURE_SESSION_COOKIE = f"__Host-{SESSION_COOKIE}"
_LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}


def secure_cookies() -> bool:
    """Whether this request's cookies are `Secure` (and the session `__Host-`).

    `RESOLUTION_CONSOLE_SECURE_COOKIE` decides (1 always, 0 never); by default (auto) they
    are, unless the console is reached over plain http at a loopback address: `make run` on
    http://127.0.0.1:8000. Behind a proxy that ends TLS, the request arrives as plain http
    but names the public host, so its cookies are Secure.
    """
    setting = current_app.extensions["resolution.config"].console_secure_cookie
    if setting is not None:
        return setting
    if request.is_secure:
        return True
    host = request.host.lower()
    host = host[: host.index("]") + 1] if host.startswith("[") else host.partition(":")[0]
    return not (host in _LOOPBACK or host.endswith(".localhost"))


class _SessionInterface(SecureCookieSessionInterface):
    def get_cookie_name(self, app: Flask) -> str:
        return SECURE_SESSION_COOKIE if secure_cookies() else SESSION_COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        return "/" if secure_cookies() else "/console"  # `__Host-` requires Path=/

    def get_cookie_secure(self, app: Flask) -> bool:
        return secure_cookies()


def init_session(app: Flask, config: Config) -> None:
    app.secret_key = session_key(config.jwt_secret)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        # Lax, not Strict: a link to a case (in a chat, an e-mail) opens it signed in. Forms
        # are protected by their CSRF token, not by the cookie's SameSite.
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SIGN_IN_LASTS,
        # The API authenticates with bearer tokens (no cookies): only console forms are checked.
        WTF_CSRF_CHECK_DEFAULT=False,
        # A form stays valid as long as the sign-in does: an agent may read a case for an hour.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)


def agent() -> Actor:
    """The signed-in care agent of this request."""
    return g.agent


def _signed_in() -> Actor | None:
    agent_id, ends = session.get("agent"), session.get("ends")
    if not isinstance(agent_id, str) or not isinstance(ends, int | float) or ends <= time.time():
        return None
    return Actor(Role.CARE, agent_id)


@bp.before_request
def _require_agent() -> Response | None:
    csrf.protect()  # POST only: every console form carries the token
    if request.endpoint in _OPEN:
        return None
    signed_in = _signed_in()
    if signed_in is None:
        session.clear()
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    g.agent = signed_in
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    lang = request.args.get("lang")
    if lang in LANGUAGES:  # the agent switched language: remember it
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=secure_cookies(),
        )
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; media-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.vary.add("Cookie")
    return response


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    message = _(
        "This form has no valid security token (it may come from another site, or from before "
        "you signed in again). Nothing was changed: reload the page and try again."
    )
    return render_template("console/error.html", message=message, status=400), 400


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    if target and target.startswith("/console/") and not urlsplit(target).netloc:
        if "\\" not in target and not target.startswith("/console//"):
            return target
    return url_for("console.queue")


# What a token that is not care's is, in the reader's language, with its article.
TOKEN_KINDS = {
    Role.BUYER: _l("a buyer's token"),
    Role.SELLER: _l("a seller's token"),
    Role.AUDITOR: _l("an auditor's token"),
    Role.INTEGRATION: _l("a marketplace back end's token"),
}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = SignInForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("console/login.html", form=form), status
    token = (form.token.data or "").strip().removeprefix("Bearer ").strip()
    policy = current_app.config["RESOLUTION_TOKENS"]
    try:
        actor = actor_from_header(f"Bearer {token}", policy)
    except Unauthorized as refused:
        form.token.errors = [_("This token cannot be used: %(why)s", why=refused.detail)]
        return render_template("console/login.html", form=form), 401
    if actor.role is not Role.CARE:
        kind = TOKEN_KINDS.get(actor.role, str(actor.role))
        return render_template("console/refused.html", kind=kind, who=actor.id), 403
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    session.clear()
    session.permanent = True
    session["agent"] = actor.id
    session["ends"] = min(int(expires), int(time.time() + SIGN_IN_LASTS.total_seconds()))
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout() -> Response:
    SignOutForm()  # the CSRF token was checked before the view
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("console.login"))
