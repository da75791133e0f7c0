"""What a webhook URL's owner controls, played against the deliverer: its DNS answers (a
resolver the deliverer is given), receivers that answer too much or too slowly, and an egress
proxy that says where it was asked to connect to. All on loopback."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Sequence


class Resolver:
    """A DNS server its owner controls: answers `answers[n]` to the n-th question (the last one
    ever after), and remembers every question."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = [list(a) for a in answers]
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[min(len(self.asked), len(self.answers)) - 1]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class RawServer:
    """A TCP server on loopback whose `answer(connection, request_head)` says what to send;
    counts the connections it accepted and the bytes it managed to send."""

    def __init__(self) -> None:
        self.connections = 0
        self.sent = 0
        self.heads: list[bytes] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                outer.connections += 1
                head = _read_head(self.request)
                outer.heads.append(head)
                try:
                    outer.answer(self.request, head)
                except OSError:
                    pass  # the deliverer stopped reading and closed: as it should

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, connection: socket.socket, head: bytes) -> None:
        connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    def send(self, connection: socket.socket, data: bytes) -> None:
        connection.sendall(data)
        self.sent += len(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _read_head(connection: socket.socket) -> bytes:
    """The request's head and as much of its body as its Content-Length says."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


class Flood(RawServer):
    """Answers 200 with a body of `size` bytes (100 MB), sent as fast as it is taken."""

    def __init__(self, size: int = 100 * 2**20) -> None:
        self.size = size
        super().__init__()

    def answer(self, connection, head):
        self.send(connection, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.size)
        block = b"x" * 65536
        for _ in range(self.size // len(block)):
            self.send(connection, block)


class Trickle(RawServer):
    """Answers a byte every `every` seconds, for ever: its status line and headers (`where`
    "head"), or, after a 200 and its headers, its body ("body")."""

    def __init__(self, where: str, every: float = 0.05) -> None:
        self.where, self.every = where, every
        super().__init__()

    def answer(self, connection, head):
        if self.where == "body":
            self.send(connection, b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            endless = b"ok " * 10**6
        else:
            endless = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10**6
        for byte in endless:
            self.send(connection, bytes([byte]))
            time.sleep(self.every)


class Redirect(RawServer):
    """Answers 302 to `location`."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__()

    def answer(self, connection, head):
        head = f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\nContent-Length: 0\r\n\r\n"
        self.send(connection, head.encode())


class ConnectProxy:
    """An egress proxy that tunnels CONNECT requests and remembers each request line."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                line = head.split(b"\r\n", 1)[0].decode()
                outer.requests.append(line)
                method, target, _ = line.split(" ", 2)
                if method != "CONNECT":
                    self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                    return
                host, _, port = target.rpartition(":")
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
                self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pipe(self.request, upstream)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def copy(source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join(5)
    b.close()
