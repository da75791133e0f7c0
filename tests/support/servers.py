"""The service on real sockets: a free port, the app served by werkzeug in a thread, raw HTTP
requests and their replies, and a JSON call to `resolution serve`."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial

from werkzeug.serving import make_server

from tests.support.orders import by_reference


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no answer (the connection failed)
    headers: dict[str, str]  # names in lower case
    raw: bytes
    content_type: str

    @property
    def body(self) -> dict:
        return json.loads(self.raw) if self.raw else {}

    @property
    def version(self) -> int:
        return int(self.headers["etag"].strip('"'))

    @property
    def replayed(self) -> bool:
        return self.headers.get("idempotent-replayed") == "true"


def send(port: int, method: str, path: str, body=None, headers: dict | None = None) -> Reply:
    """One request on a connection of its own; a failed connection is a `Reply` of status 0.

    An opening's inline order is registered first, as the marketplace would (`orders`)."""
    body = by_reference(method, path, body, headers or {}, _over(partial(send, port)))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, body=payload, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return Reply(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            raw,
            response.headers.get_content_type(),
        )
    except (OSError, http.client.HTTPException) as error:
        return Reply(0, {}, str(error).encode(), "")
    finally:
        connection.close()


class Server:
    """The app served over real sockets by werkzeug, one thread per request."""

    def __init__(self, app) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> Reply:
        """A request with a JSON body (if any): its reply (an opening's inline order
        registered first, `orders`)."""
        body = by_reference(method, path, body, headers or {}, _over(self.request))
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            payload = None if body is None else json.dumps(body)
            sent = {**(headers or {})}
            if payload is not None:
                sent["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            return Reply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
                response.headers.get_content_type(),
            )
        finally:
            connection.close()

    def post(self, path: str, body: dict, headers: dict) -> tuple[int, dict, dict]:
        """A JSON POST: (status, headers as sent, JSON body)."""
        body = by_reference("POST", path, body, headers, _over(self.request))
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(
                "POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), json.loads(response.read())
        finally:
            connection.close()


def call(base: str, method: str, path: str, bearer: str | None = None, body=None):
    """A JSON request to a running `resolution serve` at `base`: (status, JSON body or None)."""
    if bearer:

        def over(method: str, path: str, body, headers: dict):
            return call(base, method, path, headers["Authorization"].removeprefix("Bearer "), body)

        body = by_reference(method, path, body, {"Authorization": f"Bearer {bearer}"}, over)
    request = urllib.request.Request(base + path, method=method)
    if bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def transport(port: int):
    """`orders.by_reference`'s way to the server on `port` (for a test's own HTTP client)."""
    return _over(partial(send, port))


def _over(request):
    """A transport for `orders.by_reference` from a `Reply`-returning request function."""

    def send(method: str, path: str, body, headers: dict):
        sent = {**headers, "Content-Type": "application/json"} if body is not None else headers
        reply = request(method, path, body, sent)
        return reply.status, None

    return send
