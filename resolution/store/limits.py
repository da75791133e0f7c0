"""Where the rate limits keep their counts: in each process first, shared through MongoDB.

A write is counted and judged in the process that serves it, from what the process holds:
its own entries, and the other processes' entries as it last read them. A thread of each
process sends its new entries and reads everyone else's every `sync_interval` seconds, while
the process has written in the last `IDLE_AFTER` seconds (a process that writes nothing reads
nothing). A write waits for the database only when its process wakes: the first write of a
process, or its first after `IDLE_AFTER` quiet seconds, reads the counts before it is judged
(one round trip, at most once per idle period per process); every other write, none.

So the counts stay shared by every worker and copy of the service, late by at most about
two sync intervals, and the worst case is bounded both ways:
- in steady use, a caller gets at most the limit plus what the other processes admitted for
  it in the last two sync intervals (with the default 0.5 s: a second's worth per process);
- whatever the timing (a burst over several processes before any has shared), at most the
  limit in each process: each judges its own entries exactly.

Importing this module registers the storage with `limits` under the scheme
`resolution+mongodb` (and `+srv`): `storage_uri` is what Flask-Limiter is given.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
import weakref
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import mongoengine
from limits.storage import MovingWindowSupport, Storage
from mongoengine.connection import ConnectionFailure
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import InvalidOperation, PyMongoError

from .database import ALIAS

SCHEME = "resolution"
WINDOWS = "windows"  # the collection, in the limits database: a document per key and process
IDLE_AFTER = 10.0  # seconds without a write in this process before its thread stops reading
CLOCK_SLACK = 5.0  # seconds: hosts' clocks disagree; a document is read again, never missed
log = logging.getLogger(__name__)


class SharedWindows(Storage, MovingWindowSupport):
    """limits' moving windows, judged in the process and shared through one collection.

    Each process keeps its own entries per key (`_mine`, timestamps in the order taken) and
    the others' as last read (`_theirs`: key -> process -> timestamps). The collection holds
    one document per key and process: its entries still in the window, `synced_at` (indexed:
    what changed since a process last read) and `expireAt` (TTL: it goes by itself).
    """

    STORAGE_SCHEME = [f"{SCHEME}+mongodb", f"{SCHEME}+mongodb+srv"]

    def __init__(
        self,
        uri: str,
        database_name: str = "resolution_limits",
        sync_interval: float | None = 0.5,
        wrap_exceptions: bool = False,
        **options,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._database_name = database_name
        # None: no thread; whoever holds the storage calls `sync` (tests judge by hand).
        self.sync_interval = None if sync_interval is None else float(sync_interval)
        self._indexed_on: object | None = None
        self._client = None
        self._start_process()

    def _start_process(self) -> None:
        """This process's state; again after a fork (gunicorn's workers), never shared."""
        self._pid = os.getpid()
        self._process = uuid.uuid4().hex  # not the pid: pids repeat across hosts and restarts
        self._lock = threading.Lock()
        self._mine: dict[str, list[float]] = defaultdict(list)
        self._expiry: dict[str, int] = {}  # the longest window each key was judged in
        self._unsent: set[str] = set()
        self._theirs: dict[str, dict[str, list[float]]] = defaultdict(dict)
        self._read_since: float | None = None
        self._last_write = 0.0
        self._thread: threading.Thread | None = None

    # --- limits' interface ------------------------------------------------------------------

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return PyMongoError

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Takes `amount` entries in `key`'s window of `expiry` seconds if the window, as this
        process knows it, holds room for them under `limit`. No database round trip."""
        if amount > limit:
            return False
        self._own_process()
        self._wake()
        now = time.time()
        with self._lock:
            if self._count(key, now - expiry) + amount > limit:
                return False
            self._mine[key].extend([now] * amount)
            self._expiry[key] = max(expiry, self._expiry.get(key, 0))
            self._unsent.add(key)
            self._last_write = now
        self._keep_syncing()
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest entry still in the window, or now; how many entries it holds)."""
        now = time.time()
        with self._lock:
            entries = self._entries(key, now - expiry)
        return (entries[0], len(entries)) if entries else (now, 0)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """A fixed window's hit (limits' other strategies): counted like a moving window's
        entry, without a limit; the count is every process's entries in the window."""
        self._own_process()
        now = time.time()
        with self._lock:
            self._mine[key].extend([now] * amount)
            self._expiry[key] = max(expiry, self._expiry.get(key, 0))
            self._unsent.add(key)
            self._last_write = now
            count = self._count(key, now - expiry)
        self._keep_syncing()
        return count

    def get(self, key: str) -> int:
        with self._lock:
            return self._count(key, time.time() - self._expiry.get(key, 0))

    def get_expiry(self, key: str) -> float:
        with self._lock:
            mine = self._mine.get(key)
            return (mine[-1] + self._expiry.get(key, 0)) if mine else time.time()

    def check(self) -> bool:
        try:
            self._windows().database.command("ping")
            return True
        except PyMongoError:
            return False

    def reset(self) -> int | None:
        with self._lock:
            self._mine.clear()
            self._theirs.clear()
            self._unsent.clear()
        return self._windows().delete_many({}).deleted_count

    def clear(self, key: str) -> None:
        with self._lock:
            self._mine.pop(key, None)
            self._theirs.pop(key, None)
            self._unsent.discard(key)
        self._windows().delete_many({"key": key})

    # --- the counts -------------------------------------------------------------------------

    def _entries(self, key: str, after: float) -> list[float]:
        """Every process's entries of `key` later than `after`, oldest first (lock held)."""
        found = [t for t in self._mine.get(key, ()) if t > after]
        for entries in self._theirs.get(key, {}).values():
            found.extend(t for t in entries if t > after)
        return sorted(found)

    def _count(self, key: str, after: float) -> int:
        return len(self._entries(key, after))

    # --- sharing ----------------------------------------------------------------------------

    def _windows(self, in_thread: bool = False):
        # The thread uses the client its process last woke with, and never asks mongoengine
        # for one: its registry is not made for threads, and a connection replaced meanwhile
        # (tests reconnect) would be made again, and leak. A closed client ends the thread.
        if not in_thread or self._client is None:
            self._client = mongoengine.get_connection(ALIAS)
        client = self._client
        collection = client[self._database_name][WINDOWS]
        if self._indexed_on is not client:
            collection.create_index("expireAt", expireAfterSeconds=0)  # gone by themselves
            collection.create_index([("synced_at", ASCENDING)])  # what changed since
            self._indexed_on = client
        return collection

    def prepare(self) -> None:
        """Makes the collection and its indexes now, at start, not under the first writes."""
        self._windows()

    def sync(self, in_thread: bool = False) -> None:
        """Sends this process's new entries, then reads what the others changed since the last
        read: one bulk update (when there is anything to send) and one indexed find."""
        now = time.time()
        with self._lock:
            self._forget(now)
            sending = {
                key: (list(self._mine.get(key, ())), self._expiry.get(key, 0))
                for key in self._unsent
            }
            self._unsent.clear()
        windows = self._windows(in_thread)
        try:
            if sending:
                windows.bulk_write(
                    [
                        UpdateOne(
                            {"_id": f"{key}#{self._process}"},
                            {
                                "$set": {
                                    "key": key,
                                    "process": self._process,
                                    "entries": entries,
                                    "synced_at": now,
                                    "expireAt": datetime.now(UTC) + timedelta(seconds=expiry),
                                }
                            },
                            upsert=True,
                        )
                        for key, (entries, expiry) in sending.items()
                    ],
                    ordered=False,
                )
        except PyMongoError:
            with self._lock:
                self._unsent.update(sending)  # sent on the next round
            raise
        since = (self._read_since or 0.0) - CLOCK_SLACK
        # Closed at both ends, and on `synced_at` alone: the embedded database scans a range
        # open at one end, and the whole collection when a `$ne` on `process` joins it (its
        # explain says COLLSCAN). This process's own documents come back too, and are skipped.
        changed = windows.find(
            {"synced_at": {"$gte": since, "$lt": now + 86400}},
            {"key": 1, "process": 1, "entries": 1},
        )
        read = [
            (doc["key"], doc["process"], doc["entries"])
            for doc in changed
            if doc["process"] != self._process
        ]
        with self._lock:
            for key, process, entries in read:
                self._theirs[key][process] = entries
            self._read_since = now

    def _forget(self, now: float) -> None:
        """Drops entries that left their window (lock held): memory follows the live callers."""
        for key in list(self._mine):
            after = now - self._expiry.get(key, 0)
            self._mine[key] = [t for t in self._mine[key] if t > after]
            if not self._mine[key] and key not in self._unsent:
                del self._mine[key]
        for key in list(self._theirs):
            after = now - self._expiry.get(key, 3600)  # a window this process never judged
            for process in list(self._theirs[key]):
                if not any(t > after for t in self._theirs[key][process]):
                    del self._theirs[key][process]
            if not self._theirs[key]:
                del self._theirs[key]

    def _own_process(self) -> None:
        if self._pid != os.getpid():
            self._start_process()

    def _wake(self) -> None:
        """A process that has not been sharing (its first write, or its first after
        `IDLE_AFTER` quiet seconds) reads the counts once before it judges: one round trip, at
        most once per idle period; every other write judges on what the thread keeps fresh."""
        if self.sync_interval is None or self._thread is not None:
            return
        try:
            self.sync()
        except (PyMongoError, ConnectionFailure) as error:
            log.warning("rate-limit sync failed: %s", error)  # judged on what is known

    def _keep_syncing(self) -> None:
        if self.sync_interval is None:
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=_sync_loop,
                args=(weakref.ref(self),),
                name="rate-limit-sync",
                daemon=True,
            )
            self._thread.start()


