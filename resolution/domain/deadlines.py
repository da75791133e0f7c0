"""The clocks of a complaint: the parties' inactivity period and the care team's SLA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .policy import Rules

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """`72h`, `3d`, `90m`, `1d12h` -> timedelta; raises ValueError on anything else."""
    parts = re.fullmatch(r"(?:\d+[smhdw])+", text.strip())
    if not parts:
        raise ValueError(f"not a duration: {text!r} (use e.g. 72h, 3d, 90m)")
    total = timedelta()
    for number, unit in re.findall(r"(\d+)([smhdw])", text):
        total += timedelta(**{_UNITS[unit]: int(number)})
    if total <= timedelta(0):
        raise ValueError(f"a duration must be positive: {text!r}")
    return total


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long a party may stay silent on its turn, and how long care may take.

    `reminder`: how long before a party's deadline it is reminded (`deadline_approaching`).
    """

    inactivity: timedelta = timedelta(hours=72)
    care_sla: timedelta = timedelta(hours=24)
    reminder: timedelta = timedelta(hours=24)
    # The least time care gives a party to answer an evidence request.
    evidence_min_due: timedelta = timedelta(hours=24)
    # The longest care may pause a party's clock (`pause_clock`).
    pause_max: timedelta = timedelta(days=14)

    def rules(self, channel: str | None = None) -> Rules:
        """These plain-hour settings as every channel's rules (no policy file): the
        inactivity period is also the review window, the care SLA both of care's clocks."""
        from .policy import Rules, plain

        return Rules(
            inactivity=plain(self.inactivity),
            care_first_reply=plain(self.care_sla),
            care_decide=plain(self.care_sla),
            review_window=plain(self.inactivity),
            evidence_min_due=self.evidence_min_due,
            reminder=self.reminder,
            pause_max=self.pause_max,
        )
