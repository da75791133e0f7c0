"""The tests of openapi.yaml: the document, read once per module, and `wire`, the test client
whose every response is checked against it."""

from __future__ import annotations

import pytest
import yaml

from tests.support.spec import SPEC_PATH
from tests.support.wire import Wire


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def wire(client, spec) -> Wire:
    return Wire(client, spec)
