"""Evidence files in GridFS, in the same database as the events (no local disk), and each
file's own key in `file_keys`, apart from its chunks (service/encryption.py)."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import GridFSBucket, GridOut, NoFile
from pymongo.errors import DuplicateKeyError

from ..domain.events import EPOCH
from .documents import ComplaintDocument, FileKeyDocument
from .errors import guarded
from .transactions import Session, transaction

BUCKET = "evidence"


def _bucket() -> GridFSBucket:
    return GridFSBucket(ComplaintDocument._get_db(), bucket_name=BUCKET)


def new_file_id() -> str:
    return str(ObjectId())


@guarded
def put(stream: BinaryIO, metadata: dict, file_id: str | None = None) -> str:
    """Stores a file (never changed afterwards) under `file_id` (a new id when None) and
    returns its id."""
    oid = ObjectId(file_id) if file_id else ObjectId()
    _bucket().upload_from_stream_with_id(oid, "evidence", stream, metadata=metadata)
    return str(oid)


@guarded
def delete(file_id: str) -> None:
    """Destroys a file: its key first (without it the chunks, and any copy of them, are
    noise), then its chunks. A missing file or key is no error."""
    _keys().delete_one({"_id": file_id})
    try:
        _bucket().delete(ObjectId(file_id))
    except (NoFile, InvalidId):
        pass


def _keys():
    return FileKeyDocument._get_collection()


@guarded
def save_key(file_id: str, record: dict) -> None:
    """Keeps a file's wrapped key (before its chunks are written: a crash in between leaves
    a key without a file, which the orphan clean-up removes with the file's id)."""
    _keys().insert_one({"_id": file_id, **record})


@guarded
def key_of(file_id: str) -> dict | None:
    """The file's wrapped key record, or None once destroyed."""
    return _keys().find_one({"_id": file_id})


@guarded
def keys_not_under(kek: str, limit: int = 1000) -> list[dict]:
    """Key records wrapped by another master key than `kek` (the rotation's work)."""
    # Per index key: `$ne` would read every record on the embedded database.
    found = []
    for other in _keys().distinct("kek"):
        if other != kek and len(found) < limit:
            found += list(_keys().find({"kek": other}).limit(limit - len(found)))
    return found


@guarded
def replace_key(file_id: str, old_kek: str, record: dict) -> bool:
    """Re-wraps a key, unless another process did it first (or it was destroyed)."""
    result = _keys().update_one({"_id": file_id, "kek": old_kek}, {"$set": record})
    return result.modified_count == 1


@guarded
def open_file(file_id: str) -> GridOut | None:
    """The stored file, seekable, or None."""
    try:
        return _bucket().open_download_stream(ObjectId(file_id))
    except (NoFile, InvalidId):
        return None


def _files_collection():
    return ComplaintDocument._get_db()[f"{BUCKET}.files"]


@guarded
def ensure_indexes() -> None:
    """The index the orphan clean-up reads (raw pymongo: GridFS is not a mongoengine document)."""
    _files_collection().create_index(
        [("metadata.recorded", 1), ("uploadDate", 1)], name="unrecorded_by_age"
    )
    # The files stored before files were encrypted (`metadata.encryption` missing: null in
    # the index), walked by `_id` in batches by `encrypt-files`.
    _files_collection().create_index([("metadata.encryption", 1), ("_id", 1)], name="by_encryption")
    # GridFS's own index on chunks, made now rather than by the first upload: under load
    # (store/documents.py's ensure_indexes says why that matters to the embedded database).
    ComplaintDocument._get_db()[f"{BUCKET}.chunks"].create_index(
        [("files_id", 1), ("n", 1)], unique=True
    )


@guarded
def mark_recorded(file_id: str) -> None:
    """The file's event is committed: the orphan clean-up must leave it alone."""
    _files_collection().update_one(
        {"_id": ObjectId(file_id)}, {"$set": {"metadata.recorded": True}}
    )


@guarded
def unrecorded_before(cutoff: datetime) -> list[tuple[str, str]]:
    """(file id, complaint id) of files stored before `cutoff` and never marked recorded."""
    # One range of `unrecorded_by_age` per value: `recorded: False`, and None for files
    # stored before `recorded: False` was written at upload. (`$in` of both read every file
    # on SecantusDB, as `$ne: True` would: store/documents.py.)
    projection = {"metadata.complaint_id": 1}
    found = []
    for recorded in (False, None):
        query = {"metadata.recorded": recorded, "uploadDate": {"$gte": EPOCH, "$lt": cutoff}}
        found += [
            (str(doc["_id"]), doc.get("metadata", {}).get("complaint_id", ""))
            for doc in _files_collection().find(query, projection)
        ]
    return found


