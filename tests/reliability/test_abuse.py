"""Abuse: per-caller rate limits (429 with Retry-After, shared across processes), security
headers on every response, and hardened console cookies."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import mongoengine
import pymongo
import pytest
from PIL import Image
from pymongo import monitoring

from resolution.config import Config, ConfigError, RateLimits
from resolution.store import database
from resolution.store.documents import ComplaintDocument
from resolution.store.limits import SharedWindows
from resolution.web.app import create_app
from tests.support.bodies import complaint_body
from tests.support.orders import by_reference
from tests.support.parties import BUYER, CARE, SECRET, SELLER, auth, token
from tests.support.servers import free_port
from tests.support.snapshots import assert_unchanged, stored

ROOT = Path(__file__).resolve().parents[2]
SYNC = timedelta(milliseconds=50)  # how often the processes here share their counts
PROBLEM = "application/problem+json"


def make_app(config: Config, **limits):
    return create_app(Config(**{**config.__dict__, "rate_limits": RateLimits(**limits)}))


def assert_limited(response) -> dict:
    assert response.status_code == 429, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == 429 and body["type"] == "/problems/rate-limited"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 61 and body["retry_after"] == retry_after
    return body


# --- rate limits ------------------------------------------------------------------------------


def test_writes_beyond_the_rate_are_429_with_retry_after_and_change_nothing(config, figures):
    client = make_app(config, writes="6/minute", uploads="2/minute").test_client()
    opened = client.post("/v1/complaints", json=complaint_body(), headers=BUYER)
    assert opened.status_code == 201
    cid = opened.get_json()["id"]
    statuses = [
        client.post(f"/v1/complaints/{cid}/messages", json={"body": f"halo {n}"}, headers=BUYER)
        for n in range(8)
    ]
    assert [r.status_code for r in statuses] == [201] * 5 + [429] * 3
    before = stored()
    refused = client.post(f"/v1/complaints/{cid}/messages", json={"body": "lagi"}, headers=BUYER)
    body = assert_limited(refused)
    assert "writes" in body["detail"] and "6 per 1 minute" in body["detail"]
    assert_unchanged(before)  # a refusal records nothing
    # Reads are not limited; another caller has a count of its own.
    assert client.get(f"/v1/complaints/{cid}", headers=BUYER).status_code == 200
    propose = {"solution": {"kind": "refund", "amount": 30000}}
    answer = client.post(f"/v1/complaints/{cid}/actions/propose", json=propose, headers=SELLER)
    assert answer.status_code == 200
    # So does the same buyer's id with another role (the key is role, sub and shop).
    other_role = client.post("/v1/complaints", json=complaint_body("INV-2"), headers=CARE)
    assert other_role.status_code == 403
    figures.add("abuse", "requests", 13)
    figures.add("abuse", "limited", 4)


def test_uploads_have_a_tighter_limit_of_their_own(config):
    client = make_app(config, writes="50/minute", uploads="2/minute").test_client()
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
    tracking = {"kind": "tracking", "courier": "J&T", "tracking_number": "JP1234567890"}
    path = f"/v1/complaints/{cid}/evidence"
    assert client.post(path, json=tracking, headers=BUYER).status_code == 201
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(photo, "PNG")
    form = {"kind": "photo", "file": (io.BytesIO(photo.getvalue()), "foto.png")}
    assert client.post(path, data=form, headers=BUYER).status_code == 201
    form = {"kind": "photo", "file": (io.BytesIO(photo.getvalue()), "foto.png")}
    body = assert_limited(client.post(path, data=form, headers=BUYER))
    assert "uploads" in body["detail"]
    message = client.post(f"/v1/complaints/{cid}/messages", json={"body": "ok"}, headers=BUYER)
    assert message.status_code == 201  # other writes go on


def test_a_bad_token_is_401_never_429(config):
    client = make_app(config, writes="2/minute", uploads=None).test_client()
    for n in range(3):
        client.post("/v1/complaints", json=complaint_body(f"INV-{n}"), headers=BUYER)
    assert_limited(client.post("/v1/complaints", json=complaint_body("INV-9"), headers=BUYER))
    forged = {"Authorization": "Bearer " + token("buyer", "buyer-1")[:-4] + "AAAA"}
    for headers in ({}, {"Authorization": "Bearer nope"}, forged):
        for _ in range(3):
            answer = client.post("/v1/complaints", json=complaint_body("INV-9"), headers=headers)
            assert answer.status_code == 401, answer.get_data(as_text=True)
            assert answer.mimetype == PROBLEM and "WWW-Authenticate" in answer.headers


def test_console_sign_in_attempts_are_limited_per_address(config):
    client = make_app(config, writes="3/minute", uploads=None).test_client()
    answers = [client.post("/console/login", data={"token": "x"}) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [400] * 3  # no CSRF token: refused anyway
    # A page in the console's words, for a person at a browser, with the same Retry-After.
    refused = answers[3]
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "Too many writes" in refused.get_data(as_text=True)


def test_the_limiter_costs_a_write_no_round_trip_and_shares_its_counts_in_one_sync(config):
    app = make_app(config, writes="100/minute", uploads="50/minute")
    limits_db = RateLimits().database
    commands: list[tuple[str, str, str]] = []

    class Listener(monitoring.CommandListener):
        def started(self, event):
            # Listeners run in the thread that sends: the request's, or the sharing thread's.
            thread = threading.current_thread().name
            commands.append((thread, event.database_name, event.command_name))

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    # The app's client, again, with a listener on it (documents find it by alias).
    mongoengine.disconnect(database.ALIAS)
    mongoengine.connect(
        db=config.db_name,
        host=config.mongodb_uri,
        alias=database.ALIAS,
        tz_aware=True,
        uuidRepresentation="standard",
        event_listeners=[Listener()],
    )
    client = app.test_client()
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
    tracking = {"kind": "tracking", "courier": "JNE", "tracking_number": "JP1234567890"}
    calls = {
        "read": lambda: client.get(f"/v1/complaints/{cid}", headers=BUYER),
        "message": lambda: client.post(
            f"/v1/complaints/{cid}/messages", json={"body": "x"}, headers=BUYER
        ),
        "upload": lambda: client.post(
            f"/v1/complaints/{cid}/evidence", json=tracking, headers=BUYER
        ),
    }
    here = threading.current_thread().name
    by_limiter, by_service = {}, {}
    for name, call in calls.items():
        commands.clear()
        answer = call()
        assert answer.status_code < 300, answer.get_data(as_text=True)
        mine = [(db, c) for thread, db, c in commands if thread == here]
        by_limiter[name] = [c for db, c in mine if db == limits_db]
        by_service[name] = [c for db, c in mine if db != limits_db]
    # The request never waits on the counts: nothing on a read, nothing on a write.
    assert by_limiter == {"read": [], "message": [], "upload": []}
    # The service's own: read, one write command, commit (eventstore; more on a MongoDB
    # older than 8.0).
    assert len(by_service["message"]) >= 3, by_service
    # The sharing: the new entries in one bulk update, everyone else's changes in one find.
    storage = app.extensions["resolution.limiter"].storage
    storage.acquire_entry("probe", 5, 60)
    commands.clear()
    storage.sync()
    assert [c for thread, db, c in commands if thread == here] == ["update", "find"]
    windows = ComplaintDocument._get_db().client[limits_db]["windows"]
    prefix = f"LIMITER/{config.db_name}/"  # a count per service database
    buyers = {doc["key"] for doc in windows.find({"key": {"$regex": f"^{prefix}buyer:"}})}
    assert buyers == {
        f"{prefix}buyer:buyer-1:/writes/100/1/minute",
        f"{prefix}buyer:buyer-1:/uploads/50/1/minute",
    }  # (the marketplace, registering the order, counts apart)
    indexes = str(windows.index_information())
    assert "expireAt" in indexes and "synced_at" in indexes


def test_processes_judge_alone_and_agree_once_they_have_shared(config):
    """Two processes' storages on one database, shared by hand: each judges exactly what it
    knows (never more than the limit from one process), and after a sync each counts both."""
    database.connect(config.mongodb_uri, config.db_name)
    one, two = (
        SharedWindows(
            "resolution+mongodb://", database_name=f"{config.db_name}_limits", sync_interval=None
        )
        for _ in range(2)
    )
    key = "buyer:buyer-1:/writes"
    assert [one.acquire_entry(key, 5, 60) for _ in range(3)] == [True] * 3
    # Before any sharing, the second process knows none of them: the per-process bound.
    assert [two.acquire_entry(key, 5, 60) for _ in range(6)] == [True] * 5 + [False]
    one.sync()
    two.sync()
    one.sync()
    assert one.get_moving_window(key, 5, 60)[1] == 8
    assert two.get_moving_window(key, 5, 60)[1] == 8
    assert not one.acquire_entry(key, 5, 60) and not two.acquire_entry(key, 5, 60)
    # In steady use they agree: a third process arriving late is told at its first sync.
    three = SharedWindows(
        "resolution+mongodb://", database_name=f"{config.db_name}_limits", sync_interval=None
    )
    three.sync()
    assert three.get_moving_window(key, 5, 60)[1] == 8
    assert not three.acquire_entry(key, 5, 60)
    # Another caller's window is its own.
    assert three.acquire_entry("buyer:buyer-2:/writes", 5, 60)
    ComplaintDocument._get_db().client.drop_database(f"{config.db_name}_limits")


def test_a_sync_reads_only_what_changed_on_its_index(config):
    """Each sync's find reads the documents changed since the last one, by `synced_at`, not
    every caller's window (a thousand idle callers cost a sync nothing)."""
    database.connect(config.mongodb_uri, config.db_name)
    name = f"{config.db_name}_limits"
    one, two = (SharedWindows("x", database_name=name, sync_interval=None) for _ in range(2))
    for n in range(1000):
        one.acquire_entry(f"caller-{n}", 5, 60)
    one.sync()
    two.sync()
    windows = ComplaintDocument._get_db().client[name]["windows"]
    windows.update_many({}, {"$inc": {"synced_at": -60}})  # a minute ago: all read already
    two.acquire_entry("caller-new", 5, 60)
    two.sync()
    sent: list[dict] = []

    class Listener(monitoring.CommandListener):
        def started(self, event):
            if event.command_name == "find" and event.database_name == name:
                sent.append(dict(event.command))

        def succeeded(self, event):
            pass

        def failed(self, event):
            pass

    client = pymongo.MongoClient(config.mongodb_uri, event_listeners=[Listener()])
    try:
        one._client, one._indexed_on = client, client
        one.sync(in_thread=True)
        assert one.get_moving_window("caller-new", 5, 60)[1] == 1
        (find,) = sent
        plan = client[name].command(
            "explain", {"find": "windows", "filter": find["filter"]}, verbosity="executionStats"
        )
        assert "synced_at" in str(plan["queryPlanner"]["winningPlan"])
        assert "COLLSCAN" not in str(plan["queryPlanner"]["winningPlan"])
        assert plan["executionStats"]["totalDocsExamined"] <= 2
    finally:
        client.drop_database(name)
        client.close()


