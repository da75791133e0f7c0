"""The web application: the API and the care console, composed on one Flask app."""

from __future__ import annotations

from flask import Flask

from .. import api, console, observability
from ..config import Config
from ..service.unit_of_work import Context, context_for
from ..store import database
from ..store import limits as limits_storage
from . import body_timeout, headers, i18n, limits, problems

MAX_BODY = 1024 * 1024  # 1 MiB: a complaint is text; files come through the evidence upload


def create_app(config: Config | None = None, *, context: Context | None = None) -> Flask:
    """Builds the app: reads the configuration once, connects the database, wires blueprints."""
    config = config or Config.from_env()
    if config.mongodb_uri is None:
        raise RuntimeError(
            "No database: set MONGODB_URI, or start with `resolution serve` (embedded database)."
        )
    app = Flask(__name__)
    app.config.update(
        RESOLUTION_JWT_SECRET=config.jwt_secret,
        RESOLUTION_TOKENS=config.tokens,
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    app.json.sort_keys = False  # keep the schemas' field order: id, order … allowed_actions
    database.connect(config.mongodb_uri, config.db_name)
    app.extensions["resolution.config"] = config
    app.extensions["resolution.context"] = context or context_for(config)
    problems.register(app)
    observability.init_app(app)
    i18n.init(app)
    headers.init_app(app)
    limits.init_app(app, config, limits_storage.storage_uri(config.mongodb_uri))
    api.register(app)
    console.init_app(app, config)
    app.wsgi_app = body_timeout.BodyDeadline(app.wsgi_app, config.body_timeout.total_seconds())
    return app
