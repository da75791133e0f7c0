"""The sweeper as a process: `resolution sweep [--loop]` runs passes of `service.sweeper`."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from .. import observability
from ..domain.errors import Conflict
from ..service import anchoring
from ..service.sweeper import sweep
from ..service.unit_of_work import Context
from ..store.errors import StoreError


def run(
    ctx: Context,
    now: datetime | None = None,
    *,
    loop: bool = False,
    interval: float = 60.0,
    checkpoint_every: timedelta | None = None,
    report: Callable[[Counter[str]], None] = lambda moved: None,
    warn: Callable[[str], None] = lambda message: None,
) -> None:
    """One pass as of `now` (default: the clock), or a pass every `interval` seconds; each
    pass's moves go to `report`, and to the metrics. With `checkpoint_every`, a pass also
    signs a checkpoint when the latest is that old, and checks it against the one before."""
    observability.count_events()
    while True:
        try:
            moved = sweep(ctx, now)
            if checkpoint_every and anchoring.due(ctx.clock(), checkpoint_every):
                _checkpoint(ctx, warn)
        except StoreError as error:
            if not loop:
                raise
            # The database is down or restarting: a looping sweeper waits it out (each move is
            # its own transaction; the next pass finds what is left), it does not die.
            warn(f"Sweep failed, trying again: database error: {error}")
            time.sleep(interval)
            continue
        observability.count_sweep(moved)
        report(moved)
        if not loop:
            return
        time.sleep(interval)


def _checkpoint(ctx: Context, warn: Callable[[str], None]) -> None:
    """Signs a checkpoint and checks the newest against the one before: a break alerts."""
    try:
        made = anchoring.make(ctx)
    except Conflict:
        warn("Checkpoint skipped: other sweepers kept making them; the next pass tries again.")
        return
    observability.count_checkpoint(made.n, anchoring.check_newest())