def test_the_sharing_interval_is_configured_and_checked():
    env = {"RESOLUTION_JWT_SECRET": SECRET}
    assert Config.from_env(env).rate_limits.sync_interval.total_seconds() == 0.5
    fast = Config.from_env({**env, "RESOLUTION_RATE_LIMIT_SYNC": "0.05"})
    assert fast.rate_limits.sync_interval.total_seconds() == 0.05
    for bad in ("0", "-1", "11", "soon", "nan"):
        with pytest.raises(ConfigError, match="RESOLUTION_RATE_LIMIT_SYNC"):
            Config.from_env({**env, "RESOLUTION_RATE_LIMIT_SYNC": bad})


# --- across processes -------------------------------------------------------------------------


def _call(base: str, method: str, path: str, headers: dict, body=None):
    """A request to a served app: (status, headers, body); an opening's inline order is
    registered first, as the marketplace would."""

    def over(method: str, path: str, body, headers: dict):
        return _call(base, method, path, headers, body)[0], None

    body = by_reference(method, path, body, headers, over)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data, method=method, headers=headers)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


@pytest.fixture
def served(tmp_path, mongodb_uri, db_name):
    """`resolution serve` (2 workers) on the test's database, with a small write limit."""
    yield from serve(tmp_path, mongodb_uri, db_name, workers=2)


