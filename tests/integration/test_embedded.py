"""The embedded SecantusDB child process, exercised for real: no mocks, real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from resolution.store.embedded import (
    EmbeddedServer,
    EmbeddedServerError,
    database_uri,
    running_uri,
)

pytestmark = pytest.mark.slow  # each graceful secantus shutdown takes ~2 s

REPO_ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting to be reaped counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def wait_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def ping(uri: str) -> dict:
    with MongoClient(uri, serverSelectionTimeoutMS=2000) as client:
        return client.admin.command("ping")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(tmp_path_factory.mktemp("db")) as srv:
        yield srv


def test_started_server_answers_and_stores_documents(server: EmbeddedServer) -> None:
    assert server.uri == f"mongodb://127.0.0.1:{server.port}/?directConnection=true"
    assert ping(server.uri)["ok"] == 1.0
    with MongoClient(server.uri) as client:
        client.probe.things.insert_one({"_id": "a", "n": 1})
        assert client.probe.things.find_one({"_id": "a"}) == {"_id": "a", "n": 1}
    assert "listening" in (server.data_dir / "secantus.log").read_text()


def test_server_json_describes_the_running_server(server: EmbeddedServer) -> None:
    state = json.loads((server.data_dir / "server.json").read_text())
    assert state == {
        "pid": server.pid,
        "port": server.port,
        "host": "127.0.0.1",
        "uri": server.uri,
        "owner_pid": os.getpid(),
    }
    assert running_uri(server.data_dir) == server.uri


def test_database_uri_reuses_a_running_server_and_leaves_it_running(
    server: EmbeddedServer,
) -> None:
    with database_uri(server.data_dir, environ={}) as uri:
        assert uri == server.uri
        assert ping(uri)["ok"] == 1.0
    assert server.pid is not None and alive(server.pid)
    assert ping(server.uri)["ok"] == 1.0
    assert (server.data_dir / "server.json").exists()


def test_mongodb_uri_in_environment_wins_and_starts_nothing(tmp_path: Path) -> None:
    with database_uri(tmp_path, environ={"MONGODB_URI": "mongodb://x"}) as uri:
        assert uri == "mongodb://x"
        assert list(tmp_path.iterdir()) == []


def test_stale_server_json_is_ignored_and_removed(tmp_path: Path) -> None:
    with subprocess.Popen([sys.executable, "-c", "pass"]) as gone:
        pass
    state = {"pid": gone.pid, "port": 1, "host": "127.0.0.1", "uri": "mongodb://127.0.0.1:1/"}
    (tmp_path / "server.json").write_text(json.dumps(state))

    assert running_uri(tmp_path) is None
    assert not (tmp_path / "server.json").exists()

    (tmp_path / "server.json").write_text(json.dumps(state))
    with database_uri(tmp_path, environ={}) as uri:  # starts its own server for the block
        assert uri != state["uri"]
        assert ping(uri)["ok"] == 1.0
        pid = json.loads((tmp_path / "server.json").read_text())["pid"]
    assert not alive(pid)
    assert not (tmp_path / "server.json").exists()


def test_stop_leaves_no_process_and_data_survives_a_restart(tmp_path: Path) -> None:
    first = EmbeddedServer(tmp_path).start()
    pid = first.pid
    assert pid is not None
    with MongoClient(first.uri) as client:
        client.probe.things.insert_one({"_id": "kept", "n": 42})
    first.stop()
    first.stop()  # idempotent

    assert first.pid is None
    assert not alive(pid)
    assert not (tmp_path / "server.json").exists()
    assert running_uri(tmp_path) is None

    with EmbeddedServer(tmp_path) as second, MongoClient(second.uri) as client:
        assert client.probe.things.find_one({"_id": "kept"}) == {"_id": "kept", "n": 42}


def test_in_memory_server_keeps_no_data(tmp_path: Path) -> None:
    with EmbeddedServer(tmp_path, in_memory=True) as srv:
        assert ping(srv.uri)["ok"] == 1.0
    assert not (tmp_path / "data").exists()


def test_a_taken_port_fails_with_the_log_tail(server: EmbeddedServer, tmp_path: Path) -> None:
    with pytest.raises(EmbeddedServerError, match="Address already in use"):
        EmbeddedServer(tmp_path, port=server.port, in_memory=True).start()
    assert not (tmp_path / "server.json").exists()


PARENT_SCRIPT = """
import sys
from resolution.store.embedded import EmbeddedServer
server = EmbeddedServer(sys.argv[1]).start()
print(server.pid, flush=True)
sys.stdin.read()
"""


def test_database_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, str(tmp_path)],
        cwd=REPO_ROOT,  # so `resolution` imports from the working tree
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        line = parent.stdout.readline() if parent.stdout else ""
        assert line.strip().isdigit(), f"parent failed to start the server: {line!r}"
        db_pid = int(line)
        try:
            assert alive(db_pid)
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            assert wait_gone(db_pid, within=15.0), "database outlived its SIGKILLed parent"
        finally:
            if alive(db_pid):
                os.kill(db_pid, signal.SIGKILL)
    assert running_uri(tmp_path) is None  # the stale server.json is cleaned up
    assert not (tmp_path / "server.json").exists()
