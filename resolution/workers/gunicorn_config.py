"""Gunicorn settings for the API, shared by `resolution serve` and `gunicorn -c gunicorn.conf.py`.

Workers are sync workers unless `threads` is over 1 (`resolution serve --threads N`, which
`make run` sets to 4): then gunicorn runs gthread workers, each overlapping the database waits
of N requests (docs/operations.md has the figures). A worker reads a request from a blocking
socket: the app gives a body `RESOLUTION_BODY_TIMEOUT` (50 s, under `timeout`) and answers 408
after it; a sync worker's slow headers are cut by `timeout` itself (the worker is restarted), a
thread's are not. In production a buffering proxy takes slow clients.
"""

from __future__ import annotations

import os

from prometheus_client import multiprocess

__all__ = [
    "accesslog",
    "child_exit",
    "graceful_timeout",
    "logconfig_dict",
    "post_worker_init",
    "timeout",
    "worker_class",
]

worker_class = "sync"
timeout = 60  # an upload of 100 MB on a slow link, at most
graceful_timeout = 20
# Every request is logged once, as JSON with its request id, by the app itself.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    # gunicorn's own names for its handlers, so its defaults (root, access) find them.
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
    },
}


def post_worker_init(worker) -> None:
    from ..observability import configure_logging

    configure_logging()


def child_exit(server, worker) -> None:
    """A worker's metric files stay (its counts still count); its live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