@pytest.fixture
def served_three(tmp_path, mongodb_uri, db_name):
    yield from serve(tmp_path, mongodb_uri, db_name, workers=3)


def serve(tmp_path, mongodb_uri, db_name, workers: int):
    port = free_port()
    env = {
        **os.environ,
        "RESOLUTION_JWT_SECRET": SECRET,
        "MONGODB_URI": mongodb_uri,
        "RESOLUTION_DB_NAME": db_name,
        "RESOLUTION_RATE_LIMIT_WRITES": "5/minute",
        "RESOLUTION_RATE_LIMIT_SYNC": str(SYNC.total_seconds()),
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "resolution", "serve", "--port", str(port)]
        process = subprocess.Popen(
            [*command, "--workers", str(workers), "--data-dir", str(tmp_path / "db")],
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
                    if _call(base, "GET", "/readyz", {})[0] == 200:
                        break
                except OSError:
                    pass
                assert process.poll() is None, log_path.read_text()
                time.sleep(0.1)
            else:
                pytest.fail("the server did not become ready in 60 s")
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def settle() -> None:
    """Waits for every process to have shared and read: documented as two sync intervals;
    ten here, for a busy machine."""
    time.sleep(10 * SYNC.total_seconds())


def shared(config: Config, key_part: str, entries: int) -> None:
    """Waits until some process has shared `entries` entries of a key containing `key_part`,
    then two sync intervals more, for every process to have read them (at most 10 s)."""
    windows = ComplaintDocument._get_db().client[RateLimits().database]["windows"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = windows.find({"key": {"$regex": f"^LIMITER/{config.db_name}/.*{key_part}"}})
        if any(len(doc["entries"]) >= entries for doc in found):
            time.sleep(2 * SYNC.total_seconds())
            return
        time.sleep(0.02)
    pytest.fail(f"no process shared {entries} entries of {key_part} in 10 s")


def test_two_processes_on_one_database_share_one_count(served, config, figures):
    local = make_app(config, writes="5/minute", sync_interval=SYNC).test_client()  # this process
    buyer = auth("buyer", "buyer-shared")
    here = [
        local.post("/v1/complaints", json=complaint_body(f"INV-{n}"), headers=buyer).status_code
        for n in range(3)
    ]
    assert here == [201, 201, 201]
    shared(config, "buyer-shared", 3)  # this process's three, sent and read by the server
    there = []
    for n in range(3, 6):
        there.append(_call(served, "POST", "/v1/complaints", buyer, complaint_body(f"INV-{n}")))
        settle()  # each worker tells the other (whichever of the two answered)
    assert [status for status, _, _ in there] == [201, 201, 429]
    status, headers, raw = there[-1]
    assert headers["Content-Type"] == PROBLEM and int(headers["Retry-After"]) >= 1
    assert json.loads(raw)["status"] == 429
    settle()  # the server's two, read here
    assert_limited(local.post("/v1/complaints", json=complaint_body("INV-7"), headers=buyer))
    assert ComplaintDocument.objects.count() == 5
    figures.add("abuse", "requests", 7)
    figures.add("abuse", "limited", 2)


def test_a_burst_over_three_workers_stays_within_the_documented_overshoot(
    served_three, config, figures
):
    """Forty writes at once from one caller over 3 workers with a limit of 5: each worker
    judges alone until it has read the others, so a burst gets at most 5 a worker (the hard
    bound); once shared, every further write is refused; a bad token is still 401."""
    buyer = auth("buyer", "buyer-burst")
    bodies = [complaint_body(f"INV-B{n}") for n in range(40)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda body: _call(served_three, "POST", "/v1/complaints", buyer, body)[0], bodies
            )
        )
    admitted = statuses.count(201)
    assert set(statuses) <= {201, 429} and 5 <= admitted <= 3 * 5, statuses
    settle()
    after = [
        _call(served_three, "POST", "/v1/complaints", buyer, complaint_body(f"INV-C{n}"))[0]
        for n in range(6)
    ]
    assert after == [429] * 6
    bad = {"Authorization": "Bearer nope"}
    assert _call(served_three, "POST", "/v1/complaints", bad, complaint_body("INV-D"))[0] == 401
    figures.add("abuse", "burst_admitted", admitted)
    figures.add("abuse", "requests", 47)


# --- security headers -------------------------------------------------------------------------

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def missing_headers(response, path: str) -> list[str]:
    """What `response` lacks of the headers every response carries."""
    missing = [name for name, value in EVERYWHERE.items() if response.headers.get(name) != value]
    if "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", ""):
        missing.append("Content-Security-Policy")
    if response.headers.get("Referrer-Policy") not in ("no-referrer", "same-origin"):
        missing.append("Referrer-Policy")
    if not response.headers.get("Strict-Transport-Security", "").startswith("max-age="):
        missing.append("Strict-Transport-Security")
    if path.startswith("/v1/") and "no-store" not in response.headers.get("Cache-Control", ""):
        if not (response.status_code in (200, 206, 304) and "/evidence/" in path):
            missing.append("Cache-Control")
    if response.mimetype == "text/html" and "Cross-Origin-Opener-Policy" not in response.headers:
        missing.append("Cross-Origin-Opener-Policy")
    return missing


