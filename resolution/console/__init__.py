"""The care console: server-rendered pages under /console for the care team.

It calls the same service functions as the API (no rule lives here twice), signs agents in
with a pasted `care` token kept in an HttpOnly, SameSite=Lax session cookie, and checks a CSRF
token (Flask-WTF) on every form. Nothing is fetched from the internet: the few static files are
in `static/`.
"""

from __future__ import annotations

from flask import Flask

from ..config import Config
from . import actions, pages, signin  # noqa: F401  (they add their routes to the blueprint)
from .blueprint import bp


def init_app(app: Flask, config: Config) -> None:
    """Sets up the session cookie and CSRF protection, and serves the console's pages."""
    signin.init_session(app, config)
    app.register_blueprint(bp)
