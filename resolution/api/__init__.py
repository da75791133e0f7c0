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
    privacy,
    report,
    settlements,
    shops,
    spec,
    webhooks,
)


def register(app: Flask) -> None:
    """Serves the API's blueprints on `app`."""
    areas = (
        *(health, spec, orders, complaints, settlements, shops),
        *(evidence, audit, report, privacy, webhooks, metrics),
    )
    for area in areas:
        app.register_blueprint(area.bp)
