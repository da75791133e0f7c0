"""Request plumbing shared by the blueprints: the caller, the JSON body, preconditions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request
from flask import json as flask_json
from marshmallow import Schema
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from ..domain.actors import Actor, Role
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.events import canonical
from ..service import Context, Idempotency, Recorded, Replayed
from .auth import actor_from_header

COMPLAINT_ID = re.compile(r"[0-9a-f]{24}")


def context() -> Context:
    return current_app.extensions["resolution.context"]


def caller(*, integration: bool = False) -> Actor:
    """The authenticated caller of this request (401 otherwise).

    Integration tokens (a marketplace's back end) manage webhooks and nothing else: anywhere
    but there (`integration=True`) they are refused with 403.
    """
    if "actor" not in g:
        policy = current_app.config["RESOLUTION_TOKENS"]
        g.actor = actor_from_header(request.headers.get("Authorization"), policy)
    if (g.actor.role is Role.INTEGRATION) != integration:
        if integration:
            raise Forbidden("Webhooks are managed with an integration token.")
        raise Forbidden("An integration token manages webhooks only (/v1/webhooks).")
    return g.actor


def complaint_id(value: str) -> str:
    """A complaint id from the path; anything that is not one is an unknown complaint."""
    if not COMPLAINT_ID.fullmatch(value):
        raise NotFound(f"There is no complaint {value[:64]}.")
    return value


def json_body() -> Any:
    """The request's JSON (an empty body is `{}`): 415 for another type, 400 if malformed."""
    if "json_body" in g:
        return g.json_body
    raw = request.get_data(cache=True)
    if not raw.strip():
        g.json_body = {}
        return g.json_body
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        body = request.get_json()
    except (BadRequest, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise BadRequest("The body is not valid JSON.") from error
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError) as error:  # "\ud800": a lone surrogate
        raise BadRequest("The body holds text that is not valid Unicode.") from error
    g.json_body = body
    return body


def load_body(schema: Schema) -> dict:
    return schema.load(json_body())


def load_query(schema: Schema) -> dict:
    return schema.load(request.args.to_dict(flat=True))


def if_match() -> int | None:
    """The version named by `If-Match: "<version>"`, or None when absent or `*`."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = re.fullmatch(r'\s*(?:W/)?"?(\d{1,9})"?\s*', header)
    if not match:
        raise Invalid(
            'If-Match must be the complaint\'s ETag, such as "3".', {"If-Match": ["not a version"]}
        )
    return int(match.group(1))


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise Invalid(
            "An Idempotency-Key is 1 to 255 printable characters.",
            {"Idempotency-Key": ["1 to 255 printable characters"]},
        )
    return key


def fingerprint() -> str:
    """What makes two requests the same request: method, path and the JSON they carry."""
    digest = hashlib.sha256()
    digest.update(f"{request.method}\0{request.path}\0".encode())
    digest.update(canonical(json_body()))
    return digest.hexdigest()


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        flask_json.dumps(body), status=status, headers=headers, mimetype="application/json"
    )


def etag(version: int) -> str:
    return f'"{version}"'


def write(
    run: Callable[[Idempotency | None], Recorded],
    render: Callable[[Recorded], tuple[int, dict, dict]],
    request_fingerprint: str | None = None,
) -> Response:
    """Runs a write use case, remembering or replaying its response for an Idempotency-Key."""
    key = idempotency_key()
    idem = Idempotency(key, request_fingerprint or fingerprint(), render) if key else None
    try:
        status, body, headers = render(run(idem))
    except Replayed as replay:
        replayed = {**replay.headers, "Idempotent-Replayed": "true"}
        return json_response(replay.body, replay.status, replayed)
    return json_response(body, status, headers)
