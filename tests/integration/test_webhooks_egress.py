"""Webhook egress that cannot be turned against the inside (issue #23): a hostile DNS server,
odd ways of writing an address, redirects, receivers that answer too much or too slowly, and
the egress proxy. The API and the deliverer run for real, on the embedded database; only the
DNS answers are the test's (the deliverer's resolver seam), and every receiver is on loopback.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from resolution.config import Config, ConfigError
from resolution.service import Context
from resolution.service.egress import DEADLINE, MAX_ANSWER, Egress
from resolution.web.app import create_app
from resolution.workers import deliverer
from tests.support.bodies import complaint_body
from tests.support.egress import ConnectProxy, Flood, RawServer, Redirect, Resolver, Trickle
from tests.support.parties import BUYER, auth
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
MARKET = auth("integration", "market-1")
PUBLIC = "93.184.215.14"  # a public address (no receiver of ours is there)
NAMES = {"rebind.example": [PUBLIC], "hooks.example": ["127.0.0.1"]}


def names(host: str, port: int) -> list[str]:
    """The DNS as the API sees it when subscribing."""
    if host not in NAMES:
        raise OSError(f"unknown host {host}")
    return NAMES[host]


@pytest.fixture
def context(context):
    # Receivers are on loopback: the deliverer's own egress allows private targets here, and
    # each hostile case gives the deliverer an egress that does not.
    return replace(context, webhooks_allow_private=True, webhooks_resolver=names)


@pytest.fixture
def receiver():
    server = RawServer()
    yield server
    server.close()


def subscribe(client, url: str) -> str:
    response = client.post("/v1/webhooks", json={"url": url}, headers=MARKET)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def last_delivery(client, sub: str) -> dict:
    items = client.get(f"/v1/webhooks/{sub}/deliveries", headers=MARKET).get_json()["items"]
    assert len(items) == 1
    return items[0]


def an_event(client) -> None:
    assert client.post("/v1/complaints", json=complaint_body(), headers=BUYER).status_code == 201


def production(resolve=names, **settings) -> Egress:
    """The deliverer's egress as in production: no private targets."""
    return Egress(allow_private=False, resolve=resolve, deadline=2.0, **settings)


# --- DNS rebinding --------------------------------------------------------------------------


def test_dns_rebinding_after_the_check_sends_nothing_to_loopback(client, context, clock, receiver):
    sub = subscribe(client, f"http://rebind.example:{receiver.port}/hooks")
    an_event(client)
    # Public to the first question, loopback to every later one.
    dns = Resolver([PUBLIC], ["127.0.0.1"])
    done = deliverer.run(context, egress=production(dns))
    assert done.failed == 1 and done.delivered == 0
    # One lookup for the attempt, and the connection went to what it answered (the public
    # address, where nothing listens): the name was not looked up again to connect.
    assert dns.asked == ["rebind.example"]
    assert receiver.connections == 0
    first = last_delivery(client, sub)
    assert first["attempts"] == 1 and first["last_error"] and first["last_status_code"] is None
    # The retry asks again, hears loopback, and sends nothing.
    clock.advance(minutes=1)
    assert deliverer.run(context, egress=production(dns)).failed == 1
    assert dns.asked == ["rebind.example"] * 2
    assert receiver.connections == 0
    second = last_delivery(client, sub)
    assert second["attempts"] == 2
    assert second["last_error"].startswith("not sent:") and "127.0.0.1" in second["last_error"]


def test_dns_rebinding_with_both_answers_at_once_is_refused(client, context, receiver):
    sub = subscribe(client, f"http://rebind.example:{receiver.port}/hooks")
    an_event(client)
    dns = Resolver([PUBLIC, "127.0.0.1"])
    assert deliverer.run(context, egress=production(dns)).failed == 1
    assert dns.asked == ["rebind.example"] and receiver.connections == 0
    error = last_delivery(client, sub)["last_error"]
    assert error.startswith("not sent:") and "resolves to 127.0.0.1" in error


ODD_ANSWERS = [
    "127.0.0.1",
    "10.0.0.7",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "::",
    "::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:a9fe:a9fe",  # IPv4-mapped 169.254.169.254, in hex
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a00:7",  # NAT64 of 10.0.0.7
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    "fd00::1",
    "fe80::1",
    "not an address",
]


