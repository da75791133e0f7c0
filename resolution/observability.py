"""What operators see: Prometheus metrics, JSON logs, a request id on every request.

Counters and histograms are per process. Under gunicorn (several workers) and beside it the
sweeper and the deliverer, `resolution serve` points `PROMETHEUS_MULTIPROC_DIR` at a fresh
directory before any of them starts, so each process writes its figures there and `/metrics`
adds them up (prometheus_client's multiprocess mode). Figures that are facts about the data
(complaints by state, overdue care, the webhook queue) are read from the store when
scraped, so every process answers the same. Use cases never count: events are counted as they
commit (`service.unit_of_work.on_commit`), sweeps by the loop that runs them.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from pythonjsonlogger.json import JsonFormatter

from .domain.audit import mask_text
from .domain.events import Event
from .domain.lifecycle import Lifecycle
from .service.unit_of_work import on_commit
from .store import counters, listings
from .store import webhooks as webhook_store

STATES = tuple(state.id for state in Lifecycle.states if state.id != "new")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")

REQUESTS = Counter(
    "resolution_http_requests_total",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "resolution_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte of a streamed body).",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS = Counter(
    "resolution_events_total",
    "Events appended, by type (lifecycle actions, messages, evidence, reminders …).",
    ["type"],
)
SWEEPS = Counter("resolution_sweeper_passes_total", "Sweeper passes completed.")
SWEEP_MOVES = Counter(
    "resolution_sweeper_moves_total",
    "Complaints the sweeper moved or reminded, by action.",
    ["action"],
)
CHECKPOINTS = Counter("resolution_checkpoints_total", "Checkpoints this process signed.")
CHECKPOINT_BREAKS = Counter(
    "resolution_checkpoint_breaks_total",
    "Breaks found between the newest checkpoint and the one before (deleted, truncated, "
    "rewritten complaints; checkpoints replaced or missing): anything above 0 is an alert.",
    ["what"],
)
DATABASE_ERRORS = Counter(
    "resolution_database_errors_total",
    "Requests that failed because the database did not answer or refused.",
)

log = logging.getLogger("resolution.http")


def registry(*collectors: Collector) -> CollectorRegistry:
    """The registry `/metrics` shows: every process's figures, plus `collectors`."""
    if os.environ.get(MULTIPROC_ENV):
        shown = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(shown)
    else:
        shown = CollectorRegistry(auto_describe=False)
        shown.register(_Forward(REGISTRY))
    for collector in collectors:
        shown.register(collector)
    return shown


class _Forward(Collector):
    """This process's own metrics (no multiprocess directory: one process, tests)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self):
        for family in self.source.collect():
            if family.name.startswith("resolution_"):
                yield family


class DataCollector(Collector):
    """Facts about the stored data, read when scraped."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self):
        states = GaugeMetricFamily(
            "resolution_complaints", "Complaints by state.", labels=["state"]
        )
        for state, count in counters.complaints_by_state(STATES).items():
            states.add_metric([state], count)
        yield states
        yield GaugeMetricFamily(
            "resolution_care_overdue",
            "Complaints past the care team's service level (escalated or assigned too long).",
            value=listings.care_overdue(self.now),
        )
        queue = webhook_store.queue_figures(self.now)
        oldest = queue["oldest_pending_created_at"]
        age = (self.now - _aware(oldest)).total_seconds() if oldest else 0.0
        deliveries = GaugeMetricFamily(
            "resolution_webhook_deliveries", "Webhook deliveries by status.", labels=["status"]
        )
        for status, count in queue["by_status"].items():
            deliveries.add_metric([status], count)
        yield deliveries
        yield GaugeMetricFamily(
            "resolution_webhook_oldest_pending_seconds",
            "Age of the oldest delivery not yet delivered (0 when none waits).",
            value=max(age, 0.0),
        )
        yield GaugeMetricFamily(
            "resolution_webhook_failing_deliveries",
            "Pending deliveries whose last attempt failed.",
            value=queue["failing"],
        )
        yield GaugeMetricFamily(
            "resolution_webhook_outbox",
            "Committed events not yet turned into deliveries.",
            value=queue["outbox"],
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count_event(event: Event) -> None:
    EVENTS.labels(event.type).inc()


def count_events() -> None:
    """Counts every event this process commits from now on (`resolution_events_total`)."""
    on_commit(_count_event)


def count_sweep(moved: Mapping[str, int]) -> None:
    """Counts one sweeper pass and what it moved or reminded, by action."""
    SWEEPS.inc()
    for action, count in moved.items():
        SWEEP_MOVES.labels(action).inc(count)


def count_checkpoint(n: int, breaks: Iterable[object]) -> None:
    """Counts a checkpoint made, and alerts on each break the check after it found: the
    metric `resolution_checkpoint_breaks_total` and one error log line per break."""
    CHECKPOINTS.inc()
    for found in breaks:
        CHECKPOINT_BREAKS.labels(getattr(found, "what", "unknown")).inc()
        logging.getLogger("resolution.anchoring").error(
            "checkpoint %s does not extend its predecessor: %s", n, found
        )


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr, each with the request id of the request it belongs to."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """A request id for every request (the caller's `X-Request-Id`, or a new one), returned
    in the response and in every log line; request counts and latencies by route; events
    committed by the app's use cases."""
    count_events()

    @app.before_request
    def start() -> None:
        asked = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = asked if _REQUEST_ID.fullmatch(asked) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        route = request.url_rule.rule if request.url_rule else "(unmatched)"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        log.info(
            "request",
            extra={
                "method": request.method,
                # A path is client text: a NIK typed into it is personal data (docs/audit.md).
                "path": mask_text(request.path),
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
                "role": getattr(g.get("actor"), "role", None),
            },
        )
        return response
