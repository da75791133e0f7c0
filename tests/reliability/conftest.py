"""The gauntlet's shared plumbing: one marker, one scale, one place figures go.

Every test here is marked `reliability` (run them alone with `pytest -m reliability`). Counts
come from `scale`: the short form runs in `make test`; `python benchmarks/gauntlet.py` sets
`GAUNTLET=long` and reads the figures each test reports through `figures`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

LONG = os.environ.get("GAUNTLET") == "long"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)


@dataclass(frozen=True)
class Scale:
    """How hard to push: `short` in CI, `long` from benchmarks/gauntlet.py."""

    long: bool

    def pick(self, short: int, long: int) -> int:
        return long if self.long else short


@pytest.fixture(scope="session")
def scale() -> Scale:
    return Scale(LONG)


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


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures(os.environ.get("GAUNTLET_REPORT"))
