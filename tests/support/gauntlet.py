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
