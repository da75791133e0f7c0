"""Checkpoint time and memory as complaints grow (issue 22): how long signing a checkpoint
takes, and its peak of Python allocations, at 10,000 complaints by default and 100,000 with
`--sizes 10000,100000`.

Run: `.venv/bin/python benchmarks/checkpoint.py [--sizes 10000,100000]` (a throw-away embedded
database; projections are inserted directly, `_id`, `version` and `last_hash` being all a
checkpoint reads). For each size: the first checkpoint (every chunk written), a second after
1% of the complaints moved (only their chunks written again), and a proof read. Figures, not
asserts: not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bson import ObjectId  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from resolution.domain.actors import Actor, Role  # noqa: E402
from resolution.service import Context, anchoring  # noqa: E402
from resolution.store import database  # noqa: E402
from resolution.store.documents import ComplaintDocument  # noqa: E402
from resolution.store.embedded import EmbeddedServer  # noqa: E402


def fill(n: int) -> list[str]:
    ids = [str(ObjectId()) for _ in range(n)]
    docs = [
        {"_id": cid, "version": 5, "last_hash": hashlib.sha256(cid.encode()).hexdigest()}
        for cid in ids
    ]
    collection = ComplaintDocument._get_collection()
    for i in range(0, n, 5000):
        collection.insert_many(docs[i : i + 5000], ordered=False)
    return ids


def timed(step):
    tracemalloc.start()
    start = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated complaint counts")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    ctx = Context(signing_key=Ed25519PrivateKey.generate())
    auditor = Actor(Role.AUDITOR, "bench")
    print("complaints  step               seconds   traced peak MiB")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServer(Path(tmp), in_memory=True) as db:
        for size in sizes:
            database.connect(db.uri, f"bench_checkpoint_{size}")
            ids = fill(size)
            made, seconds, peak = timed(lambda: anchoring.make(ctx))
            print(f"{size:>10,}  first checkpoint {seconds:>9.2f}   {peak / 2**20:>10.1f}")
            moved = ids[::100]
            ComplaintDocument._get_collection().update_many(
                {"_id": {"$in": moved}}, {"$inc": {"version": 1}, "$set": {"last_hash": "ab" * 32}}
            )
            made, seconds, peak = timed(lambda: anchoring.make(ctx))
            print(f"{size:>10,}  after 1% moved   {seconds:>9.2f}   {peak / 2**20:>10.1f}")
            _, seconds, peak = timed(partial(anchoring.proof, ctx, auditor, ids[size // 2]))
            print(f"{size:>10,}  one proof        {seconds:>9.3f}   {peak / 2**20:>10.1f}")
            ComplaintDocument._get_db().client.drop_database(f"bench_checkpoint_{size}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident size of this process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
