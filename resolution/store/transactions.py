"""The multi-document transaction every write runs in, retried when another writer wins.

mongoengine has no sessions, so a write that must commit with others (an event, the
projection it produces, the idempotent response) runs on a pymongo session of the same
client, through the raw collections, inside `transaction`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pymongo
from pymongo.client_session import ClientSession

from .documents import ComplaintDocument
from .errors import guarded

T = TypeVar("T")
Session = ClientSession

# Seconds a write may take, its retries included: under gunicorn's worker timeout (60 s), so a
# write that cannot get through (a complaint held by a killed writer's orphaned transaction,
# up to the server's 60 s transaction lifetime; a database restarting) ends as a 503 from the
# API instead of an aborted worker. pymongo's own retry window is 120 s.
WRITE_BUDGET = 30.0


class VersionConflict(Exception):
    """Another writer appended to the complaint first; re-read and decide again."""


@guarded
def transaction(work: Callable[[Session], T], attempts: int = 20) -> T:
    """Runs `work` in a transaction, again from the start when another writer won a race.

    `with_transaction` retries transient errors itself; a `VersionConflict` (our conditional
    update matched nothing, or the event's unique index refused a duplicate `seq`) is retried
    here, so `work` re-reads the complaint and asks the machine again in the new state: a
    lost race ends as a clean refusal, never as a half-written action.
    """
    client = ComplaintDocument._get_collection().database.client
    with pymongo.timeout(WRITE_BUDGET):  # every command within, and with_transaction's retries
        for _ in range(attempts):
            with client.start_session() as session:
                try:
                    return session.with_transaction(work)
                except VersionConflict:
                    continue
    raise VersionConflict("too much contention on one complaint")
