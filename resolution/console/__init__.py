"""The care console: server-rendered pages under /console for the care team.

It calls the same service functions as the API (no rule lives here twice), signs agents in
with a pasted `care` token kept in an HttpOnly, SameSite=Lax session cookie (Secure and
`__Host-` except over plain http on a loopback address), and checks a CSRF token (Flask-WTF)
on every form. Nothing is fetched from the internet: the few static files are
in `static/`.
"""

from __future__ import annotations

from flask import Flask, Response, render_template
from flask_limiter import RateLimitExceeded

from ..config import Config
from . import actions, pages, privacy, signin  # noqa: F401  (they add their routes to the blueprint)
from .blueprint import bp


@bp.errorhandler(RateLimitExceeded)
def _too_many(error: RateLimitExceeded) -> Response | tuple[str, int]:
    """A page in the console's words, with the same `Retry-After` as the API's problem."""
    if error.response is None:
        return render_template("console/error.html", message=error.description, status=429), 429
    detail = error.response.get_json()["detail"]
    page = render_template("console/error.html", message=detail, status=429)
    return Response(page, 429, {"Retry-After": error.response.headers["Retry-After"]})


def init_app(app: Flask, config: Config) -> None:
    """Sets up the session cookie and CSRF protection, and serves the console's pages."""
    signin.init_session(app, config)
    app.register_blueprint(bp)
