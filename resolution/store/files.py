"""Evidence files in GridFS, in the same database as the events (no local disk)."""

from __future__ import annotations

from typing import BinaryIO

from bson import ObjectId
from bson.errors import InvalidId
from gridfs import GridFSBucket, GridOut, NoFile

from .documents import ComplaintDocument

BUCKET = "evidence"


def _bucket() -> GridFSBucket:
    return GridFSBucket(ComplaintDocument._get_db(), bucket_name=BUCKET)


def put(stream: BinaryIO, metadata: dict) -> str:
    """Stores a file (never changed afterwards) and returns its id."""
    return str(_bucket().upload_from_stream("evidence", stream, metadata=metadata))


def delete(file_id: str) -> None:
    """Removes a file whose event was never recorded; a missing file is no error."""
    try:
        _bucket().delete(ObjectId(file_id))
    except (NoFile, InvalidId):
        pass


def open_file(file_id: str) -> GridOut | None:
    """The stored file, seekable, or None."""
    try:
        return _bucket().open_download_stream(ObjectId(file_id))
    except (NoFile, InvalidId):
        return None
