"""Per-caller rate limits on writes and evidence uploads: Flask-Limiter, counted in MongoDB.

Every POST, PUT, PATCH and DELETE under /v1 (and every console form) counts against the
caller's `writes` limit, and an evidence upload against `uploads` as well; reads are not
limited. The caller is the token's subject (role, `sub`, shop), or the signed-in console agent,
or else the client's address. A token is checked before anything is counted, so a bad token
is a 401, never a 429, and it is decoded once per request (`http.caller` reuses it).

The counts are a moving window (limits' `moving-window`), judged in the process that serves the
request with no database round trip, and shared through a database of their own on the
service's server by a thread of each process (store/limits.py: how late, and the worst-case
overshoot), so every worker and every copy of the service shares them, and a refused request
changes nothing in the service's data. A refusal is a 429 problem whose
`Retry-After` says when the oldest counted request leaves the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from flask import Flask, Response, current_app, g, request, session
from flask_limiter import ApplicationLimit, Limiter, RequestLimit

from ..config import Config
from .auth import actor_from_header
from .problems import too_many_requests

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UPLOAD_ENDPOINT = "evidence.add_evidence"


def caller_key() -> str:
    """Whose count a request adds to: the token's subject, the console agent, or the address."""
    actor = g.get("actor")
    if actor is not None:
        return f"{actor.role}:{actor.id}:{actor.shop_id or ''}"
    if request.blueprint == "console":
        agent = session.get("agent")  # signed by us: whoever holds it signed in as that agent
        if isinstance(agent, str):
            return f"care:{agent}:"
    return f"address:{request.remote_addr or 'unknown'}"


def _is_write() -> bool:
    if request.method not in WRITE_METHODS or request.url_rule is None:
        return False
    return request.path.startswith("/v1/") or request.blueprint == "console"


def _authenticate_write() -> None:
    """Checks the token of a write before it is counted: a bad one is 401, never 429."""
    if request.method in WRITE_METHODS and request.url_rule is not None and "actor" not in g:
        if request.path.startswith("/v1/"):
            policy = current_app.config["RESOLUTION_TOKENS"]
            g.actor = actor_from_header(request.headers.get("Authorization"), policy)


def _refuse(what: str) -> Callable[[RequestLimit], Response]:
    def refuse(breached: RequestLimit) -> Response:
        # When the window's oldest entry leaves it (one more read, on refusals only).
        retry_after = max(1, math.ceil(breached.window.reset_time - time.time()))
        return too_many_requests(
            f"Too many {what} from this caller: at most {breached.limit}. Nothing was done; "
            f"try again in {retry_after} s.",
            retry_after,
        )

    return refuse


def init_app(app: Flask, config: Config, storage_uri: str) -> Limiter | None:
    """Counts writes and uploads per caller in `storage_uri` (nothing when both are off)."""
    rates = config.rate_limits
    if not rates.enabled:
        return None
    app.before_request(_authenticate_write)  # before the limiter's own check, registered next
    limits = []
    if rates.writes:
        limits.append(
            ApplicationLimit(
                limit_provider=rates.writes,
                scope="writes",
                exempt_when=lambda: not _is_write(),
                on_breach=_refuse("writes"),
            )
        )
    if rates.uploads:
        limits.append(
            ApplicationLimit(
                limit_provider=rates.uploads,
                scope="uploads",
                exempt_when=lambda: not (_is_write() and request.endpoint == UPLOAD_ENDPOINT),
                on_breach=_refuse("uploads"),
            )
        )
    limiter = Limiter(
        caller_key,
        app=app,
        application_limits=limits,
        strategy="moving-window",
        storage_uri=storage_uri,
        storage_options={
            "database_name": rates.database,
            "sync_interval": rates.sync_interval.total_seconds(),
        },
        # Services (or test databases) sharing one server keep their own counts.
        key_prefix=config.db_name,
        headers_enabled=False,
        # The counts' database not answering is the service's database not answering: let
        # the request on, to the 503 its own first query gets, never a 500 from the limiter
        # (found by tests/reliability/test_crash_restart.py killing the database).
        swallow_errors=True,
    )
    limiter.storage.prepare()
    app.extensions["resolution.limiter"] = limiter
    return limiter
