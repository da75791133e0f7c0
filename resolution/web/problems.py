"""Every error the API sends is RFC 9457 problem+json, made here and nowhere else.

The one mapping from what went wrong (the domain's errors, the store's, the caller's token)
to an HTTP status: the API answers with the problem, the console with a page of that status.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ..domain import errors
from ..domain.errors import DomainError
from ..observability import DATABASE_ERRORS
from ..store.errors import StoreError, Unavailable
from .auth import Unauthorized

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, slug: str, **extra: object) -> Response:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def too_many_requests(detail: str, retry_after: int) -> Response:
    """429: the caller sent more than its rate allows; `Retry-After` says when to try again."""
    response = problem(429, "Too many requests", detail, "rate-limited", retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


# (status, title, the `type`'s slug, headers) of each refusal; a subclass takes its own row
# when it has one, else its base's.
STATUSES: dict[type[DomainError], tuple[int, str, str, dict[str, str]]] = {
    DomainError: (400, "Bad request", "bad-request", {}),
    errors.Invalid: (422, "Invalid request", "invalid", {}),
    errors.NotFound: (404, "Not found", "not-found", {}),
    errors.Forbidden: (403, "Forbidden", "forbidden", {}),
    errors.NotAllowed: (409, "Action not allowed now", "not-allowed", {}),
    errors.Conflict: (409, "Conflict", "conflict", {}),
    errors.InProgress: (409, "Request in progress", "in-progress", {"Retry-After": "1"}),
    errors.Stale: (412, "Precondition failed", "precondition-failed", {}),
    errors.UnsupportedFile: (415, "Unsupported media type", "unsupported-media-type", {}),
    errors.FileTooLarge: (413, "Too large", "too-large", {}),
    Unauthorized: (
        401,
        "Unauthorized",
        "unauthorized",
        {"WWW-Authenticate": 'Bearer realm="resolution"'},
    ),
}


def _row(error: DomainError) -> tuple[int, str, str, dict[str, str]]:
    for kind in type(error).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    raise AssertionError("DomainError has a row")  # pragma: no cover


def status_of(error: DomainError) -> int:
    """The HTTP status that says `error` (the console answers its pages with it too)."""
    return _row(error)[0]


def _from_domain(error: DomainError) -> Response:
    status, title, slug, headers = _row(error)
    extra = dict(error.extra)
    if isinstance(error, errors.Invalid):
        extra["errors"] = error.errors
    if isinstance(error, errors.NotAllowed):
        extra["allowed_actions"] = error.allowed_actions
    response = problem(status, title, error.detail, slug, **extra)
    for name, value in headers.items():
        response.headers[name] = value
    return response


MAX_ERRORS = 20  # per object of `errors`: a body of 1,000 bad items answers with 20 of them
MAX_KEY = 100  # characters of a field name sent back (an unknown field may be any length)


def _bounded(messages: object) -> tuple[object, bool]:
    """`messages` with at most MAX_ERRORS entries per level and names cut short; and whether
    anything was left out."""
    if isinstance(messages, dict):
        kept, cut = {}, len(messages) > MAX_ERRORS
        for key, value in list(messages.items())[:MAX_ERRORS]:
            name = str(key)
            kept[name[:MAX_KEY] + ("…" if len(name) > MAX_KEY else "")], inner = _bounded(value)
            cut = cut or inner or len(name) > MAX_KEY
        return kept, cut
    if isinstance(messages, list):
        inner = [_bounded(value) for value in messages[:MAX_ERRORS]]
        cut = len(messages) > MAX_ERRORS or any(c for _, c in inner)
        return [value for value, _ in inner], cut
    return messages, False


def _from_validation(error: ValidationError) -> Response:
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    errors, cut = _bounded(messages)
    detail = "Some fields are missing, unknown or malformed: see `errors`."
    if cut:
        detail += f" (At most {MAX_ERRORS} per object are listed.)"
    return problem(422, "Invalid request", detail, "invalid", errors=errors)


def _from_http(error: HTTPException) -> Response:
    if error.code == 429 and isinstance(error.response, Response):
        return error.response  # a rate limit's refusal, already a problem (`too_many_requests`)
    slugs = {
        400: "malformed",
        404: "not-found",
        405: "method-not-allowed",
        408: "timeout",
        413: "too-large",
        415: "unsupported-media-type",
        416: "range-not-satisfiable",
        429: "rate-limited",
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


def _from_database(error: Unavailable) -> Response:
    """The database did not answer: 503, try again; never a 500."""
    DATABASE_ERRORS.inc()
    log.warning("database error: %s", error)
    if error.maybe_committed:
        # The commit was sent and never confirmed: it may have been recorded.
        detail = (
            "The database did not confirm the change: it may have been recorded. Send it "
            "again with the same Idempotency-Key to learn which."
        )
    else:
        detail = "The database is not answering; nothing was changed. Try again shortly."
    response = problem(503, "Service unavailable", detail, "unavailable")
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
    # The database unreachable or too slow: the client may retry. (A command the database
    # refused is a bug of ours: 500, logged.)
    app.register_error_handler(Unavailable, _from_database)
    app.register_error_handler(StoreError, _from_bug)
    app.register_error_handler(Exception, _from_bug)
