"""The one MongoDB connection the documents use, and the readiness check."""

from __future__ import annotations

import mongoengine
from pymongo.errors import PyMongoError

from . import files
from .documents import ComplaintDocument, ensure_indexes

ALIAS = mongoengine.DEFAULT_CONNECTION_NAME


def connect(uri: str, db_name: str) -> None:
    """Connects mongoengine (and so every document) to `db_name` on `uri`, and makes indexes.

    Times come back timezone-aware (UTC); connecting again replaces the previous connection.
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


def disconnect() -> None:
    mongoengine.disconnect(ALIAS)


def is_ready() -> bool:
    """True when the database answers a ping now."""
    try:
        ComplaintDocument._get_db().client.admin.command("ping")
    except PyMongoError:
        return False
    return True
