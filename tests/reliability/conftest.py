"""The gauntlet's shared plumbing: one marker, one scale, one place figures go.

Every test here is marked `reliability` (run them alone with `pytest -m reliability`). Counts
come from `scale`: the short form runs in `make test`; `python benchmarks/gauntlet.py` sets
`GAUNTLET=long` and reads the figures each test reports through `figures` (their classes are in
tests/support/gauntlet.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.gauntlet import LONG, Figures, Scale


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)


@pytest.fixture(scope="session")
def scale() -> Scale:
    return Scale(LONG)


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures(os.environ.get("GAUNTLET_REPORT"))
