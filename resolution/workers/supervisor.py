"""The processes `resolution serve` keeps beside the API: the sweeper and the deliverer, each a
child process on the same database, started again whenever it dies, stopped with the server."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

log = logging.getLogger("resolution.supervisor")


@contextlib.contextmanager
def beside(uri: str, arguments: list[str] | None) -> Iterator[None]:
    """`resolution <arguments>` (the sweeper, the deliverer) as a child process on the same
    database, started again whenever it dies, and stopped with us."""
    if not arguments:
        yield
        return

    child = Child([sys.executable, "-m", "resolution", *arguments], {"MONGODB_URI": uri})
    stop = threading.Event()
    watchdog = threading.Thread(target=child.watch, args=(stop,), daemon=True)
    watchdog.name = f"{arguments[0]}-watchdog"
    watchdog.start()
    try:
        yield
    finally:
        stop.set()
        watchdog.join(timeout=60)
        child.stop()


class Child:
    """A child process kept running: the sweeper or the deliverer beside `serve`.

    Both wait out database errors by themselves; any other death (a bug, the kernel's OOM
    killer, an operator's stray kill) would leave complaints unswept or webhooks unsent until
    the next start, so the watchdog starts it again, waiting longer each time it dies young.
    """

    YOUNG = 30.0  # seconds: a child that dies sooner is crashing on start
    MOST_WAIT = 60.0

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self._command, self._env = command, {**os.environ, **env}
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(self._command, env=self._env)
        self.started = time.monotonic()

    def watch(self, stop: threading.Event, interval: float = 0.5) -> None:
        young_deaths = 0
        while not stop.wait(interval):
            if os.getpid() != self._owner:
                return  # a fork (a gunicorn worker): the child is the arbiter's
            # gunicorn's arbiter reaps every child it sees exit, ours too: poll() then says 0.
            if self.proc.poll() is None:
                continue
            lived = time.monotonic() - self.started
            young_deaths = young_deaths + 1 if lived < self.YOUNG else 0
            wait = min(self.MOST_WAIT, 2.0 ** (young_deaths - 1)) if young_deaths else 0.0
            log.error(
                "%s (pid %d) died after %.0f s (exit code %s); starting it again in %.0f s",
                " ".join(self._command[2:]),
                self.proc.pid,
                lived,
                self.proc.returncode,
                wait,
            )
            if stop.wait(wait):
                return
            with self._lock:
                if stop.is_set():
                    return
                try:
                    self.proc = subprocess.Popen(self._command, env=self._env)
                except OSError as error:  # out of processes or memory: the next round tries
                    log.error("could not start %s: %s", " ".join(self._command[2:]), error)
                self.started = time.monotonic()

    def stop(self) -> None:
        with self._lock:
            proc = self.proc
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
