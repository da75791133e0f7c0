"""The embedded database: a SecantusDB child process the service runs itself when MONGODB_URI
is unset, so `make run` needs no MongoDB installed. Its data, log and address live in a data dir.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

log = logging.getLogger(__name__)

STATE_FILE = "server.json"  # the running server's address, so other commands can reuse it
LOG_FILE = "secantus.log"
_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(RuntimeError):
    """The embedded database did not come up; the message carries the tail of its log."""


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when we die, even by SIGKILL.

    PDEATHSIG fires when the *thread* that forked the child exits, not the process: start
    the server from a long-lived thread (the main one), never from a short-lived worker.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork, not in the child
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _free_port(host: str) -> int:
    """Ask the OS for a free port; the child may lose a race for it, so start() retries."""
    family, kind, proto, _, addr = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as sock:
        sock.bind(addr)
        return sock.getsockname()[1]


def _ping(uri: str, timeout: float) -> bool:
    ms = max(1, int(timeout * 1000))
    client: pymongo.MongoClient = pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _read_from(path: Path, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) still answers kill(0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class EmbeddedServer:
    """One SecantusDB child process serving `data_dir`/data (or a throw-away store)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        in_memory: bool = False,
        cache_size: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()  # absolute: the child runs inside data_dir
        self.host = host
        self.port: int = port or 0
        self.uri: str = ""
        self.in_memory = in_memory
        # WiredTiger's cache ("1G" when None, SecantusDB's default); a bulk build of a million
        # complaints wants more (benchmarks/scale.py --cache-size).
        self.cache_size = cache_size
        self._requested_port = port
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 30.0) -> EmbeddedServer:
        if self._proc is not None:
            raise EmbeddedServerError(f"already running as pid {self._proc.pid}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tries = 1 if self._requested_port else 3
        for attempt in range(1, tries + 1):
            self.port = self._requested_port or _free_port(self.host)
            netloc = f"[{self.host}]" if ":" in self.host else self.host
            self.uri = f"mongodb://{netloc}:{self.port}/?directConnection=true"
            failure = self._launch(timeout)
            if failure is None:
                break
            if attempt == tries or "Address already in use" not in failure:
                raise EmbeddedServerError(failure)
            log.info("port %d was taken before secantus could bind it; retrying", self.port)
        state = {
            "pid": self.pid,
            "port": self.port,
            "host": self.host,
            "uri": self.uri,
            "owner_pid": os.getpid(),
        }
        tmp = self.data_dir / f"{STATE_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.data_dir / STATE_FILE)  # readers never see a half-written file
        log.info("embedded database pid %s ready at %s", self.pid, self.uri)
        return self

    def _launch(self, timeout: float) -> str | None:
        """Spawn the child and wait for a ping; on failure stop it and say why (with log tail)."""
        storage = ":memory:" if self.in_memory else str(self.data_dir / "data")
        cmd = [sys.executable, "-m", "secantus", "--storage-path", storage]
        cmd += ["--host", self.host, "--port", str(self.port), "--log-level", "INFO"]
        if self.cache_size:
            cmd += ["--cache-size", self.cache_size]
        if not self.in_memory:
            # Without it a commit returns once its log record is in WiredTiger's own buffer,
            # not yet in the file: a SIGKILL then loses writes the API already answered 2xx
            # (tests/reliability/test_crash_restart.py). Transactions ignore `j: true`.
            cmd.append("--sync-on-commit")
        log_path = self.data_dir / LOG_FILE
        with open(log_path, "ab") as out:  # the child holds its own copy of the descriptor
            offset = out.tell()
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,  # so no stray ./secantusd.toml config is picked up
                preexec_fn=_die_with_parent(),
            )
        self._owner_pid = os.getpid()
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while (code := self._proc.poll()) is None:
            # Only trust the ping once *our* child has bound the port: if someone else took
            # the port (another secantus, say), the ping would otherwise reach their server.
            if "secantus listening on" in _read_from(log_path, offset) and _ping(self.uri, 0.25):
                return None
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        reason = f"exited with code {code}" if code is not None else f"no ping in {timeout}s"
        self.stop(timeout=5.0)
        tail = _read_from(log_path, offset)[-2000:]
        return f"secantus {reason} (log {log_path}):\n{tail}"

    def stop(self, timeout: float = 10.0) -> None:
        proc = self._proc
        # A forked child (e.g. a gunicorn worker) inherits our atexit hook but not the server.
        if proc is None or os.getpid() != self._owner_pid:
            return
        self._proc = None
        atexit.unregister(self.stop)
        if proc.poll() is None:
            proc.terminate()  # secantus closes WiredTiger cleanly on SIGTERM
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "secantus pid %d ignored SIGTERM for %ss; killing it", proc.pid, timeout
                )
                proc.kill()
                proc.wait()
        state = self.data_dir / STATE_FILE
        with contextlib.suppress(OSError, ValueError):
            if json.loads(state.read_text()).get("pid") == proc.pid:
                state.unlink()
        log.info("embedded database pid %d stopped (exit code %s)", proc.pid, proc.returncode)

    def watch(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Starts the server again, on the same port, whenever it dies, until `stop` is set.

        Clients keep the URI they were given and reconnect by themselves; meanwhile they get
        connection errors (the API answers 503). Run it in a thread that lives as long as the
        server should (see `_die_with_parent`): `serve` does, through `database_uri(watch=True)`.
        """
        while not stop.wait(interval):
            proc = self._proc
            if proc is None or os.getpid() != self._owner_pid:
                return  # stopped on purpose, or we are a fork
            if proc.poll() is None:
                continue
            log.error(
                "embedded database pid %d died (exit code %s); starting it again on port %d",
                proc.pid,
                proc.returncode,
                self.port,
            )
            self._proc = None
            atexit.unregister(self.stop)
            self._requested_port = self.port  # the URI every client holds
            try:
                self.start()
            except EmbeddedServerError as error:
                log.error("the embedded database did not start again: %s", error)
                self._proc = proc  # dead: the next round tries again

    def __enter__(self) -> EmbeddedServer:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def running_uri(data_dir: str | os.PathLike[str]) -> str | None:
    """The URI of a live server already serving `data_dir`, or None (removing a stale file)."""
    path = Path(data_dir) / STATE_FILE
    try:
        state = json.loads(path.read_text())
        pid, uri = int(state["pid"]), str(state["uri"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignoring unreadable %s", path)
        return None
    if not _pid_alive(pid):
        log.info("removing stale %s (pid %d is gone)", path, pid)
        path.unlink(missing_ok=True)
        return None
    # The process is alive: give a busy server time to answer before deciding it is not ours
    # to reuse (starting a second server on the same files would fail on their lock anyway).
    return uri if _ping(uri, 10.0) else None


@contextlib.contextmanager
def _watched(server: EmbeddedServer) -> Iterator[None]:
    stop = threading.Event()
    watchdog = threading.Thread(
        target=server.watch, args=(stop,), name="embedded-database-watchdog", daemon=True
    )
    watchdog.start()
    try:
        yield
    finally:
        stop.set()
        watchdog.join(timeout=60)


@contextlib.contextmanager
def database_uri(
    data_dir: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    watch: bool = False,
) -> Iterator[str]:
    """MONGODB_URI if set; else a server already running on `data_dir` (left running);
    else an embedded server started for the duration of the with-block (and, with `watch`,
    started again whenever it dies)."""
    env = os.environ if environ is None else environ
    if env.get("MONGODB_URI"):
        yield env["MONGODB_URI"]
        return
    uri = running_uri(data_dir)
    if uri is not None:
        log.info("reusing the embedded database at %s", uri)
        yield uri
        return
    with (
        EmbeddedServer(data_dir) as server,
        _watched(server) if watch else contextlib.nullcontext(),
    ):
        yield server.uri
