"""The HTTP API: a Flask application factory and its blueprints."""

from __future__ import annotations

from flask import Flask

from .. import console, i18n, observability, signing
from ..config import Config
from ..service import Context
from ..store import database
from . import (
    audit,
    complaints,
    deadline,
    evidence,
    headers,
    health,
    limits,
    metrics,
    problems,
    report,
    webhooks,
)

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
    app.extensions["resolution.context"] = context or Context(
        deadlines=config.deadlines,
        evidence_limits=config.evidence_limits,
        signing_key=signing.load(config.signing_key, config.data_dir),
        webhooks_allow_private=config.webhooks_allow_private,
    )
    problems.register(app)
    observability.init_app(app)
    i18n.init(app)
    headers.init_app(app)
    limits.init_app(app, config)
    app.register_blueprint(health.bp)
    app.register_blueprint(complaints.bp)
    app.register_blueprint(evidence.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(report.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(metrics.bp)
    console.init_app(app, config)
    app.wsgi_app = deadline.BodyDeadline(app.wsgi_app, config.body_timeout.total_seconds())
    return app
