"""Evidence files in GridFS, in the same database as the events (no local disk), and each
file's own key in `file_keys`, apart from its chunks (service/encryption.py)."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import GridFSBucket, GridOut, NoFile

from ..domain.events import EPOCH
from .documents import ComplaintDocument, FileKeyDocument
from .errors import guarded

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
