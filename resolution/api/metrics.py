"""`GET /metrics` in Prometheus' text format.

The figures are read from the database when scraped, so every gunicorn worker (and any
number of copies of the service) answers the same: no per-process counters to merge.
"""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..service import webhooks
from .http import context

bp = Blueprint("metrics", __name__)


class WebhookCollector(Collector):
    """The delivery queue: what waits, for how long, what failed, what was given up on."""

    def collect(self):
        now = context().clock()
        figures = webhooks.queue_figures(now)
        pending = GaugeMetricFamily(
            "resolution_webhook_deliveries", "Webhook deliveries by status.", labels=["status"]
        )
        for status in (webhooks.PENDING, webhooks.DELIVERED, webhooks.DEAD):
            pending.add_metric([status], figures["by_status"].get(status, 0))
        yield pending
        yield GaugeMetricFamily(
            "resolution_webhook_oldest_pending_seconds",
            "Age of the oldest delivery not yet delivered (0 when none waits).",
            value=figures["oldest_pending_seconds"],
        )
        yield GaugeMetricFamily(
            "resolution_webhook_failing_deliveries",
            "Pending deliveries whose last attempt failed.",
            value=figures["failing"],
        )
        yield GaugeMetricFamily(
            "resolution_webhook_outbox",
            "Committed events not yet turned into deliveries.",
            value=figures["outbox"],
        )


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WebhookCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
