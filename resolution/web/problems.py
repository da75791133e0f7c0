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


# Every kind of problem the service answers with: its `type` (`/problems/<slug>`, listed in
# openapi.yaml's `Problem`) and its one title, in sentence case. A test holds the spec's list
# and this table equal.
TYPES: dict[str, str] = {
    "bad-request": "Bad request",
    "malformed": "Malformed request",
    "invalid": "Invalid request",
    "bad-cursor": "Bad cursor",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not-found": "Not found",
    "gone": "Gone",
    "method-not-allowed": "Method not allowed",
    "timeout": "Request timeout",
    "not-allowed": "Action not allowed now",
    "conflict": "Conflict",
    "in-progress": "Request in progress",
    "precondition-failed": "Precondition failed",
    "too-large": "Too large",
    "unsupported-media-type": "Unsupported media type",
    "range-not-satisfiable": "Range not satisfiable",
    "rate-limited": "Too many requests",
    "internal": "Internal error",
    "unavailable": "Service unavailable",
    "not-ready": "Not ready",
}


def problem(status: int, detail: str, slug: str, **extra: object) -> Response:
    """The problem of kind `slug` (a key of TYPES, which gives its title)."""
    body = {"type": f"/problems/{slug}", "title": TYPES[slug], "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def too_many_requests(detail: str, retry_after: int) -> Response:
    """429: the caller sent more than its rate allows; `Retry-After` says when to try again."""
    response = problem(429, detail, "rate-limited", retry_after=retry_after)
    response.headers["Retry-After"] = str(retry_after)
    return response


# (status, the `type`'s slug, headers) of each refusal; a subclass takes its own row when it
# has one, else its base's.
STATUSES: dict[type[DomainError], tuple[int, str, dict[str, str]]] = {
    DomainError: (400, "bad-request", {}),
    errors.Invalid: (422, "invalid", {}),
    errors.BadCursor: (400, "bad-cursor", {}),
    errors.NotFound: (404, "not-found", {}),
    errors.Gone: (410, "gone", {}),
    errors.Forbidden: (403, "forbidden", {}),
    errors.NotAllowed: (409, "not-allowed", {}),
    errors.Conflict: (409, "conflict", {}),
    errors.InProgress: (409, "in-progress", {"Retry-After": "1"}),
    errors.Stale: (412, "precondition-failed", {}),
    errors.UnsupportedFile: (415, "unsupported-media-type", {}),
    errors.FileTooLarge: (413, "too-large", {}),
    Unauthorized: (401, "unauthorized", {"WWW-Authenticate": 'Bearer realm="resolution"'}),
}


def _row(error: DomainError) -> tuple[int, str, dict[str, str]]:
    for kind in type(error).__mro__:
        if kind in STATUSES:
            return STATUSES[kind]
    raise AssertionError("DomainError has a row")  # pragma: no cover


def status_of(error: DomainError) -> int:
    """The HTTP status that says `error` (the console answers its pages with it too)."""
    return _row(error)[0]


def _from_domain(error: DomainError) -> Response:
    status, slug, headers = _row(error)
    extra = dict(error.extra)
    if isinstance(error, errors.Invalid):
        extra["errors"] = error.errors
    if isinstance(error, errors.NotAllowed):
        extra["allowed_actions"] = error.allowed_actions
    response = problem(status, error.detail, slug, **extra)
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
    return problem(422, detail, "invalid", errors=errors)


# The router's and Werkzeug's refusals: the `type` of each status, and what to say when the
# code that raised it gave no words of its own (Werkzeug's defaults talk to a browser's user:
# "If you entered the URL manually…").
HTTP_TYPES = {
    400: ("malformed", "The request could not be read."),
    404: ("not-found", "Nothing is here: the API's paths are in /openapi.yaml."),
    405: (
        "method-not-allowed",
        "This path does not take that method (`Allow` lists those it takes).",
    ),
    408: ("timeout", "The request's body did not arrive in time."),
    413: ("too-large", "The request is larger than this service takes."),
    415: ("unsupported-media-type", "The body's media type is not one this operation takes."),
    416: ("range-not-satisfiable", "The range asked for is not in the file."),
    429: ("rate-limited", "Too many requests: try again later."),
}


def _from_http(error: HTTPException) -> Response:
    if error.code == 429 and isinstance(error.response, Response):
        return error.response  # a rate limit's refusal, already a problem (`too_many_requests`)
    status = error.code or 500
    slug, default = HTTP_TYPES.get(status, ("bad-request" if status < 500 else "internal", ""))
    own = error.description if error.description != type(error).description else None
    response = problem(status, own or default or "The request was refused.", slug)
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
    response = problem(503, detail, "unavailable")
    response.headers["Retry-After"] = "5"
    return response


def _from_bug(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "Something went wrong on our side.", "internal")


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
