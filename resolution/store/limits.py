"""Where the rate limits keep their counts: limits' MongoDB storage, on the service's client.

Importing this module registers the storage with `limits` under the scheme
`resolution+mongodb` (and `+srv`): `storage_uri` is what Flask-Limiter is given.
"""

from __future__ import annotations

import mongoengine
from limits.storage import MongoDBStorage

from .database import ALIAS

SCHEME = "resolution"
WINDOWS = "windows"  # the collection, in the limits database


class SharedClientStorage(MongoDBStorage):
    """limits' MongoDB storage on the client the service already holds for `MONGODB_URI`.

    limits' own storage opens a client of its own per app and, when garbage-collected,
    connects (to create its indexes) only to close it again; this one borrows the client
    `database.connect` made, creates its TTL index once per client, and never closes it.
    """

    STORAGE_SCHEME = [f"{SCHEME}+mongodb", f"{SCHEME}+mongodb+srv"]

    def __init__(self, uri: str, database_name: str = "resolution_limits", **options) -> None:
        super().__init__(uri, database_name=database_name, window_collection_name=WINDOWS)
        self._indexed_on: object | None = None

    @property
    def storage(self):  # type: ignore[override]
        client = mongoengine.get_connection(ALIAS)
        if self._indexed_on is not client:
            # Expired windows go by themselves (the entry's `expireAt`).
            client[self._database_name][WINDOWS].create_index("expireAt", expireAfterSeconds=0)
            self._indexed_on = client
        return client

    def __del__(self) -> None:
        pass  # the client is the service's: `database.disconnect` closes it


def storage_uri(mongodb_uri: str) -> str:
    """The `storage_uri` that makes Flask-Limiter count in this storage."""
    return f"{SCHEME}+{mongodb_uri}"