# --- files stored before encryption, sealed in place (`resolution encrypt-files`) ---------


@guarded
def plaintext_after(after: str | None, limit: int) -> list[dict]:
    """Up to `limit` files stored unencrypted (no `metadata.encryption`), by `_id` after
    `after`: their id, length and metadata."""
    query: dict = {"metadata.encryption": None}
    query["_id"] = {"$gt": ObjectId(after) if after else ObjectId("0" * 24)}
    cursor = (
        _files_collection()
        .find(query, {"length": 1, "metadata": 1})
        .sort([("metadata.encryption", 1), ("_id", 1)])
        .limit(limit)
    )
    return [{**doc, "_id": str(doc["_id"])} for doc in cursor]


@guarded
def claim_for_sealing(
    file_id: str, record: dict, copy_id: str, now: datetime, stale_before: datetime
) -> tuple[bool, str | None]:
    """Saves the key a plaintext file is to be sealed under, marked as in progress
    (`sealing`: the sealed copy's id and when), unless another process holds it.

    (claimed, the abandoned copy of a process that held it and died, to delete). A claim
    older than `stale_before` is taken over; a key record with no `sealing` mark (the file
    sealed meanwhile, or a key of another kind) is left alone.
    """
    mark = {"copy": copy_id, "since": now}
    try:
        _keys().insert_one({"_id": file_id, **record, "sealing": mark})
        return True, None
    except DuplicateKeyError:
        pass
    held = _keys().find_one({"_id": file_id})
    if held is None or "sealing" not in held or held["sealing"]["since"] > stale_before:
        return False, None
    taken = _keys().update_one(
        {"_id": file_id, "sealing.copy": held["sealing"]["copy"]},
        {"$set": {**record, "sealing": mark}},
    )
    return taken.modified_count == 1, held["sealing"]["copy"]


@guarded
def put_sealed_copy(stream: BinaryIO, metadata: dict, copy_id: str, file_id: str) -> None:
    """Stores the sealed copy of a plaintext file under its own id (`metadata.seals`: the
    file's), marked recorded so the orphan clean-up leaves it to the sealing."""
    metadata = {**metadata, "recorded": True, "seals": file_id}
    _bucket().upload_from_stream_with_id(ObjectId(copy_id), "evidence", stream, metadata=metadata)


@guarded
def swap_in_sealed(file_id: str, copy_id: str, metadata: dict) -> bool:
    """Replaces the plaintext file by its sealed copy under the file's own id, and ends the
    claim, in one transaction: a reader finds the file whole, plaintext or sealed, and a
    crash leaves the plaintext as it was. False (nothing changed) when the claim is no longer
    this copy's (another process took it over) or the file is gone or sealed already."""
    oid, copy = ObjectId(file_id), ObjectId(copy_id)
    db = ComplaintDocument._get_db()
    stored, chunks = db[f"{BUCKET}.files"], db[f"{BUCKET}.chunks"]

    # Several documents change together (the chunks of both files, both file documents and
    # the key's claim): a transaction, so nobody ever reads half of a swap.
    def work(session: Session) -> bool:
        claim = _keys().find_one({"_id": file_id, "sealing.copy": copy_id}, session=session)
        plain = stored.find_one({"_id": oid}, session=session)
        sealed = stored.find_one({"_id": copy}, session=session)
        if claim is None or plain is None or sealed is None:
            return False
        if (plain.get("metadata") or {}).get("encryption") is not None:
            return False
        chunks.delete_many({"files_id": oid}, session=session)
        chunks.update_many({"files_id": copy}, {"$set": {"files_id": oid}}, session=session)
        stored.delete_one({"_id": copy}, session=session)
        # The file keeps its id and upload time (the orphan clean-up's clock); it is now
        # the sealed bytes.
        swapped = {**sealed, "_id": oid, "uploadDate": plain["uploadDate"], "metadata": metadata}
        stored.replace_one({"_id": oid}, swapped, session=session)
        _keys().update_one({"_id": file_id}, {"$unset": {"sealing": ""}}, session=session)
        return True

    return transaction(work)


@guarded
def abandon_sealing(file_id: str, copy_id: str) -> None:
    """Deletes a sealed copy that was not swapped in, and the claim's key if it is still this
    copy's (the file is gone: its key must not outlive it)."""
    _keys().delete_one({"_id": file_id, "sealing.copy": copy_id})
    try:
        _bucket().delete(ObjectId(copy_id))
    except NoFile:
        pass