def _sync_loop(ref: weakref.ReferenceType[SharedWindows]) -> None:
    """Syncs every interval while the process writes; holds the storage only while syncing,
    so an app that is gone takes its thread with it."""
    while True:
        storage = ref()
        if storage is None:
            return
        interval = storage.sync_interval or 0.5
        del storage
        time.sleep(interval)  # (a waking process has just read: its write goes out next)
        storage = ref()
        if storage is None:
            return
        try:
            storage.sync(in_thread=True)
        except InvalidOperation:  # its client was closed (the app is done with it)
            with storage._lock:
                storage._thread = None
            return
        except PyMongoError as error:
            # The database not answering is the service's own trouble, reported by its own
            # requests; the entries wait for the next round.
            log.warning("rate-limit sync failed: %s", error)
        except ConnectionFailure:  # disconnected (the app is shutting down): nothing to share
            with storage._lock:
                storage._thread = None
            return
        idle = time.time() - storage._last_write > IDLE_AFTER
        if idle and not storage._unsent:
            with storage._lock:
                if not storage._unsent:
                    storage._thread = None
                    return
        del storage


def storage_uri(mongodb_uri: str) -> str:
    """The `storage_uri` that makes Flask-Limiter count in this storage."""
    return f"{SCHEME}+{mongodb_uri}"
