"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

import pymongo
from flask import Blueprint, Response, json

from ..store.database import is_ready
from .problems import problem

bp = Blueprint("health", __name__)
# A probe waits about a second, not the driver's 5 s server selection: a database that just
# died is reported down at once, while the orchestrator's probe is still waiting for us.
READY_TIMEOUT = 1.0


@bp.get("/healthz")
def healthz() -> Response:
    return Response(json.dumps({"status": "ok"}), mimetype="application/json")


@bp.get("/readyz")
def readyz() -> Response:
    with pymongo.timeout(READY_TIMEOUT):
        ready = is_ready()
    if not ready:
        return problem(503, "Not ready", "The database does not answer.", "not-ready")
    return Response(json.dumps({"status": "ready"}), mimetype="application/json")
