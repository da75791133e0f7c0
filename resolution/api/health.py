"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, json

from ..store.database import is_ready
from .problems import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return Response(json.dumps({"status": "ok"}), mimetype="application/json")


@bp.get("/readyz")
def readyz() -> Response:
    if not is_ready():
        return problem(503, "Not ready", "The database does not answer.", "not-ready")
    return Response(json.dumps({"status": "ready"}), mimetype="application/json")
