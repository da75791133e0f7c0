"""`GET /metrics` in Prometheus' text format (see `resolution.observability`)."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..observability import DataCollector, registry
from ..web.http import context

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    shown = registry(DataCollector(context().clock()))
    return Response(generate_latest(shown), mimetype=CONTENT_TYPE_LATEST)
