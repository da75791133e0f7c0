"""Every error the API sends is RFC 9457 problem+json, made here and nowhere else."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from marshmallow import ValidationError
from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError
from werkzeug.exceptions import HTTPException

from ..domain.errors import DomainError
from ..observability import DATABASE_ERRORS

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, slug: str, **extra: object) -> Response:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def _from_domain(error: DomainError) -> Response:
    extra = dict(error.extra)
    if hasattr(error, "errors"):
        extra["errors"] = error.errors
    if hasattr(error, "allowed_actions"):
        extra["allowed_actions"] = error.allowed_actions
    response = problem(error.status, error.title, error.detail, error.slug, **extra)
    for name, value in getattr(error, "headers", {}).items():
        response.headers[name] = value
    return response


def _from_validation(error: ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    return problem(
        422,
        "Invalid request",
        "Some fields are missing, unknown or malformed: see `errors`.",
        "invalid",
        errors=messages,
    )


def _from_http(error: HTTPException) -> Response:
    slugs = {
        400: "malformed",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
        416: "range-not-satisfiable",
    }
    status = error.code or 500
    response = problem(
        status,
        error.name,
        error.description or error.name,
        slugs.get(status, f"http-{status}"),
    )
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    if status == 416 and getattr(error, "length", None) is not None:
        # The file's size, so the client can ask for a range that exists (RFC 9110 15.5.17).
        response.headers["Content-Range"] = f"{error.units} */{error.length}"
    return response


def _from_database(error: PyMongoError) -> Response:
    """The database did not answer (or refused): 503, try again; never a 500."""
    DATABASE_ERRORS.inc()
    log.warning("database error: %s", error)
    response = problem(
        503,
        "Service unavailable",
        "The database is not answering; nothing was changed. Try again shortly.",
        "unavailable",
    )
    response.headers["Retry-After"] = "5"
    return response


def _from_bug(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "Internal error", "Something went wrong on our side.", "internal")


def register(app: Flask) -> None:
    """Maps every kind of failure to problem+json."""
    app.register_error_handler(DomainError, _from_domain)
    app.register_error_handler(ValidationError, _from_validation)
    app.register_error_handler(HTTPException, _from_http)
    # The database unreachable or too slow: the client may retry. (Other driver errors are
    # bugs of ours: 500, logged.)
    app.register_error_handler(ConnectionFailure, _from_database)
    app.register_error_handler(ExecutionTimeout, _from_database)
    app.register_error_handler(Exception, _from_bug)
