"""What a new deadline policy would have done to a period's complaints: `resolution
replay-policy`. Reads the events, writes nothing."""

from __future__ import annotations

from datetime import datetime

from ..domain import policy_replay
from ..domain.errors import Invalid
from ..domain.events import utc_ms
from ..domain.projection import Deadlines
from ..store import histories
from .unit_of_work import Context


def replay_policy(
    ctx: Context, policy: Deadlines, since: datetime, until: datetime | None = None
) -> policy_replay.Report:
    """Every complaint open at some instant of [since, until) (`until`: now), replayed under
    `policy` as of now (`ctx.clock`), beside what happened under the deadlines it recorded
    (`ctx.deadlines` for what it did not record, as `rebuild` does).

    Nothing is written: the events are read, the replay happens in memory.
    """
    now = utc_ms(ctx.clock())
    since, until = utc_ms(since), utc_ms(until or now)
    if until <= since:
        raise Invalid(
            "The period is empty: `until` must come after `since`.",
            {"until": ["after since"]},
        )
    complaints = []
    for events in histories.logs_of(histories.opened_before_and_changed_since(until, since)):
        if policy_replay.was_active(events, since, until) and events[0].at <= now:
            complaints.append(policy_replay.replay(events, ctx.deadlines, policy, now))
    return policy_replay.Report(since, until, now, tuple(complaints))
