"""The webhooks' way out: the address that was checked is the address connected to.

An attempt looks the URL's host up once (`resolve`: the system's resolver unless a test gives
another) and sends nothing if any answer is not a public address. Otherwise httpcore sends the
POST over a connection opened to exactly those addresses (`_Pinned`, a network backend that
never looks the name up again), so a DNS server that changes its answer between the check and
the connection (DNS rebinding) gains nothing. The Host header, the TLS server name and the
certificate check still use the URL's name: httpcore sets them from the URL as always; only the
TCP connection is ours. Through an egress proxy, that connection is a CONNECT tunnel to the
same address, so the proxy does not look the name up again either.

An attempt has one deadline for everything (connecting, sending, the answer's head and body):
every read and write waits at most what is left of it, so a receiver that trickles its answer a
byte at a time cannot hold the deliverer. Of the answer's body, the first `MAX_ANSWER` bytes are
read and kept; the rest is never read. Redirects are answers like any other: never followed.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

import httpcore
import httpx

from ..domain import webhooks as rules
from ..domain.errors import Invalid

# (host, port) -> the host's addresses, as text: one lookup.
Resolver = Callable[[str, int], Sequence[str]]
# A whole attempt, from the lookup to the last byte of the answer kept: the README's "no answer
# in 10 s is retried".
DEADLINE = 10.0
CONNECT_TIMEOUT = 5.0
# How much of a receiver's answer is read and kept for the deliveries listing.
MAX_ANSWER = 4096
_FAILURES = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for `host`, in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked_addresses(url: str, *, allow_private: bool, resolve: Resolver) -> list[str]:
    """The addresses of the URL's host, looked up once (a literal address is not looked up);
    `Invalid` if the URL may not be sent to or any one address is not public."""
    host, port = rules.check_target(url)
    try:
        httpx.URL(url)  # what will be sent must parse there too
    except httpx.InvalidURL as error:
        raise Invalid("The URL is not valid.", {"url": [str(error)]}) from error
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = list(resolve(host, port))
        except (OSError, UnicodeError) as error:
            raise Invalid(f"The host {host} cannot be resolved.", {"url": [str(error)]}) from error
    if not addresses:
        raise Invalid(f"The host {host} cannot be resolved.", {"url": ["no address"]})
    refused = [a for a in addresses if not _public(a)]
    if refused and not allow_private:
        named = host if [host] == refused else f"{host} resolves to {', '.join(refused)}:"
        raise Invalid(
            "Webhooks are not sent to loopback, private or reserved addresses.",
            {"url": [f"{named} not a public address"]},
        )
    return addresses


def _public(address: str) -> bool:
    try:
        return not rules.private_address(address)
    except ValueError:  # not an address at all (a resolver answering nonsense)
        return False


@dataclass(frozen=True)
class Answer:
    """How an attempt went: the receiver's status (None when it did not answer), the start
    of its body as text, and why the attempt failed (None when it did not)."""

    status_code: int | None = None
    body: str | None = None
    error: str | None = None


class Egress:
    """Sends webhook POSTs, each to the addresses checked for it, each within its deadline."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolve: Resolver = system_resolver,
        proxy: str | None = None,
        deadline: float = DEADLINE,
        connect_timeout: float = CONNECT_TIMEOUT,
        max_answer: int = MAX_ANSWER,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.resolve = resolve
        self.deadline = deadline
        self.connect_timeout = connect_timeout
        self.max_answer = max_answer
        # certifi's roots, as httpx used before; a test gives a context trusting its own.
        self._ssl = ssl_context or httpx.create_ssl_context()
        self._proxy = _Proxy.parse(proxy, self._ssl) if proxy else None

    def post(self, url: str, body: bytes, headers: Iterable[tuple[str, str]]) -> Answer:
        """One attempt: look up, check, connect to what passed, send, read the answer's start."""
        deadline = _Deadline(self.deadline)
        try:
            addresses = checked_addresses(
                url, allow_private=self.allow_private, resolve=self.resolve
            )
        except Invalid as refused:
            reasons = "; ".join(m for ms in refused.errors.values() for m in ms)
            return Answer(error=f"not sent: {refused} ({reasons})")
        target = httpx.URL(url)  # IDNA, the port, the path and query as sent
        backend = _Pinned(addresses, deadline, self._proxy)
        timeouts = {
            "connect": self.connect_timeout,
            "read": self.deadline,
            "write": self.deadline,
            "pool": self.deadline,
        }
        status, kept = None, bytearray()
        try:
            with (
                httpcore.ConnectionPool(
                    ssl_context=self._ssl, network_backend=backend, max_keepalive_connections=0
                ) as pool,
                pool.stream(
                    b"POST",
                    httpcore.URL(
                        scheme=target.raw_scheme,
                        host=target.raw_host,
                        port=target.port,
                        target=target.raw_path,
                    ),
                    headers=[(k.encode(), v.encode()) for k, v in headers],
                    content=body,
                    extensions={"timeout": timeouts},
                ) as response,
            ):
                status = response.status
                _read_start(response.iter_stream(), kept, self.max_answer)
        except _FAILURES as error:
            if status is None:
                return Answer(error=f"{type(error).__name__}: {error or 'no answer'}"[:300])
            # The status came in time; a body cut short by the deadline is kept as it came.
        text = kept.decode("utf-8", errors="replace")
        return Answer(status, text, None if 200 <= status < 300 else f"HTTP {status}")


