"""End to end: `resolution serve` as a real process (gunicorn + embedded database) over HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.bodies import complaint_body
from tests.support.parties import SECRET, token
from tests.support.servers import call, free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "zombie" in status.read_text())


def _hash_chain_checker():
    """The verification code from docs/hash-chain.md, run as an auditor would."""
    text = (ROOT / "docs" / "hash-chain.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation, under test
    return namespace["first_broken_link"]


@pytest.fixture
def server(tmp_path, request):
    threads = getattr(request, "param", 1)  # over 1: gunicorn's gthread workers
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env["RESOLUTION_JWT_SECRET"] = SECRET
    data_dir = tmp_path / "db"
    command = [sys.executable, "-m", "resolution", "serve", "--port", str(port)]
    # A file, not a pipe: a pipe nobody reads fills with the request log and stops the server.
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [*command, "--workers", "2", "--threads", str(threads), "--sweep-interval", "1"]
        + ["--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if call(base, "GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.2)
        else:
            pytest.fail("the server did not become ready in 60 s")
        yield base, data_dir, env
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def test_a_complaint_goes_from_open_to_agreed_through_the_real_server(server):
    base, data_dir, env = server
    buyer, seller = token("buyer", "buyer-1"), token("seller", "seller-1", "shop-1")
    status, opened = call(base, "POST", "/v1/complaints", buyer, complaint_body())
    assert status == 201, opened
    cid = opened["id"]
    status, _ = call(
        base,
        "POST",
        f"/v1/complaints/{cid}/actions/propose",
        seller,
        {"solution": {"kind": "refund", "amount": 30000}},
    )
    assert status == 200
    status, closed = call(base, "POST", f"/v1/complaints/{cid}/actions/accept", buyer)
    assert (status, closed["state"], closed["outcome"]) == (200, "closed", "agreed")
    status, log = call(base, "GET", f"/v1/complaints/{cid}/events", buyer)
    assert [e["type"] for e in log["items"]] == [
        "open",
        "propose",
        "accept",
        "settlement_requested",
    ]
    assert closed["settlement"]["status"] == "requested"
    assert _hash_chain_checker()(log["items"]) is None
    tampered = [dict(e) for e in log["items"]]
    tampered[1]["data"] = {**tampered[1]["data"], "solution": {"kind": "refund", "amount": 1}}
    assert _hash_chain_checker()(tampered) == 2


def test_seed_demo_reuses_the_running_database_and_the_server_stops_it(server, tmp_path):
    base, data_dir, env = server
    address = json.loads((data_dir / "server.json").read_text())
    seeded = subprocess.run(
        [sys.executable, "-m", "resolution", "seed-demo", "--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "SELLER_TOKEN=" in seeded.stdout
    assert _pid_alive(address["pid"]), "seed-demo must not stop the server's database"
    seller = re.search(r"SELLER_TOKEN=(\S+)", seeded.stdout).group(1)
    status, page = call(base, "GET", "/v1/complaints?limit=100", seller)
    assert status == 200 and len(page["items"]) == 8
    assert {c["state"] for c in page["items"]} >= {"awaiting_seller", "in_mediation", "closed"}
    again = subprocess.run(
        [sys.executable, "-m", "resolution", "seed-demo", "--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "0 created" in again.stdout


@pytest.mark.parametrize("server", [1, 4], indirect=True, ids=["sync", "gthread"])
def test_metrics_add_up_every_worker_and_logs_carry_the_request_id(server, tmp_path, request):
    base, data_dir, env = server
    worker = "gthread" if request.node.callspec.params["server"] > 1 else "sync"
    assert f"Using worker: {worker}" in (tmp_path / "serve.log").read_text()
    for _ in range(30):
        assert call(base, "GET", "/healthz")[0] == 200
    request = urllib.request.Request(base + "/v1/complaints", headers={"X-Request-Id": "req-42"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401 and refused.value.headers["X-Request-Id"] == "req-42"
    refused.value.close()

    def metrics() -> str:
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            return response.read().decode()

    deadline = time.monotonic() + 20
    while "resolution_sweeper_passes_total 0.0" in metrics() and time.monotonic() < deadline:
        time.sleep(0.5)  # the sweeper, a process of its own, passes every second
    text = metrics()
    # Two workers answered the 30 requests between them: /metrics counts all 30.
    assert 'resolution_http_requests_total{method="GET",route="/healthz",status="200"} 30.0' in text
    assert 'route="/v1/complaints",status="401"} 1.0' in text
    assert re.search(r"resolution_sweeper_passes_total [1-9]", text)
    assert 'resolution_complaints{state="awaiting_seller"} 0.0' in text
    lines = [
        json.loads(line)
        for line in (tmp_path / "serve.log").read_text().splitlines()
        if line.startswith("{")
    ]
    (logged,) = [line for line in lines if line.get("request_id") == "req-42"]
    assert logged["status"] == 401 and logged["route"] == "/v1/complaints"


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found[int(stat.parent.name)] = command
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_worker_that_leaves_takes_nothing_of_the_arbiters_with_it(server, tmp_path):
    """Gunicorn forks its workers inside `run()`, so a worker that leaves (a SIGTERM, a timeout)
    comes back up through `serve`'s own code: it must not run the arbiter's clean-up (remove
    the metrics directory, stop the sweeper, stop the database) on its way out. Found by the
    crash gauntlet: a worker aborted after its timeout removed the metrics directory, and every
    write that committed after it answered 500."""
    base, data_dir, env = server
    log = tmp_path / "serve.log"
    arbiter = int(re.search(r"Listening at: \S+ \((\d+)\)", log.read_text()).group(1))
    metrics_dir = Path(
        dict(
            line.split("=", 1)
            for line in Path(f"/proc/{arbiter}/environ").read_text().split("\0")
            if "=" in line
        )["PROMETHEUS_MULTIPROC_DIR"]
    )

    def workers() -> set[int]:
        return {p for p, command in _children(arbiter).items() if " serve " in command + " "}

    (sweeper,) = [p for p, command in _children(arbiter).items() if " sweep " in command]
    before = workers()
    assert len(before) == 2, _children(arbiter)
    leaving = min(before)
    os.kill(leaving, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while (leaving in workers() or len(workers()) < 2) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leaving not in workers() and len(workers()) == 2, _children(arbiter)
    assert metrics_dir.is_dir()
    assert _pid_alive(sweeper)
    assert call(base, "GET", "/readyz")[0] == 200
    for _ in range(20):  # both workers count each request in the metrics directory
        assert call(base, "GET", "/healthz")[0] == 200
    buyer = token("buyer", "buyer-left")
    status, _ = call(base, "POST", "/v1/complaints", buyer, complaint_body("INV-LEFT-1"))
    assert status == 201
    assert '"status": 500' not in log.read_text()


def test_a_sweeper_that_dies_is_started_again(server, tmp_path):
    """The sweeper waits out database errors itself; any other death (here a SIGKILL) is met
    by serve's watchdog, which starts it again: complaints go on being swept."""
    log = tmp_path / "serve.log"
    arbiter = int(re.search(r"Listening at: \S+ \((\d+)\)", log.read_text()).group(1))

    def sweepers() -> set[int]:
        return {p for p, command in _children(arbiter).items() if " sweep " in command}

    (first,) = sweepers()
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not (sweepers() - {first}) and time.monotonic() < deadline:
        time.sleep(0.2)
    (second,) = sweepers()
    assert second != first and _pid_alive(second)
    assert f"(pid {first}) died" in log.read_text()
