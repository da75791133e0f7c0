"""`gunicorn -c gunicorn.conf.py wsgi:app` with MONGODB_URI set: production, behind a proxy.

Set PROMETHEUS_MULTIPROC_DIR to an empty directory (emptied at every start) so /metrics adds
up every worker; `resolution serve` does all of this itself. See docs/operations.md.
"""

import os

from resolution.workers.gunicorn_config import *  # noqa: F403 - the shared settings

bind = os.environ.get("RESOLUTION_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