def _read_start(chunks: Iterable[bytes], kept: bytearray, limit: int) -> None:
    """The first `limit` bytes of the body into `kept`; the rest is left unread (closing the
    response closes the connection)."""
    for chunk in chunks:
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            return


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def left(self, timeout: float | None, expired: type[Exception]) -> float:
        """What a read, write or connect may wait: its own timeout, cut to what is left."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise expired("the attempt's time ran out")
        return left if timeout is None else min(timeout, left)


class _Timed(httpcore.NetworkStream):
    """A connection whose every read and write waits at most what is left of the attempt."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), 65536):  # the deadline is looked at between pieces
            piece = buffer[start : start + 65536]
            self._stream.write(piece, self._deadline.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        left = self._deadline.left(timeout, httpcore.ConnectTimeout)
        return _Timed(self._stream.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _Pinned(httpcore.NetworkBackend):
    """Connects to the addresses it was given, whatever name httpcore asks for: the name is
    not looked up again. With a proxy: a CONNECT tunnel through it to those addresses."""

    def __init__(
        self, addresses: Sequence[str], deadline: _Deadline, proxy: _Proxy | None = None
    ) -> None:
        self._addresses = addresses
        self._deadline = deadline
        self._proxy = proxy
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(
        self, host, port, timeout=None, local_address=None, socket_options=None
    ) -> httpcore.NetworkStream:
        failures: list[Exception] = []
        for address in self._addresses:  # in the resolver's order, as a browser would
            left = self._deadline.left(timeout, httpcore.ConnectTimeout)
            try:
                if self._proxy is not None:
                    stream = self._proxy.tunnel(address, port, self._deadline, left)
                else:
                    stream = self._tcp.connect_tcp(
                        address, port, left, local_address, socket_options
                    )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failure:
                failures.append(failure)
                continue
            return _Timed(stream, self._deadline)
        raise failures[-1]

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("webhooks go over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class _Proxy:
    """The operator's egress proxy (`RESOLUTION_WEBHOOK_PROXY`): trusted, so not checked."""

    origin: httpcore.Origin
    headers: tuple[tuple[bytes, bytes], ...]
    ssl_context: object

    @classmethod
    def parse(cls, url: str, ssl_context) -> _Proxy:
        proxy = httpx.URL(url)
        headers: tuple[tuple[bytes, bytes], ...] = ()
        if proxy.username or proxy.password:
            user = f"{unquote(proxy.username)}:{unquote(proxy.password)}".encode()
            headers = ((b"Proxy-Authorization", b"Basic " + base64.b64encode(user)),)
        port = proxy.port or (443 if proxy.scheme == "https" else 80)
        return cls(httpcore.Origin(proxy.raw_scheme, proxy.raw_host, port), headers, ssl_context)

    def tunnel(
        self, address: str, port: int, deadline: _Deadline, timeout: float
    ) -> httpcore.NetworkStream:
        """A connection through the proxy to `address`:`port` (CONNECT, RFC 9110 9.3.6),
        asked of the proxy with httpcore, as httpcore's own HTTPS proxying does."""
        target = (f"[{address}]" if ":" in address else address).encode() + b":%d" % port
        proxy_host = self.origin.host.decode("ascii")
        connection = httpcore.HTTPConnection(
            origin=self.origin,
            ssl_context=self.ssl_context,
            network_backend=_Pinned([proxy_host], deadline),
        )
        response = connection.handle_request(
            httpcore.Request(
                b"CONNECT",
                httpcore.URL(
                    scheme=self.origin.scheme,
                    host=self.origin.host,
                    port=self.origin.port,
                    target=target,
                ),
                headers=[(b"Host", target), *self.headers],
                extensions={"timeout": dict.fromkeys(("connect", "read", "write"), timeout)},
            )
        )
        if not 200 <= response.status < 300:
            connection.close()
            raise httpcore.ProxyError(f"the proxy answered {response.status} to CONNECT {target}")
        return response.extensions["network_stream"]
