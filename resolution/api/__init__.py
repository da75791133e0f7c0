"""The HTTP API (`/v1`, health, metrics): one blueprint per area."""

from __future__ import annotations

from flask import Flask

from . import audit, complaints, evidence, health, metrics, orders, report, spec, webhooks


def register(app: Flask) -> None:
    """Serves the API's blueprints on `app`."""
    for area in (health, spec, orders, complaints, evidence, audit, report, webhooks, metrics):
        app.register_blueprint(area.bp)
