"""The gauntlet's scale and figures (tests/reliability): how hard to push, and the counts a
test reports for `python benchmarks/gauntlet.py`'s table."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

LONG = os.environ.get("GAUNTLET") == "long"


@dataclass(frozen=True)
class Scale:
    """How hard to push: `short` in CI, `long` from benchmarks/gauntlet.py."""

    long: bool

    def pick(self, short: int, long: int) -> int:
        return long if self.long else short


class Figures:
    """Counts a test reports for the gauntlet's table (a JSON line each, when asked for).

    `add("races", "rounds", 40)` adds 40 to that cell; the gauntlet sums the lines.
    """

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None

    def add(self, part: str, name: str, value: float) -> None:
        if self.path is None:
            return
        with self.path.open("a") as out:
            out.write(json.dumps({"part": part, "name": name, "value": value}) + "\n")


def acted_at(by_seq, version: int):
    """The event an acknowledged write recorded for its action, given the version it answered
    (`by_seq`: the complaint's events by `seq`). A write that closed a complaint with money to
    move also appended the settlement's request (`settlement_requested`, by the system) in the
    same transaction: it answered that later version, and its action is the event before."""
    event = by_seq.get(version)
    if (
        event is not None
        and event.type == "settlement_requested"
        and event.actor["role"] == "system"
    ):
        return by_seq.get(version - 1)
    return event


def versions_written(by_seq, version: int) -> set[int]:
    """The `seq`s one acknowledged write appended: its action's, and its settlement request's."""
    acted = acted_at(by_seq, version)
    return {version} if acted is None or acted.seq == version else {acted.seq, version}
