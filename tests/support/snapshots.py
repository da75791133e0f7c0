"""What is stored, for "a refused request changes nothing": snapshots, their comparison, and
putting a module-shared database back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def stored(names: tuple[str, ...] | None = None) -> dict[str, list[dict]]:
    """Every document of each collection (all but `system.*` unless named), in `_id` order."""
    from resolution.store.documents import ComplaintDocument

    db = ComplaintDocument._get_db()
    if names is None:
        names = tuple(n for n in sorted(db.list_collection_names()) if not n.startswith("system."))
    return {name: list(db[name].find({}, sort=[("_id", 1)])) for name in names}


def _expired(db, name: str) -> Callable[[dict], bool]:
    """Whether the database's TTL monitor may delete this document of `name` now."""
    limits = [
        (spec["key"][0][0], timedelta(seconds=spec["expireAfterSeconds"]))
        for spec in db[name].index_information().values()
        if "expireAfterSeconds" in spec
    ]
    now = datetime.now(UTC)

    def expired(doc: dict) -> bool:
        for field, ttl in limits:
            at = doc.get(field)
            if isinstance(at, datetime) and at.replace(tzinfo=at.tzinfo or UTC) + ttl < now:
                return True
        return False

    return expired


def assert_unchanged(before: dict[str, list[dict]]) -> None:
    """What is stored now is `before`, but for documents the TTL monitor removed meanwhile.

    The tests' clock stands in 2025, so every idempotency record (and delivered webhook) they
    write is already past its TTL in real time: the database's monitor (once a minute, on
    MongoDB and on SecantusDB alike) may delete it between two snapshots. Such a removal is
    the database's doing; anything else that differs is the request's.
    """
    from resolution.store.documents import ComplaintDocument

    db = ComplaintDocument._get_db()
    after = stored(tuple(before))
    for name, docs in before.items():
        left = {doc["_id"] for doc in after[name]}
        expired = _expired(db, name)
        before = {**before, name: [d for d in docs if d["_id"] in left or not expired(d)]}
    assert after == before


def restore(baseline: dict[str, list[dict]]) -> None:
    """Put every collection of `baseline` back as it was (a module-shared database's reset)."""
    from resolution.store.documents import ComplaintDocument

    db = ComplaintDocument._get_db()
    for name in db.list_collection_names():
        if not name.startswith("system."):
            db[name].delete_many({})
            if baseline.get(name):
                db[name].insert_many(baseline[name])
