"""Audit exports: stream events as masked, chained, signed NDJSON or CSV; verify such a file.

Memory stays flat however many events match: one database cursor, one record at a time.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, TextIO

from ..domain.actors import Actor
from ..domain.audit import CSV_COLUMNS, UNSALTED_CSV_COLUMNS, Finding, chained, verify_records
from ..domain.checkpoints import Malformed, key_id, parse
from ..domain.errors import Forbidden, Invalid
from ..domain.events import EPOCH, GENESIS, canonical, iso, sha256
from ..store import audit as store
from . import anchoring, signing, views
from .unit_of_work import Context

FORMATS = ("ndjson", "csv")
# An export after another reads from this much before the previous one's checkpoint: an
# event clocked before that checkpoint but committed after its heads were read is in neither
# otherwise.
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class ExportQuery:
    """Which events: a time range [since, until), and optionally types, a channel, a complaint."""

    since: datetime = EPOCH
    until: datetime | None = None
    types: tuple[str, ...] = ()
    channel: str | None = None
    complaint_id: str | None = None
    after: dict | None = None  # the previous export's manifest body (`--after`)

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
    """The masked, chained event records of the query, then the signed manifest record.

    The export ends at a checkpoint: the latest made by its `until` (run `resolution
    checkpoint` first for one up to the minute). The
    manifest carries that checkpoint's line and, unless filtered by type, the head of every
    complaint it covers with its inclusion proof: `verify` then finds a complaint whose events
    stop short of its head. After another export (`after`), it starts where that one ended.
    """
    check_can_export(actor)
    since, prior = query.since, _prior_heads(query.after)
    if query.after is not None:
        since = _after_until(query)
    if query.until is not None and query.until <= since:
        raise Invalid(
            "`until` must be later than `since`.", {"until": ["must be later than since"]}
        )
    until = query.until or ctx.clock()
    checkpoint = anchoring.for_export(until)
    # bounded: memory stays flat over any number of complaints
    channel_of = lru_cache(maxsize=4096)(store.channel_of)

    def covered(complaint_id: str) -> bool:
        if query.complaint_id and complaint_id != query.complaint_id:
            return False
        return not query.channel or channel_of(complaint_id) == query.channel

    heads = []
    if checkpoint is not None and not query.types:  # a type filter skips events by design
        heads = list(anchoring.heads_with_paths(checkpoint, covered, query.complaint_id))
    read_from = since
    if query.after is not None:
        # From a little before the previous export's checkpoint: every event after the heads
        # it committed to (the rest of that export's are left out below).
        read_from = min(since, _checkpoint_time(query.after)) - OVERLAP

    def events() -> Iterator[dict]:
        for event in store.events_between(read_from, until, **_range(query)):
            if query.channel and channel_of(event.complaint_id) != query.channel:
                continue
            if event.complaint_id in prior and event.seq <= prior[event.complaint_id]:
                continue  # the previous export's (any other event goes in, a tampered seq
                # of 0 or less too: the file must show it, not drop it)
            yield views.exported_event(event)

    count, line_hash = 0, GENESIS
    for record in chained(events()):
        count, line_hash = count + 1, record["line_hash"]
        yield record
    anchor = {"checkpoint": checkpoint.line if checkpoint else None, "heads": heads}
    if query.after is not None:
        anchor["after"] = sha256(query.after)
    yield manifest(ctx, count, since, until, query.filters(), line_hash, anchor)


def _checkpoint_time(after: dict) -> datetime:
    try:
        return datetime.fromisoformat(parse(after.get("checkpoint")).time)
    except Malformed as error:
        raise Invalid("The previous export names no checkpoint to follow on from.") from error


def _prior_heads(after: dict | None) -> dict[str, int]:
    heads = (after or {}).get("heads") or []
    return {h[0]: h[1] for h in heads if isinstance(h, list) and len(h) == 5}


def _after_until(query: ExportQuery) -> datetime:
    """Where an export after another starts: where that one ended (a `since` that is not
    would leave a gap or an overlap, and is refused)."""
    try:
        until = datetime.fromisoformat(query.after["until"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as error:
        raise Invalid("The previous export's manifest has no `until`.") from error
    if query.since not in (EPOCH, until):
        raise Invalid(f"--since must be the previous export's end, {iso(until)}, or absent.")
    return until


def manifest(
    ctx: Context,
    count: int,
    since: datetime,
    until: datetime,
    filters: dict,
    line_hash: str,
    anchor: dict | None = None,
) -> dict:
    """The export's last record: what it holds, its running hash, the checkpoint it ends at
    (with the heads it commits to), signed by the service."""
    body = {
        **(anchor or {}),
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
    if reader.fieldnames not in (list(CSV_COLUMNS), list(UNSALTED_CSV_COLUMNS)):
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
        raise _Unreadable(number, f"a row has {len(row)} cells")
    try:
        if row["type"] == "manifest":
            return {"manifest": json.loads(row["data"]), "signature": row["hash"]}
        record = dict(row)  # the file's own columns: an export from before salts has fewer
        record["seq"] = int(record["seq"])
        if "hash_version" in record:
            record["hash_version"] = int(record["hash_version"])
        for column in ("actor", "data", "data_hashes", "salts"):
            if column in record:
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
            known = header in (list(CSV_COLUMNS), list(UNSALTED_CSV_COLUMNS))
            if known and last and len(last) == len(header):
                cells = dict(zip(header, last, strict=True))
                body = json.loads(cells["data"]) if cells["type"] == "manifest" else None
    except (ValueError, AttributeError, csv.Error):
        body = None  # the verifying pass says what is wrong, and where
    finally:
        stream.seek(0)
    return body if isinstance(body, dict) else {}


def verify(stream: TextIO, public_key: str | None = None, previous: dict | None = None) -> Finding:
    """Recomputes an export's chains, its manifest and signature, and holds its events to the
    checkpoint it ends at (and to the export before it, `previous`: that one's manifest
    record): the first fault, or ok.

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
    claimed = {h[0]: h[1] for h in claims.get("heads") or [] if isinstance(h, list) and h}
    spans: dict[str, list] = {}  # complaint → [first seq, its prev_hash, last seq, hash at head]

    def events() -> Iterator[tuple[int, dict]]:
        nonlocal manifest_record, manifest_line
        for number, record in _read(stream):
            if manifest_record is not None:
                raise _Trailing(number)
            if "manifest" in record:
                manifest_record, manifest_line = record, number
                continue
            _track(spans, claimed, record)
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
    anchored = _anchor_fault(body, key, spans, whole and not gaps, previous)
    if anchored:
        return Finding(False, anchored.message, manifest_line, anchored.complaint_id, anchored.seq)
    source = "the given key" if public_key else "the key inside the file (pass --public-key)"
    return Finding(True, f"ok: {count} events, chains and signature verified with {source}")


