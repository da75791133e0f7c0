"""Audit exports: stream events as masked, chained, signed NDJSON or CSV; verify such a file.

Memory stays flat however many events match: one database cursor, one record at a time.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TextIO

from ..domain.actors import Actor
from ..domain.audit import CSV_COLUMNS, Finding, chained, verify_records
from ..domain.errors import Forbidden, Invalid
from ..domain.events import EPOCH, GENESIS, canonical, iso
from ..store import audit as store
from . import signing, views
from .unit_of_work import Context

FORMATS = ("ndjson", "csv")


@dataclass(frozen=True)
class ExportQuery:
    """Which events: a time range [since, until), and optionally types, a channel, a complaint."""

    since: datetime = EPOCH
    until: datetime | None = None
    types: tuple[str, ...] = ()
    channel: str | None = None
    complaint_id: str | None = None

    def filters(self) -> dict:
        shown = {"types": list(self.types), "channel": self.channel}
        shown["complaint_id"] = self.complaint_id
        return {k: v for k, v in shown.items() if v}


def count_events(query: ExportQuery, until: datetime) -> int:
    """How many events the query matches before the channel filter (for a progress bar)."""
    return store.count_between(query.since, until, **_range(query))


def _range(query: ExportQuery) -> dict[str, Any]:
    # A given `until` is exclusive; without one, the export runs up to now, now included.
    return {
        "until_included": query.until is None,
        "types": query.types,
        "complaint_id": query.complaint_id,
    }


def check_can_export(actor: Actor) -> None:
    """Audit exports are for auditors and the care team: anyone else is refused (403)."""
    if not actor.is_staff:
        raise Forbidden("Audit exports are for auditors and the care team.")


def export_records(ctx: Context, actor: Actor, query: ExportQuery) -> Iterator[dict]:
    """The masked, chained event records of the query, then the signed manifest record."""
    check_can_export(actor)
    if query.until is not None and query.until <= query.since:
        raise Invalid(
            "`until` must be later than `since`.", {"until": ["must be later than since"]}
        )
    until = query.until or ctx.clock()

    # bounded: memory stays flat over any number of complaints
    channel_of = lru_cache(maxsize=4096)(store.channel_of)

    def events() -> Iterator[dict]:
        for event in store.events_between(query.since, until, **_range(query)):
            if query.channel and channel_of(event.complaint_id) != query.channel:
                continue
            yield views.exported_event(event)

    count, line_hash = 0, GENESIS
    for record in chained(events()):
        count, line_hash = count + 1, record["line_hash"]
        yield record
    yield manifest(ctx, count, query.since, until, query.filters(), line_hash)


def manifest(
    ctx: Context, count: int, since: datetime, until: datetime, filters: dict, line_hash: str
) -> dict:
    """The export's last record: what it holds, its running hash, signed by the service."""
    body = {
        "count": count,
        "since": iso(since),
        "until": iso(until),
        "filters": filters,
        "line_hash": line_hash,
        "generated_at": iso(ctx.clock()),
        "public_key": signing.public_key(ctx.signing_key),
    }
    return {"manifest": body, "signature": signing.sign(ctx.signing_key, canonical(body))}


