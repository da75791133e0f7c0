"""Shared fixtures: one embedded database server per test session, a fresh database per test.

Tests talk to the real server over TCP, never to an in-process fake. With MONGODB_URI set,
they run against that server instead. What the tests share besides fixtures (parties and their
tokens, bodies, snapshots, the clock...) is in tests/support.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from resolution.config import Config
from resolution.service import Context
from resolution.store import database
from resolution.store.embedded import EmbeddedServer
from resolution.web.app import create_app
from tests.support.clock import Clock
from tests.support.parties import SECRET, SIGNING_KEY

_db_numbers = itertools.count()


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
    return Context(clock=clock, deadlines=config.deadlines, signing_key=SIGNING_KEY)


@pytest.fixture
def app(config: Config, context: Context):
    return create_app(config, context=context)


@pytest.fixture
def client(app):
    return app.test_client()
