"""How long evidence files are kept: per kind of evidence, counted from the complaint's
closing (UU PDP: personal data no longer than its purpose needs).

A complaint that is not closed, or is under a legal hold, keeps every file. Once closed, each
file is kept for its kind's period (defaults: identity documents 30 days, every other file
365 days), then the sweeper destroys it (its key, then its chunks) and records
`evidence_purged`, which keeps the file's SHA-256: the log still says what was there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .evidence import CONTENT_TYPES

DAY = timedelta(days=1)
# The events of retention: a file destroyed, a legal hold set and lifted.
EVENTS = ("evidence_purged", "legal_hold_set", "legal_hold_lifted")
# The kinds of evidence that have a file.
FILE_KINDS = tuple(CONTENT_TYPES)


def _defaults() -> dict[str, timedelta]:
    return {"identity_document": 30 * DAY}


@dataclass(frozen=True)
class Retention:
    """Each kind's period after the closing; `default` for the kinds not named."""

    default: timedelta = 365 * DAY
    per_kind: Mapping[str, timedelta] = field(default_factory=_defaults)

    def of(self, kind: str) -> timedelta:
        return self.per_kind.get(kind, self.default)

    def until(self, closed_at: datetime, kind: str) -> datetime:
        """When a file of `kind` of a complaint closed at `closed_at` is destroyed."""
        return closed_at + self.of(kind)


def kept_files(evidence: list) -> list[dict]:
    """The evidence entries whose file is still kept."""
    return [
        item
        for item in evidence
        if "file" in item and not item.get("purged_at") and not item.get("erased_at")
    ]


def purge_due(complaint, retention: Retention, now: datetime) -> list[dict]:
    """The entries whose file is due for destruction at `now` (its period ran out, to the
    second), none while the complaint is open or held."""
    closed_at = complaint.closed_at
    if closed_at is None or complaint.legal_hold or complaint.state != "closed":
        return []
    return [
        item
        for item in kept_files(complaint.evidence)
        if retention.until(closed_at, item["kind"]) <= now
    ]