def as_ndjson(records: Iterable[dict]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def as_csv(records: Iterable[dict]) -> Iterator[str]:
    """One row per event (nested fields as JSON), the manifest as a last row of type `manifest`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def row(values: list) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield row(list(CSV_COLUMNS))
    for record in records:
        if "manifest" in record:
            values = {"type": "manifest", "data": record["manifest"], "hash": record["signature"]}
        else:
            values = record
        yield row([_cell(values.get(column)) for column in CSV_COLUMNS])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return str(value)


def _read(stream: TextIO) -> Iterator[tuple[int, dict]]:
    """(line number, record) from an NDJSON or CSV export, the manifest included.

    A line that is not a record of an export raises `_Unreadable` naming that line.
    """
    first = stream.read(1)
    stream.seek(0)
    if first == "{":
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, _parsed(number, line)
        return
    reader = csv.DictReader(stream)
    if reader.fieldnames is None:
        return  # an empty file: no manifest either, which `verify` reports
    if reader.fieldnames != list(CSV_COLUMNS):
        raise _Unreadable(1, f"the CSV columns are not {','.join(CSV_COLUMNS)}")
    while True:
        number = reader.line_num + 1  # the line the row starts on
        try:
            row = next(reader, None)
        except csv.Error as error:
            raise _Unreadable(number, f"not CSV ({error})") from error
        if row is None:
            return
        yield number, _from_row(number, row)


def _parsed(number: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise _Unreadable(number, f"not JSON ({error})") from error
    if not isinstance(record, dict):
        raise _Unreadable(number, "not a JSON object")
    return record


def _from_row(number: int, row: dict) -> dict:
    if None in row or None in row.values():
        raise _Unreadable(number, f"a row has {len(CSV_COLUMNS)} cells")
    try:
        if row["type"] == "manifest":
            return {"manifest": json.loads(row["data"]), "signature": row["hash"]}
        record = {column: row[column] for column in CSV_COLUMNS}
        record["seq"] = int(record["seq"])
        for column in ("actor", "data", "data_hashes"):
            record[column] = json.loads(record[column] or "{}")
    except ValueError as error:
        raise _Unreadable(number, str(error)) from error
    return record


def _claims(stream: TextIO) -> dict:
    """The manifest's body as the file states it (checked later), or {} when the last record
    is not a manifest. Read first: it says which filters explain gaps in the chains."""
    body: Any = None
    try:
        first = stream.read(1)
        stream.seek(0)
        if first == "{":
            last = None
            for line in stream:
                last = line if line.strip() else last
            body = json.loads(last).get("manifest") if last else None
        else:
            rows = csv.reader(stream)
            header, last = next(rows, None), None
            for row in rows:
                last = row
            if header == list(CSV_COLUMNS) and last and len(last) == len(header):
                cells = dict(zip(header, last, strict=True))
                body = json.loads(cells["data"]) if cells["type"] == "manifest" else None
    except (ValueError, AttributeError, csv.Error):
        body = None  # the verifying pass says what is wrong, and where
    finally:
        stream.seek(0)
    return body if isinstance(body, dict) else {}


def verify(stream: TextIO, public_key: str | None = None) -> Finding:
    """Recomputes an export's chains, its manifest and signature: the first fault, or ok.

    `stream` must be seekable: the manifest (the last record) is read first, because its
    filters say whether a complaint's events may skip `seq`s (a `type` filter) and whether
    every chain must start at `seq` 1 (an export from the beginning of time).
    """
    claims = _claims(stream)
    filters = claims.get("filters") if isinstance(claims.get("filters"), dict) else {}
    gaps = bool(filters.get("types"))
    whole = claims.get("since") == iso(EPOCH)
    manifest_record: dict | None = None
    manifest_line = None

    def events() -> Iterator[tuple[int, dict]]:
        nonlocal manifest_record, manifest_line
        for number, record in _read(stream):
            if manifest_record is not None:
                raise _Trailing(number)
            if "manifest" in record:
                manifest_record, manifest_line = record, number
                continue
            yield number, record

    try:
        finding, line_hash, count = verify_records(events(), gaps=gaps, whole=whole)
    except _Trailing as trailing:
        return Finding(False, "records follow the manifest", trailing.args[0])
    except _Unreadable as error:
        line, reason = error.args
        return Finding(False, f"not a record of an export this service wrote: {reason}", line)
    if not finding.ok:
        return finding
    if manifest_record is None:
        return Finding(False, "no manifest: the export is incomplete")
    body, signature = manifest_record["manifest"], manifest_record.get("signature", "")
    if not isinstance(body, dict) or not isinstance(signature, str):
        return Finding(False, "the manifest is not one this service wrote", manifest_line)
    if body.get("count") != count or body.get("line_hash") != line_hash:
        return Finding(False, "the manifest does not match the records", manifest_line)
    key = public_key or body.get("public_key", "")
    if not isinstance(key, str) or not signing.verify(key, canonical(body), signature):
        return Finding(False, "the manifest's signature is not valid for that key", manifest_line)
    source = "the given key" if public_key else "the key inside the file (pass --public-key)"
    return Finding(True, f"ok: {count} events, chains and signature verified with {source}")


class _Trailing(Exception):
    pass


class _Unreadable(Exception):
    """(line number, why): a line that is not a record of an export."""