def test_every_response_carries_the_security_headers(config, figures):
    app = make_app(config, writes="4/minute")
    client = app.test_client()
    cid = client.post("/v1/complaints", json=complaint_body(), headers=BUYER).get_json()["id"]
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(photo, "PNG")
    uploaded = client.post(
        f"/v1/complaints/{cid}/evidence",
        data={"kind": "photo", "file": (io.BytesIO(photo.getvalue()), "foto.png")},
        headers=BUYER,
    )
    assert uploaded.status_code == 201
    href = uploaded.get_json()["href"]
    first = client.get(href, headers=BUYER)
    etag = first.headers["ETag"]
    first.close()
    calls = {
        "list": ("GET", "/v1/complaints", {}, BUYER),
        "complaint": ("GET", f"/v1/complaints/{cid}", {}, BUYER),
        "message 201": ("POST", f"/v1/complaints/{cid}/messages", {"json": {"body": "a"}}, BUYER),
        "422": ("POST", f"/v1/complaints/{cid}/messages", {"json": {"x": 1}}, BUYER),
        "429": ("POST", f"/v1/complaints/{cid}/messages", {"json": {"body": "b"}}, BUYER),
        "401": ("GET", "/v1/complaints", {}, {}),
        "404": ("GET", "/v1/nothing-here", {}, BUYER),
        "405": ("PUT", "/v1/complaints", {}, BUYER),
        # (A message: a seller opening anything is refused, 403, before its body is read.)
        "413": ("POST", f"/v1/complaints/{cid}/messages", {"data": b"x" * (2 << 20)}, SELLER),
        "file": ("GET", href, {}, BUYER),
        "file range": ("GET", href, {}, {**BUYER, "Range": "bytes=0-9"}),
        "file 304": ("GET", href, {}, {**BUYER, "If-None-Match": etag}),
        "export": ("GET", f"/v1/complaints/{cid}/export", {}, BUYER),
        "healthz": ("GET", "/healthz", {}, {}),
        "metrics": ("GET", "/metrics", {}, {}),
        "console": ("GET", "/console/login", {}, {}),
        "console redirect": ("GET", "/console/", {}, {}),
        "console static": ("GET", "/console/static/console.css", {}, {}),
    }
    answers, missing = {}, {}
    for name, (method, path, kwargs, headers) in calls.items():
        response = client.open(path, method=method, headers=headers, **kwargs)
        answers[name] = response
        missing[name] = missing_headers(response, path)
        response.close()
    assert {name: m for name, m in missing.items() if m} == {}
    assert answers["429"].status_code == 429 and answers["413"].status_code == 413
    # Conditional requests and ranges still work, and a file keeps its own caching.
    assert answers["file 304"].status_code == 304
    assert answers["file range"].status_code == 206
    assert answers["file"].headers["Cache-Control"] == "private"
    # The console's and the printable record's own policies are kept, with frame-ancestors.
    console_policy = answers["console"].headers["Content-Security-Policy"]
    assert (
        console_policy.startswith("default-src 'self';") and "form-action 'self'" in console_policy
    )
    assert answers["console"].headers["Referrer-Policy"] == "same-origin"  # Flask-WTF needs it
    export_policy = answers["export"].headers["Content-Security-Policy"]
    assert export_policy.startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert export_policy.endswith("frame-ancestors 'none'")
    assert answers["export"].headers["Cache-Control"] == "private, no-store"
    assert answers["list"].headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'"
    )
    figures.add("abuse", "missing_headers", sum(len(m) for m in missing.values()))


