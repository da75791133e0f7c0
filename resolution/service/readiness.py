"""Whether this process can serve: the database answers."""

from __future__ import annotations

from ..store import database

# A probe waits about a second, not the driver's 5 s server selection: a database that just
# died is reported down at once, while the orchestrator's probe is still waiting for us.
READY_TIMEOUT = 1.0


def database_answers(timeout: float = READY_TIMEOUT) -> bool:
    """True when the database answers a ping within `timeout` seconds."""
    return database.is_ready(timeout)
