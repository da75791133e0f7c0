"""A request body must arrive within a deadline: a client that trickles it is answered 408.

A sync gunicorn worker serves one request at a time and reads its body from a blocking socket:
a client sending one byte a second would hold the worker until gunicorn's own `timeout` kills
it. Under gunicorn (`gunicorn.socket` in the environ) every read of the body here is given what
is left of `RESOLUTION_BODY_TIMEOUT` as its socket timeout; past it, the request ends with a 408
problem and the worker is free for the next one. (A slow client still costs a worker for that
long: in production a buffering proxy in front takes them, see docs/operations.md.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from werkzeug.exceptions import RequestTimeout


class _DeadlineInput:
    """`wsgi.input`, read against a deadline on the client's socket."""

    def __init__(self, stream, sock, deadline: float, seconds: float) -> None:
        self._stream, self._sock, self._deadline, self._seconds = stream, sock, deadline, seconds

    def _read(self, method: Callable, *args):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise self._timeout()
        self._sock.settimeout(left)
        try:
            return method(*args)
        except TimeoutError as error:  # socket.timeout
            raise self._timeout() from error

    def _timeout(self) -> RequestTimeout:
        return RequestTimeout(
            f"The request body did not arrive within {self._seconds:g} s; nothing was done."
        )

    def read(self, *args):
        return self._read(self._stream.read, *args)

    def readline(self, *args):
        return self._read(self._stream.readline, *args)

    def readlines(self, *args):
        return self._read(self._stream.readlines, *args)

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class BodyDeadline:
    """WSGI middleware: the body of each request must be read within `seconds`."""

    def __init__(self, app: Callable, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        if sock is None:
            return self.app(environ, start_response)
        deadline = time.monotonic() + self.seconds
        environ["wsgi.input"] = _DeadlineInput(environ["wsgi.input"], sock, deadline, self.seconds)
        try:
            return self.app(environ, start_response)
        finally:
            sock.settimeout(None)  # the response is written without a deadline
