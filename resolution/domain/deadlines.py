"""The clocks of a complaint: the parties' inactivity period and the care team's SLA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

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
