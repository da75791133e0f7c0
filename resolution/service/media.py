"""Uploaded files made fit to keep: type read from the bytes, size checked, photos cleaned.

The content type comes from the bytes (the `filetype` library), never from the client's
word or the file name. JPEG, PNG and WebP are re-saved without EXIF, so a photo of a parcel
does not publish where the buyer lives; the hash is of what is stored.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain.commands import a
from ..domain.errors import FileTooLarge, Invalid, UnsupportedFile
from ..domain.evidence import CONTENT_TYPES, IMAGES, Limits, category

_PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_CHUNK = 1 << 20


@dataclass
class Prepared:
    """A file ready for storage: its bytes (at position 0) and what we know of them."""

    stream: BinaryIO
    content_type: str
    size: int
    sha256: str


def prepare(stream: BinaryIO, kind: str, limits: Limits) -> Prepared:
    """Reads, checks and (for photos) cleans an upload (`Invalid`, `UnsupportedFile`,
    `FileTooLarge` when it cannot be kept)."""
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size == 0:
        raise Invalid("The file is empty.", {"file": ["empty"]})
    guess = filetype.guess(stream.read(8192))
    stream.seek(0)
    allowed = CONTENT_TYPES[kind]
    if guess is None or guess.mime not in allowed:
        found = guess.mime if guess else "unrecognised content"
        raise UnsupportedFile(
            f"{a(kind)} must be one of {', '.join(sorted(allowed))}; this file is {found}."
        )
    limit = limits.for_category(category(guess.mime))
    if size > limit:
        raise FileTooLarge(
            f"{a(category(guess.mime))} may be at most {limit} bytes; this is {size}."
        )
    if guess.mime in IMAGES:
        stream = _without_metadata(stream, guess.mime)
    return Prepared(stream, guess.mime, *_size_and_hash(stream))


def _without_metadata(stream: BinaryIO, content_type: str) -> BinaryIO:
    """The image re-saved with its pixels upright and no metadata at all (EXIF with GPS,
    camera and time; XMP; comments; PNG text), only its colour profile."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                out = io.BytesIO()
                options = {"exif": b""}
                if image.info.get("icc_profile"):
                    options["icc_profile"] = image.info["icc_profile"]  # colours, not people
                if content_type == "image/jpeg":
                    options["quality"] = 95
                    options["comment"] = b""  # Pillow would carry a COM marker over
                upright.save(out, format=_PIL_FORMATS[content_type], **options)
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as error:
        raise Invalid("The image cannot be read.", {"file": [str(error)[:200]]}) from error
    out.seek(0)
    return out


def _size_and_hash(stream: BinaryIO) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return size, digest.hexdigest()
