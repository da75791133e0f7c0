"""Fixtures for the domain's unit tests: actors, an order, a fixed clock, and complaint stories
(built by tests/support/stories.py).

A story opens a complaint and takes steps through the same public functions a request would
call (`commands.open_complaint`, `commands.act`, `commands.message`, then `projection.apply`).
Steps name their actor by key (`"buyer"`, `"seller"`, `"agent1"`, `"agent2"`, `"auditor"`,
`"system"`) so that parametrize tables stay short and readable.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from resolution.domain.actors import Actor
from resolution.domain.deadlines import Deadlines
from tests.support.stories import (
    ACTORS,
    COMPLAINT_ID,
    DEFAULT_REQUESTS,
    NOW,
    PATHS,
    Story,
    make_order,
    open_request,
    open_story,
    run_steps,
    take,
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test asking for `any_path` runs once for each named path in `PATHS`."""
    if "any_path" in metafunc.fixturenames:
        metafunc.parametrize("any_path", list(PATHS))


@pytest.fixture(scope="session")
def reach():
    """`reach(name)`: the story of the named path (built once; stories are never changed)."""
    built: dict[str, Story] = {}

    def story_of(name: str) -> Story:
        if name not in built:
            solution, steps = PATHS[name]
            built[name] = take(open_story(solution), steps)
        return built[name]

    return story_of


@pytest.fixture(scope="session")
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def deadlines() -> Deadlines:
    return Deadlines()


@pytest.fixture(scope="session")
def actors() -> dict[str, Actor]:
    return dict(ACTORS)


@pytest.fixture
def order() -> dict:
    return make_order()


@pytest.fixture(scope="session")
def story():
    """`story(solution, *steps)`: a complaint opened with `solution` and taken through `steps`."""
    return lambda solution=None, *steps: take(open_story(solution), steps)


@pytest.fixture(scope="session")
def steps():
    """`steps(list_of_steps, solution=None)` -> (complaint, events): see `run_steps`."""
    return run_steps


@pytest.fixture(scope="session")
def default_request():
    """`default_request(action)`: a valid request for the action (a fresh copy)."""
    return lambda action: dict(DEFAULT_REQUESTS[action])


@pytest.fixture(scope="session")
def opening_request():
    """`opening_request(solution=None, **changes)`: what a buyer sends to open a complaint."""
    return open_request


@pytest.fixture
def complaint_id() -> str:
    return COMPLAINT_ID
