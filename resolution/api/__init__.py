"""The HTTP API (`/v1`, health, metrics): one blueprint per area."""

from __future__ import annotations

from flask import Flask

from . import (
    audit,
    complaints,
    evidence,
    health,
    metrics,
    orders,
    report,
    settlements,
    spec,
    webhooks,
)


def register(app: Flask) -> None:
    """Serves the API's blueprints on `app`."""
    areas = (health, spec, orders, complaints, settlements, evidence, audit, report, webhooks)
    for area in (*areas, metrics):
        app.register_blueprint(area.bp)
