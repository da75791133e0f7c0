"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, Response, json

from ..service.readiness import database_answers
from ..web.problems import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return Response(json.dumps({"status": "ok"}), mimetype="application/json")


@bp.get("/readyz")
def readyz() -> Response:
    if not database_answers():
        return problem(503, "The database does not answer.", "not-ready")
    return Response(json.dumps({"status": "ready"}), mimetype="application/json")
