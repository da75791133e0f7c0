"""The one MongoDB connection the documents use, and the readiness check."""

from __future__ import annotations

import mongoengine
import pymongo
from pymongo.errors import PyMongoError

from . import counters, files
from .documents import ComplaintDocument, ensure_indexes
from .errors import guarded

ALIAS = mongoengine.DEFAULT_CONNECTION_NAME


@guarded
def connect(uri: str, db_name: str) -> None:
    """Connects mongoengine (and so every document) to `db_name` on `uri`, and makes indexes.

    Times come back timezone-aware (UTC); connecting again replaces the previous connection.
    A database made before the states' counters is recounted once (`counters.ensure_counted`).
    """
    mongoengine.disconnect(ALIAS)
    mongoengine.connect(
        db=db_name,
        host=uri,
        alias=ALIAS,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        uuidRepresentation="standard",
    )
    ensure_indexes()
    files.ensure_indexes()
    counters.ensure_counted()


def disconnect() -> None:
    mongoengine.disconnect(ALIAS)


def is_ready(timeout: float | None = None) -> bool:
    """True when the database answers a ping now (within `timeout` seconds, when given)."""
    try:
        with pymongo.timeout(timeout):
            ComplaintDocument._get_db().client.admin.command("ping")
    except PyMongoError:
        return False
    return True
