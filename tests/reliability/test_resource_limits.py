"""Resource limits: oversized, deep, wide, long and slow requests are each refused with their
4xx (problem+json), change nothing, answer quickly, and leave the server's memory bounded."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.bodies import complaint_body
from tests.support.parties import BUYER, SECRET, token
from tests.support.servers import free_port
from tests.support.snapshots import assert_unchanged, stored

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "application/problem+json"
MiB = 1 << 20


def nested(depth: int) -> bytes:
    return b'{"body": ' + b"[" * depth + b"]" * depth + b"}"


def cases(scale) -> dict[str, tuple]:
    """name: (method, path, body or None, query, status). `{cid}` is an open complaint."""
    n = scale.pick(100_000, 150_000)  # items of 5 bytes: under the 1 MiB body limit
    messages = "/v1/complaints/{cid}/messages"
    return {
        "body of 2 MiB": ("POST", messages, b'{"body": "' + b"x" * (2 * MiB) + b'"}', "", 413),
        "nesting 33 deep": ("POST", messages, nested(33), "", 400),
        "nesting 10,000 deep": ("POST", messages, nested(10_000), "", 400),
        "nesting 100,000 deep": ("POST", messages, nested(100_000), "", 400),
        f"a list of {n:,}": ("POST", messages, _ids(n), "", 400),
        "a list of 1,000 bad ids": ("POST", messages, _ids(1000), "", 422),
        "an object of 150 unknown fields": (
            "POST",
            messages,
            json.dumps({f"field{i}": 1 for i in range(150)}).encode(),
            "",
            422,
        ),
        "a string of 900,000": (
            "POST",
            messages,
            json.dumps({"body": "x" * 900_000}).encode(),
            "",
            422,
        ),
        "a field name of 500,000": (
            "POST",
            messages,
            json.dumps({"x" * 500_000: 1}).encode(),
            "",
            422,
        ),
        "10,000 query parameters": ("GET", "/v1/complaints", None, _params(10_000), 400),
        "10,000 query parameters, ignored": (
            "GET",
            "/v1/complaints/{cid}",
            None,
            _params(10_000),
            200,
        ),
    }


def _ids(n: int) -> bytes:
    return json.dumps({"body": "x", "evidence_ids": ["a"] * n}).encode()


def _params(n: int) -> str:
    return "&".join(f"p{i}=1" for i in range(n))


def test_every_oversized_request_is_refused_quickly_with_a_bounded_problem(client, scale, figures):
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
    server_errors = 0
    for name, (method, path, body, query, status) in cases(scale).items():
        before = stored()
        answer = client.open(
            path.format(cid=cid) + (f"?{query}" if query else ""),
            method=method,
            data=body,
            headers={**BUYER, "Content-Type": "application/json"},
        )
        text = answer.get_data(as_text=True)
        server_errors += answer.status_code >= 500
        assert answer.status_code == status, (name, text[:300])
        assert len(text) < 8_000, (name, len(text))  # nothing echoes the request back
        if status >= 400:
            assert answer.mimetype == PROBLEM, name
            problem = json.loads(text)
            assert problem["status"] == status and problem["detail"], name
            if status == 422:
                assert len(problem["errors"]) <= 20 or len(problem["errors"]["evidence_ids"]) <= 20
        assert_unchanged(before)
    figures.add("resource_limits", "cases", len(cases(scale)))
    figures.add("resource_limits", "server_errors", server_errors)
    assert server_errors == 0


# --- against the real server ------------------------------------------------------------------


def _get(base: str, path: str, timeout: float = 10) -> int:
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        with error:
            return error.code


BODY_TIMEOUT = 2  # seconds: short, so the slow client is cut off quickly here


@pytest.fixture
def served(tmp_path, mongodb_uri, db_name):
    """`resolution serve` (2 sync workers) on the test's database, slow bodies cut at 2 s."""
    port = free_port()
    env = {
        **os.environ,
        "RESOLUTION_JWT_SECRET": SECRET,
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_BODY_TIMEOUT": f"{BODY_TIMEOUT}s",
        # The long form sends 200 maximal bodies from one address: this is about what each
        # costs, not about their rate (test_abuse.py), and past 120 a minute they would be 429.
        "RESOLUTION_RATE_LIMIT_WRITES": "off",
        "RESOLUTION_RATE_LIMIT_UPLOADS": "off",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "resolution", "serve", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--workers", "2", "--data-dir", str(tmp_path / "db")],
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
                    if _get(base, "/readyz") == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None, log_path.read_text()
                time.sleep(0.1)
            else:
                pytest.fail("the server did not become ready in 60 s")
            yield port, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _workers(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _peak_rss_mb(pids: list[int]) -> float:
    """The largest peak resident size (VmHWM) among `pids`, in MiB."""
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def _raw(port: int, head: str, body: bytes = b"", timeout: float = 10) -> tuple[int, bytes]:
    """Sends `head` and `body` on a fresh connection; the status and the whole answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def _post_head(path: str, content_type: str, length: int | None) -> str:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Authorization: Bearer {token('buyer', 'buyer-1')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
        "Connection: close",
    ]
    return "\r\n".join(lines) + "\r\n\r\n"


def test_slow_and_oversized_uploads_are_cut_off_and_the_server_stays_responsive(
    served, scale, figures
):
    port, pid = served
    base = f"http://127.0.0.1:{port}"
    for _ in range(4):  # every worker has served something: its memory is warm
        assert _get(base, "/v1/complaints") == 401
    before = _peak_rss_mb(_workers(pid))

    # A slowloris upload: headers promise 1 MiB, the body comes a byte at a time.
    slow = socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT + 10)
    slow.sendall(_post_head("/v1/complaints", "application/json", MiB).encode() + b'{"a')
    began = time.monotonic()
    served_meanwhile = []
    while time.monotonic() - began < BODY_TIMEOUT - 0.5:
        try:
            slow.sendall(b" ")
        except OSError:
            break
        ask = time.monotonic()
        assert _get(base, "/healthz", timeout=5) == 200
        served_meanwhile.append(time.monotonic() - ask)
        time.sleep(0.2)
    answer = b""
    try:
        while chunk := slow.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    slow.close()
    # Cut off by the server (without it, recv waits out the socket's longer timeout).
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert PROBLEM.encode() in answer
    assert served_meanwhile  # the other worker kept answering (each within _get's timeout)
    figures.add("resource_limits", "slowest_health_ms", round(max(served_meanwhile) * 1000))

    # An evidence upload far over the largest limit: refused on its Content-Length alone.
    head = _post_head(
        "/v1/complaints/" + "a" * 24 + "/evidence", "multipart/form-data; boundary=x", 500 * MiB
    )
    status, answer = _raw(port, head)
    assert status == 413 and PROBLEM.encode() in answer
    # JSON without a Content-Length (chunked), past 1 MiB: cut off at 1 MiB, not read to the end.
    chunk = b"x" * 65536
    rounds = scale.pick(30, 300)
    head = _post_head("/v1/complaints", "application/json", None)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b'a\r\n{"body": "\r\n')  # a chunk of 10 bytes
        for _ in range(rounds):  # 64 KiB chunks: up to 2 MiB (or 19 MiB in the long form)
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                break
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    # Many maximal bodies in a row: memory stays where it was, give or take.
    deep = nested(100_000)
    for _ in range(scale.pick(10, 100)):
        status, _ = _raw(port, _post_head("/v1/complaints", "application/json", len(deep)), deep)
        assert status == 400
    wide = _ids(100_000)
    for _ in range(scale.pick(10, 100)):
        status, _ = _raw(port, _post_head("/v1/complaints", "application/json", len(wide)), wide)
        assert status == 400
    assert _get(base, "/healthz") == 200
    after = _peak_rss_mb(_workers(pid))
    figures.add("resource_limits", "peak_rss_mb", round(after, 1))
    figures.add("resource_limits", "cases", 4)
    assert after - before < 64, (before, after)
