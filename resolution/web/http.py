"""Request plumbing shared by the API and the console: the caller, the JSON body, ids in
paths, preconditions, and writes under an Idempotency-Key."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from flask import json as flask_json
from marshmallow import Schema
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

from ..domain.actors import Actor, Role
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.events import canonical
from ..domain.identifiers import is_object_id
from ..service.unit_of_work import Context, Idempotency, Replayed, fingerprint
from .auth import actor_from_header

T = TypeVar("T")
# The shape of any JSON body, checked before a schema reads it: the API's own bodies are at
# most 5 levels deep, with lists of at most 100 items and objects of at most 15 members.
MAX_DEPTH = 32
MAX_ITEMS = 1000
MAX_MEMBERS = 200
MAX_QUERY_PARAMETERS = 50  # the widest query string (a listing) has 6


def context() -> Context:
    return current_app.extensions["resolution.context"]


def authenticated() -> Actor:
    """The authenticated caller of this request, whatever its role (401 otherwise)."""
    if "actor" not in g:
        policy = current_app.config["RESOLUTION_TOKENS"]
        g.actor = actor_from_header(request.headers.get("Authorization"), policy)
    return g.actor


def caller(*, integration: bool = False) -> Actor:
    """The authenticated caller of this request (401 otherwise).

    Integration tokens (a marketplace's back end) manage webhooks and orders and read
    complaints: anywhere else (`integration=False`) they are refused with 403, and so are
    people where only integrations go (`integration=True`).
    """
    actor = authenticated()
    if (actor.role is Role.INTEGRATION) != integration:
        if integration:
            raise Forbidden("Webhooks are managed with an integration token.")
        raise Forbidden(
            "An integration token manages webhooks and orders, and reads complaints; it does "
            "not act on them."
        )
    return actor


def object_id(value: str, what: str, where: str = "") -> str:
    """An id of ours from the path; anything that is not one is an unknown `what` (`where`:
    "on this complaint", say)."""
    if not is_object_id(value):
        raise NotFound(f"There is no {what} {value[:64]}{' ' + where if where else ''}.")
    return value


def complaint_id(value: str) -> str:
    """A complaint id from the path; anything that is not one is an unknown complaint."""
    return object_id(value, "complaint")


def json_body() -> Any:
    """The request's JSON (an empty body is `{}`): 415 for another type, 400 if malformed."""
    if "json_body" in g:
        return g.json_body
    raw = request.get_data(cache=True)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # Sent without a Content-Length (chunked): werkzeug stops reading at the limit and
        # hands over what it read, which would pass for a truncated (malformed) body.
        raise RequestEntityTooLarge(f"The body is larger than {limit >> 20} MiB.")
    if not raw.strip():
        g.json_body = {}
        return g.json_body
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        body = request.get_json()
    except RecursionError as error:  # deeper than the parser goes: far too deep
        raise BadRequest(f"The body is nested more than {MAX_DEPTH} levels deep.") from error
    except BadRequest as error:
        raise BadRequest("The body is not valid JSON.") from error
    _check_shape(body)
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError) as error:  # "\ud800": a lone surrogate
        raise BadRequest("The body holds text that is not valid Unicode.") from error
    g.json_body = body
    return body


def _check_shape(body: Any) -> None:
    """400 for JSON no request of ours can be: too deep, or too long a list or object.

    Iterative, so no depth makes it recurse; it runs before a schema (or a hash, or an error
    message) walks the body, so none of them meets a body of 100,000 items or levels.
    """
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BadRequest(f"The body is nested more than {MAX_DEPTH} levels deep.")
            if isinstance(value, list) and len(value) > MAX_ITEMS:
                raise BadRequest(f"The body has a list of {len(value)} items; at most {MAX_ITEMS}.")
            if isinstance(value, dict) and len(value) > MAX_MEMBERS:
                raise BadRequest(
                    f"The body has an object of {len(value)} members; at most {MAX_MEMBERS}."
                )
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)


def load_body(schema: Schema) -> dict:
    return schema.load(json_body())


def load_query(schema: Schema) -> dict:
    count = sum(1 for _ in request.args.items(multi=True))
    if count > MAX_QUERY_PARAMETERS:
        raise BadRequest(
            f"The query string has {count} parameters; at most {MAX_QUERY_PARAMETERS}."
        )
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


def request_fingerprint(*more: bytes) -> str:
    """This request's fingerprint (`unit_of_work.fingerprint`): method, path, the JSON body."""
    return fingerprint(request.method, request.path, canonical(_numbers(json_body())), *more)


def _numbers(value: object) -> object:
    """The body with each number as the schemas read it: `352.0` is the integer 352 (the same
    request as `352`); any other float, which the schemas refuse, as its text (canonical JSON
    takes no floats)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else f"float:{value!r}"
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        flask_json.dumps(body), status=status, headers=headers, mimetype="application/json"
    )


def etag(version: int) -> str:
    return f'"{version}"'


def write(
    run: Callable[[Idempotency | None], T],
    render: Callable[[T], tuple[int, dict, dict]],
    fingerprinted: Callable[[], str] = request_fingerprint,
) -> Response:
    """Runs a write use case, remembering or replaying its response for an Idempotency-Key.

    With a key, the response is rendered once, inside the transaction, and that rendering is
    both remembered and sent.
    """
    key = idempotency_key()
    idem = Idempotency(key, fingerprinted(), render) if key else None
    try:
        result = run(idem)
    except Replayed as replay:
        replayed = {**replay.headers, "Idempotent-Replayed": "true"}
        return json_response(replay.body, replay.status, replayed)
    status, body, headers = idem.rendered if idem and idem.rendered else render(result)
    return json_response(body, status, headers)