@pytest.mark.parametrize("answer", ODD_ANSWERS)
def test_a_private_answer_in_any_form_is_refused_before_a_byte(config, clock, receiver, answer):
    dns = Resolver([PUBLIC, answer])
    url = f"http://rebind.example:{receiver.port}/hooks"
    sent = production(dns).post(url, b"{}", [("Content-Type", "application/json")])
    assert sent.status_code is None and sent.error.startswith("not sent:"), sent
    assert receiver.connections == 0
    # Subscribing with that DNS is refused as well.
    app = create_app(config, context=Context(clock=clock, webhooks_resolver=Resolver([answer])))
    response = app.test_client().post("/v1/webhooks", json={"url": url}, headers=MARKET)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_public_forms_of_public_addresses_pass_the_check():
    from resolution.service.egress import checked_addresses

    for answer in ("8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"):
        url = "http://hooks.example/"
        found = checked_addresses(url, allow_private=False, resolve=Resolver([answer]))
        assert found == [answer]


# --- address forms written in the URL -------------------------------------------------------

ODD_URLS = [
    "http://2130706433:{port}/",  # decimal 127.0.0.1
    "http://0177.1:{port}/",  # octal, short
    "http://0x7f.1:{port}/",  # hex, short
    "http://127.1:{port}/",  # short
    "http://0177.0.0.1:{port}/",  # octal
    "http://127.0.0.1.:{port}/",  # a trailing dot
    "http://0.0.0.0:{port}/",
    "http://[::]:{port}/",
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[64:ff9b::7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://[::127.0.0.1]:{port}/",  # IPv4-compatible (deprecated)
]


@pytest.mark.parametrize("template", ODD_URLS)
def test_odd_address_forms_are_refused_at_registration_and_at_send(
    config, clock, receiver, template
):
    url = template.format(port=receiver.port)
    # The app as configured in production (no RESOLUTION_WEBHOOK_ALLOW_PRIVATE), and a DNS that
    # would say loopback: nothing is decided by a lookup here.
    app = create_app(config, context=Context(clock=clock))
    response = app.test_client().post("/v1/webhooks", json={"url": url}, headers=MARKET)
    assert response.status_code == 422, (url, response.get_json())
    assert response.mimetype == "application/problem+json"
    dns = Resolver(["127.0.0.1"])
    sent = production(dns).post(url, b"{}", [])
    assert sent.error.startswith("not sent:") and receiver.connections == 0
    assert dns.asked == []


def test_numbers_that_are_not_dotted_quads_are_refused_even_where_private_is_allowed(receiver):
    for template in ODD_URLS[:6]:
        url = template.format(port=receiver.port)
        sent = Egress(allow_private=True).post(url, b"{}", [])
        assert sent.error.startswith("not sent: Write an IPv4 address"), (url, sent)
    assert receiver.connections == 0


# --- what a receiver answers ----------------------------------------------------------------


def test_redirects_are_not_followed(client, context, receiver):
    elsewhere = Redirect(receiver.url)
    try:
        sub = subscribe(client, elsewhere.url)
        an_event(client)
        assert deliverer.run(context).failed == 1
        delivery = last_delivery(client, sub)
        assert delivery["last_status_code"] == 302 and delivery["last_error"] == "HTTP 302"
        assert receiver.connections == 0
    finally:
        elsewhere.close()


def test_a_100_mb_answer_is_read_only_as_far_as_the_listing_keeps(client, context):
    flood = Flood()
    try:
        sub = subscribe(client, flood.url)
        an_event(client)
        tracemalloc.start()
        started = time.monotonic()
        done = deliverer.run(context)
        took = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert done.delivered == 1
        delivery = last_delivery(client, sub)
        assert delivery["last_response"] == "x" * MAX_ANSWER
        print(f"100 MB answer: {took:.3f} s, peak {peak / 2**20:.2f} MiB traced, ", end="")
        print(f"{flood.sent / 2**20:.1f} MiB sent by the receiver before it was cut off")
        assert took < 2.0
        assert peak < 4 * 2**20  # the 100 MB never held; a few 64 KB reads at most
        assert flood.sent < 20 * 2**20  # what the sockets' buffers took before the close
    finally:
        flood.close()


@pytest.mark.parametrize("where", ["head", "body"])
def test_a_trickling_receiver_holds_the_deliverer_no_longer_than_the_deadline(
    client, context, where
):
    trickle = Trickle(where)
    try:
        sub = subscribe(client, trickle.url)
        an_event(client)
        egress = Egress(allow_private=True, resolve=names, deadline=2.0)
        started = time.monotonic()
        done = deliverer.run(context, egress=egress)
        took = time.monotonic() - started
        print(f"trickle ({where}): the attempt took {took:.2f} s of a 2 s deadline")
        assert 1.9 < took < 3.0
        delivery = last_delivery(client, sub)
        assert delivery["attempts"] == 1
        if where == "head":  # no status in time: no answer, retried
            assert done.failed == 1 and delivery["last_status_code"] is None
            assert delivery["last_error"].startswith("ReadTimeout")
        else:  # the 200 came in time: delivered, the body kept as far as it came
            assert done.delivered == 1 and delivery["last_status_code"] == 200
            assert delivery["last_response"].startswith("ok ok")
            assert len(delivery["last_response"]) < MAX_ANSWER
    finally:
        trickle.close()


def test_the_deadline_is_the_readmes_ten_seconds():
    assert DEADLINE == 10.0


# --- the address checked is the address connected to, under the URL's name ------------------


def test_the_connection_goes_to_the_checked_address_under_the_urls_name(client, context):
    receiver = Receiver()
    try:
        subscribe(client, f"http://hooks.example:{receiver.server.server_port}/hooks")
        an_event(client)
        assert deliverer.run(context).delivered == 1
        headers, _ = receiver.received[0]
        assert headers["Host"] == f"hooks.example:{receiver.server.server_port}"
    finally:
        receiver.close()


def test_every_delivery_goes_through_the_proxy_to_the_checked_address(client, context):
    receiver = Receiver()
    proxy = ConnectProxy()
    port = receiver.server.server_port
    try:
        subscribe(client, f"http://hooks.example:{port}/hooks")
        an_event(client)
        assert deliverer.run(context, proxy=proxy.url).delivered == 1
        # The proxy is asked for the address, not the name: it has nothing to look up.
        assert proxy.requests == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
        headers, _ = receiver.received[0]
        assert headers["Host"] == f"hooks.example:{port}"
        # The check is still ours: a private answer is refused before the proxy hears of it.
        refused = production(Resolver(["10.0.0.7"]), proxy=proxy.url)
        assert refused.post(f"http://hooks.example:{port}/hooks", b"{}", []).error
        assert len(proxy.requests) == 1
    finally:
        proxy.close()
        receiver.close()


def test_https_keeps_the_urls_name_for_sni_and_the_certificate(tmp_path):
    cert, key = _certificate(tmp_path, "hooks.example")
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    names_seen: list[str | None] = []
    served.sni_callback = lambda sock, name, ctx: names_seen.append(name)

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.socket = served.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    trusted = ssl.create_default_context(cafile=str(cert))
    try:
        dns = Resolver(["127.0.0.1"])
        egress = Egress(allow_private=True, resolve=dns, ssl_context=trusted, deadline=5)
        answer = egress.post(f"https://hooks.example:{port}/hooks", b"{}", [])
        assert answer.status_code == 204 and answer.error is None, answer
        assert names_seen == ["hooks.example"]
        # Another name at the same address: the certificate does not name it, nothing is sent.
        wrong = egress.post(f"https://other.example:{port}/hooks", b"{}", [])
        assert wrong.status_code is None and "certificate" in wrong.error.lower(), wrong
    finally:
        server.shutdown()
        server.server_close()


def _certificate(directory, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --- RESOLUTION_WEBHOOK_PROXY ---------------------------------------------------------------


def test_resolution_deliver_sends_through_the_configured_proxy(client, config):
    receiver = Receiver()
    proxy = ConnectProxy()
    try:
        subscribe(client, receiver.url)
        an_event(client)
        env = {
            **os.environ,
            "MONGODB_URI": config.mongodb_uri,
            "RESOLUTION_DB_NAME": config.db_name,
            "RESOLUTION_WEBHOOK_ALLOW_PRIVATE": "1",
            "RESOLUTION_WEBHOOK_PROXY": proxy.url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "resolution", "deliver"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0 and "Delivered 1" in done.stdout, done.stderr
        port = receiver.server.server_port
        assert proxy.requests == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]
        assert len(receiver.received) == 1
    finally:
        proxy.close()
        receiver.close()


@pytest.mark.parametrize(
    "value",
    [
        "ftp://proxy:21",
        "proxy.internal:3128",
        "http://proxy:3128/path",
        "http://proxy:x",
        "http://",
    ],
)
def test_a_malformed_proxy_setting_stops_the_start(value):
    with pytest.raises(ConfigError, match="RESOLUTION_WEBHOOK_PROXY"):
        Config.from_env({"RESOLUTION_WEBHOOK_PROXY": value}, tokens=False)


def test_the_proxy_setting_is_read_and_its_password_never_shown():
    env = {"RESOLUTION_WEBHOOK_PROXY": "https://egress:s3cret@proxy.internal:4750"}
    assert Config.from_env(env, tokens=False).webhook_proxy == env["RESOLUTION_WEBHOOK_PROXY"]
    assert Config.from_env({}, tokens=False).webhook_proxy is None
    with pytest.raises(ConfigError) as refused:
        Config.from_env({"RESOLUTION_WEBHOOK_PROXY": "ftp://egress:s3cret@proxy:21"}, tokens=False)
    assert "s3cret" not in str(refused.value)