def _track(spans: dict[str, list], claimed: dict, record: dict) -> None:
    try:
        cid, seq = record["complaint_id"], record["seq"]
        span = spans.get(cid)
        if span is None:
            span = spans[cid] = [seq, record["prev_hash"], seq, None]
        span[2] = max(span[2], seq) if isinstance(seq, int) else span[2]
        if claimed.get(cid) == seq:
            span[3] = record["hash"]
    except (KeyError, TypeError):
        pass  # not an event: the verifying pass names it


def _anchor_fault(
    body: dict, key: str, spans: dict[str, list], whole: bool, previous: dict | None
) -> Finding | None:
    """The export against the checkpoint it names, and against the export before it."""
    line = body.get("checkpoint")
    heads = body.get("heads") or []
    if line is None:
        if previous is not None:
            return Finding(False, "the export names no checkpoint, so nothing ties it to --after")
        return None
    try:
        checkpoint = parse(line)
    except Malformed as error:
        return Finding(False, f"the manifest's checkpoint: {error}")
    trusted = {key_id(_raw(key)): key}
    bad = anchoring.check_signature(checkpoint, trusted)
    if bad:
        return Finding(False, bad)
    if not isinstance(heads, list):
        return Finding(False, "the manifest's heads are not a list")
    n = checkpoint.n
    prior = _heads_of(previous) if previous is not None else None
    if previous is not None:
        prev_body = previous.get("manifest") if isinstance(previous, dict) else None
        if not isinstance(prev_body, dict) or not signing.verify(
            key, canonical(prev_body), str(previous.get("signature", ""))
        ):
            return Finding(False, "the previous export's manifest is not signed with that key")
        if body.get("after") != sha256(prev_body):
            return Finding(False, "the previous export given is not the one this export follows")
        if prev_body.get("until") != body.get("since"):
            return Finding(False, "events are missing between the two exports (a time gap)")
    for head in heads:
        why = anchoring.head_fault(checkpoint, head)
        if why:
            return Finding(False, f"the manifest's heads: {why}")
        cid, seq, digest = head[0], head[1], head[2]
        span = spans.get(cid)
        before = prior.get(cid, (0, GENESIS)) if prior is not None else None
        if span is None:
            if whole or (before is not None and before[0] < seq):
                return Finding(
                    False,
                    f"complaint {cid}: no events in the export, checkpoint {n} commits to "
                    f"seq {seq} (cut off)",
                    complaint_id=cid,
                )
            continue
        first, first_prev, last, at_head = span
        if before is not None and (first != before[0] + 1 or first_prev != before[1]):
            return Finding(
                False,
                f"complaint {cid}: events are missing between the exports (the previous one "
                f"ends at seq {before[0]}, this one starts at seq {first})",
                complaint_id=cid,
            )
        if last < seq:
            return Finding(
                False,
                f"complaint {cid}: its events end at seq {last}, checkpoint {n} commits to "
                f"seq {seq} (cut off)",
                complaint_id=cid,
                seq=last + 1,
            )
        if first <= seq and at_head != digest:
            return Finding(
                False,
                f"complaint {cid}: event {seq} is not the one checkpoint {n} commits to",
                complaint_id=cid,
                seq=seq,
            )
    return None


def _heads_of(previous: dict | None) -> dict[str, tuple[int, str]]:
    body = (previous or {}).get("manifest") or {}
    heads = body.get("heads") or [] if isinstance(body, dict) else []
    return {h[0]: (h[1], h[2]) for h in heads if isinstance(h, list) and len(h) == 5}


def _raw(key: str) -> bytes:
    try:
        return base64.b64decode(key, validate=True)
    except ValueError:
        return b""


def last_manifest(stream: TextIO) -> dict | None:
    """The manifest record (body and signature) of an export file, or None."""
    claims = _claims(stream)
    if not claims:
        return None
    try:
        first = stream.read(1)
        stream.seek(0)
        if first == "{":
            last = None
            for line in stream:
                last = line if line.strip() else last
            record = json.loads(last) if last else None
        else:
            rows = list(csv.reader(stream))
            cells = dict(zip(rows[0], rows[-1], strict=False))
            record = {"manifest": json.loads(cells["data"]), "signature": cells["hash"]}
    except (ValueError, KeyError, IndexError, csv.Error):
        return None
    finally:
        stream.seek(0)
    return record if isinstance(record, dict) and "manifest" in record else None


class _Trailing(Exception):
    pass


class _Unreadable(Exception):
    """(line number, why): a line that is not a record of an export."""