# --- console cookies --------------------------------------------------------------------------


def _sign_in(client, base_url: str):
    page = client.get("/console/login", base_url=base_url)
    csrf = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    return client.post(
        "/console/login",
        data={"csrf_token": csrf.split('"')[0], "token": token("care", "agent-1")},
        base_url=base_url,
        headers={"Referer": f"{base_url}/console/login"},
    )


def test_over_https_the_session_is_a_secure_host_only_cookie(app):
    client = app.test_client()
    signed = _sign_in(client, "https://care.example")
    assert signed.status_code == 302, signed.get_data(as_text=True)
    cookie = signed.headers["Set-Cookie"]
    assert cookie.startswith("__Host-resolution_console=")
    for part in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert part in cookie.split("; "), cookie
    assert "Domain=" not in cookie
    queue = client.get("/console/", base_url="https://care.example")
    assert queue.status_code == 200 and "agent-1" in queue.get_data(as_text=True)
    english = client.get("/console/?lang=en", base_url="https://care.example")
    assert "Secure" in english.headers["Set-Cookie"]


def test_behind_a_tls_proxy_the_cookie_is_secure_and_local_http_is_not(config):
    app = create_app(config)
    behind_proxy = app.test_client().get("/console/login", base_url="http://care.example")
    assert behind_proxy.headers["Set-Cookie"].startswith("__Host-resolution_console=")
    assert "Secure" in behind_proxy.headers["Set-Cookie"]
    local = app.test_client().get("/console/login", base_url="http://127.0.0.1:8000")
    assert local.headers["Set-Cookie"].startswith("resolution_console=")
    assert "Secure" not in local.headers["Set-Cookie"]
    forced = create_app(Config(**{**config.__dict__, "console_secure_cookie": True}))
    always = forced.test_client().get("/console/login", base_url="http://127.0.0.1:8000")
    assert "Secure" in always.headers["Set-Cookie"]


