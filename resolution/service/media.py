"""Uploaded files made fit to keep: type read from the bytes, size checked, metadata removed.

The content type comes from the bytes (the `filetype` library), never from the client's
word or the file name. JPEG, PNG and WebP are re-saved without EXIF, so a photo of a parcel
does not publish where the buyer lives; a PDF loses its document information (author,
creator, producer, title …) and every XMP packet (pikepdf); an MP4 or QuickTime video is
copied into a new container, stream by stream, without a byte of its metadata (GPS position,
device make and model, timed metadata tracks) (PyAV, FFmpeg's libraries); the hash is of
what is stored.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import av
import filetype
import pikepdf
from PIL import Image, ImageOps, UnidentifiedImageError

from ..domain.commands import a
from ..domain.errors import FileTooLarge, Invalid, UnsupportedFile
from ..domain.evidence import CONTENT_TYPES, IMAGES, PDF, VIDEOS, Limits, category

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
    elif guess.mime in PDF:
        stream = _pdf_without_metadata(stream)
    elif guess.mime in VIDEOS:
        stream = _video_without_metadata(stream, guess.mime)
    return Prepared(stream, guess.mime, *_size_and_hash(stream))


# Atoms that carry a video's metadata: user data (where `©xyz`, the GPS position, and
# `©mak`/`©mod`, the device, live), `meta` with Apple's `mdta` keys, XMP.
_VIDEO_METADATA = (b"udta", b"\xa9xyz", b"\xa9mak", b"\xa9mod", b"mdta", b"meta", b"XMP_")
_MUXERS = {"video/mp4": "mp4", "video/quicktime": "mov"}


def _video_without_metadata(stream: BinaryIO, content_type: str) -> BinaryIO:
    """The video's audio and video streams copied, packet for packet (no re-encoding), into
    a new container of its kind that carries no metadata: no GPS position, no device make or
    model, no timed metadata track, no encoder tag (`bitexact`). A video FFmpeg cannot read
    is kept only if none of the metadata atoms' names appear in its bytes (415 otherwise)."""
    out = tempfile.TemporaryFile()
    try:
        with av.open(stream, mode="r") as source:
            kept = [s for s in source.streams if s.type in ("video", "audio")]
            if not kept:
                raise ValueError("no audio or video stream")
            with av.open(
                out, mode="w", format=_MUXERS[content_type], options={"fflags": "+bitexact"}
            ) as target:
                copies = {s.index: target.add_stream_from_template(s) for s in kept}
                for packet in source.demux(*kept):
                    if packet.dts is None:
                        continue  # a demuxer's flush packet
                    packet.stream = copies[packet.stream.index]
                    target.mux(packet)
    except (av.error.FFmpegError, ValueError, OSError) as error:
        out.close()
        stream.seek(0)
        if _has_video_metadata(stream):
            raise UnsupportedFile(
                "This video cannot be read to remove its metadata (GPS position, device); "
                "send it again as it came from the phone's camera."
            ) from error
        stream.seek(0)
        return stream
    out.seek(0)
    return out  # type: ignore[return-value]


def _has_video_metadata(stream: BinaryIO) -> bool:
    tail = b""
    while chunk := stream.read(_CHUNK):
        window = tail + chunk
        if any(marker in window for marker in _VIDEO_METADATA):
            return True
        tail = window[-8:]
    return False


# What a PDF's metadata is written with: the document information's keys, and XMP.
_PDF_METADATA = (
    b"/Author",
    b"/Creator",
    b"/Producer",
    b"/Title",
    b"/Subject",
    b"/Keywords",
    b"/Metadata",
    b"/PieceInfo",
    b"xmpmeta",
)


def _pdf_without_metadata(stream: BinaryIO) -> BinaryIO:
    """The PDF without its document information dictionary (author, creator, producer …),
    without any XMP metadata stream (the document's, a page's, an image's) and without
    private application data (`/PieceInfo`), written again by pikepdf (qpdf); a PDF that has
    none of these is kept byte for byte. One qpdf cannot read is kept only if no metadata
    key appears in its bytes (415 otherwise: what cannot be read cannot be cleaned)."""
    data = stream.read()
    try:
        document = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError as error:
        if any(marker in data for marker in _PDF_METADATA):
            raise UnsupportedFile(
                "This PDF cannot be read to remove its metadata (author, XMP); export it again "
                "or send a picture of it."
            ) from error
        return io.BytesIO(data)
    with document:
        found = "/Info" in document.trailer
        if found:
            del document.trailer["/Info"]
        for obj in document.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                for key in ("/Metadata", "/PieceInfo"):
                    if key in obj:
                        del obj[key]
                        found = True
        if not found:
            return io.BytesIO(data)
        out = io.BytesIO()
        document.save(out, fix_metadata_version=False)
    out.seek(0)
    return out


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
