"""Shared fixtures: one embedded database server per test session, a fresh database per test.

Tests talk to the real server over TCP, never to an in-process fake. With MONGODB_URI set,
they run against that server instead. What the tests share besides fixtures (parties and their
tokens, bodies, snapshots, the clock...) is in tests/support.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import flask
import pytest
from hypothesis import settings

from resolution.config import Config
from resolution.domain.orders import Window, Windows
from resolution.service import Context
from resolution.store import database
from resolution.store.embedded import EmbeddedServer
from resolution.web.app import create_app
from tests.support.clock import Clock
from tests.support.orders import MarketplaceClient
from tests.support.parties import SECRET, SIGNING_KEY

# `make test` must pass or fail the same way on every run, or nothing lands: the property tests
# draw the same examples each time (derandomize). Exploring new examples is a separate run:
# HYPOTHESIS_PROFILE=explore make test (RESOLUTION_PROPERTY_EXAMPLES=3000 for more of them).
settings.register_profile("default", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_db_numbers = itertools.count()
LONG_WINDOWS = Windows(Window(timedelta(days=36500), timedelta(days=36500)))


def pytest_configure(config) -> None:
    # Orders come from the marketplace: every test client registers an opening's inline order
    # first, as the marketplace would (tests/support/orders.py). Servers started as processes
    # use real time, and the tests' orders were paid in 2025: their complaint windows are long.
    flask.Flask.test_client_class = MarketplaceClient
    os.environ.setdefault("RESOLUTION_COMPLAINT_WINDOW", "36500d/36500d")


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory) -> Iterator[str]:
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    with EmbeddedServer(tmp_path_factory.mktemp("db"), in_memory=True) as server:
        yield server.uri


@pytest.fixture
def db_name(mongodb_uri: str) -> Iterator[str]:
    """A fresh database for this test, dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_db_numbers)}"
    database.connect(mongodb_uri, name)
    yield name
    from resolution.store.documents import ComplaintDocument

    database.connect(mongodb_uri, name)  # again: a CLI command under test may have disconnected
    ComplaintDocument._get_db().client.drop_database(name)
    database.disconnect()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 6, 5, 3, 0, tzinfo=UTC))


@pytest.fixture
def config(mongodb_uri: str, db_name: str) -> Config:
    return Config(jwt_secret=SECRET, mongodb_uri=mongodb_uri, db_name=db_name)


@pytest.fixture
def context(config: Config, clock: Clock) -> Context:
    # The tests' orders were paid in June 2025, and some tests run at the real time: their
    # complaint windows are long (tests/api/test_orders.py checks the real ones).
    return Context(
        clock=clock, deadlines=config.deadlines, signing_key=SIGNING_KEY, windows=LONG_WINDOWS
    )


@pytest.fixture
def app(config: Config, context: Context):
    return create_app(config, context=context)


@pytest.fixture
def client(app):
    return app.test_client()
