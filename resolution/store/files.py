"""Evidence files in GridFS, in the same database as the events (no local disk)."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import GridFSBucket, GridOut, NoFile

from ..domain.events import EPOCH
from .documents import ComplaintDocument
from .errors import guarded

BUCKET = "evidence"


def _bucket() -> GridFSBucket:
    return GridFSBucket(ComplaintDocument._get_db(), bucket_name=BUCKET)


@guarded
def put(stream: BinaryIO, metadata: dict) -> str:
    """Stores a file (never changed afterwards) and returns its id."""
    return str(_bucket().upload_from_stream("evidence", stream, metadata=metadata))


@guarded
def delete(file_id: str) -> None:
    """Removes a file whose event was never recorded; a missing file is no error."""
    try:
        _bucket().delete(ObjectId(file_id))
    except (NoFile, InvalidId):
        pass


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
    # `$in` with None: files stored before `recorded: False` was written at upload have none.
    # (`$ne: True` would read the whole collection on SecantusDB: store/documents.py.)
    query = {
        "metadata.recorded": {"$in": [False, None]},
        "uploadDate": {"$gte": EPOCH, "$lt": cutoff},
    }
    projection = {"metadata.complaint_id": 1}
    return [
        (str(doc["_id"]), doc.get("metadata", {}).get("complaint_id", ""))
        for doc in _files_collection().find(query, projection)
    ]