def test_the_settings_are_read_from_the_environment():
    env = {"RESOLUTION_JWT_SECRET": SECRET}
    assert Config.from_env(env).rate_limits == RateLimits("120/minute", "30/minute")
    off = Config.from_env({**env, "RESOLUTION_RATE_LIMIT_WRITES": "off"}).rate_limits
    assert off.writes is None and off.enabled
    both_off = {"RESOLUTION_RATE_LIMIT_WRITES": "off", "RESOLUTION_RATE_LIMIT_UPLOADS": "0"}
    assert not Config.from_env({**env, **both_off}).rate_limits.enabled
    custom = {"RESOLUTION_RATE_LIMIT_UPLOADS": "5/second;100/hour"}
    assert Config.from_env({**env, **custom}).rate_limits.uploads == "5/second;100/hour"
    from resolution.config import ConfigError

    for name, value in [
        ("RESOLUTION_RATE_LIMIT_WRITES", "lots"),
        ("RESOLUTION_CONSOLE_SECURE_COOKIE", "maybe"),
        ("RESOLUTION_BODY_TIMEOUT", "2m"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Config.from_env({**env, name: value})
    assert (
        Config.from_env({**env, "RESOLUTION_CONSOLE_SECURE_COOKIE": "0"}).console_secure_cookie
        is False
    )
