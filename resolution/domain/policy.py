"""The deadline policy: per channel, how long each party and care may take, counted in plain
hours or in business days of a calendar, within working hours or not.

One TOML file names it (`RESOLUTION_POLICY`; `config` reads the file): a `[default]` table
and a `[channels.<name>]` table for each channel that differs, with exactly the keys of
`KEYS`. Here the tables are checked and turned into `Rules`; a bad value raises `PolicyError`
naming its table and key (the reader of the file adds the line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from .calendars import CALENDARS, DAY, Calendar, WorkingHours, add_business_days, next_open
from .events import iso, utc_ms
from .identifiers import CHANNEL
from .orders import Window, Windows

_PLAIN_UNITS = {
    "s": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "m": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "week": "weeks",
    "weeks": "weeks",
}


class PolicyError(ValueError):
    """A value of the policy file is wrong: `where` is its table and key (`channels.x.key`)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


@dataclass(frozen=True)
class Period:
    """A length of time given to someone: plain (`span`) or a number of business days."""

    span: timedelta | None = None
    business_days: int = 0

    @property
    def minimum(self) -> timedelta:
        """The plain time this period never falls short of (a business day: 24 hours)."""
        return self.span if self.span is not None else self.business_days * DAY

    def __str__(self) -> str:
        if self.span is None:
            n = self.business_days
            return f"{n} business day{'s' if n != 1 else ''}"
        seconds = int(self.span.total_seconds())
        for unit, size in (("h", 3600), ("m", 60)):
            if seconds % size == 0:
                return f"{seconds // size}{unit}"
        return f"{seconds}s"

    @classmethod
    def parse(cls, text: str, *, business: bool = True) -> Period:
        """`72h`, `3d`, `1d12h`, `24 hours`, `7 days`, `3 business days`; refuses a negative
        or zero period, and business days where `business` is False."""
        words = str(text).strip().lower()
        if words.startswith("-"):
            raise ValueError(f"a period cannot be negative: {text!r}")
        found = re.fullmatch(r"(\d+)\s*business\s+days?", words)
        if found:
            if not business:
                raise ValueError(f"give plain time here, not business days: {text!r}")
            if int(found[1]) == 0:
                raise ValueError(f"a period must be longer than nothing: {text!r}")
            return cls(business_days=int(found[1]))
        parts = re.findall(r"(\d+)\s*([a-z]+)", words)
        if not parts or re.sub(r"(\d+)\s*([a-z]+)", "", words).strip():
            raise ValueError(f"not a period: {text!r} (use e.g. 72h, 3d, 3 business days)")
        span = timedelta()
        for number, unit in parts:
            if unit not in _PLAIN_UNITS:
                raise ValueError(f"not a period: {text!r} (unknown unit {unit!r})")
            span += timedelta(**{_PLAIN_UNITS[unit]: int(number)})
        if span <= timedelta(0):
            raise ValueError(f"a period must be longer than nothing: {text!r}")
        return cls(span=span)


def plain(span: timedelta) -> Period:
    return Period(span=span)


def iso_duration(span: timedelta) -> str:
    """`P2DT4H30M`: an ISO 8601 duration (whole seconds), `PT0S` for none."""
    seconds = int(span.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")
    return text if text != "P" else "PT0S"


def parse_iso_duration(text: str) -> timedelta:
    found = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", text)
    if not found:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@dataclass(frozen=True)
class Rules:
    """One channel's clocks. The defaults are the service's plain-hour rules of old."""

    inactivity: Period = Period(span=timedelta(hours=72))
    calendar: Calendar = Calendar()
    working_hours: WorkingHours | None = None
    care_first_reply: Period = Period(span=timedelta(hours=24))
    care_decide: Period = Period(span=timedelta(hours=24))
    review_window: Period = Period(span=timedelta(hours=72))
    complaint_window: Window = field(default_factory=Window)
    evidence_min_due: timedelta = timedelta(hours=24)
    # Not in the policy file (environment): how long before a party's deadline it is
    # reminded, and how long care may pause a clock at most.
    reminder: timedelta = timedelta(hours=24)
    pause_max: timedelta = timedelta(days=14)

    def deadline(self, start: datetime, period: Period) -> dict[str, Any]:
        """The deadline `period` gives from `start`, explained: `{due_at, rule, started_at,
        skipped: [{date, name}], paused_for, calendar, working_hours}` (what is stored with
        the complaint, and shown).

        Business days count whole days of the calendar at the start's time of day in WIB;
        plain periods count hours. With working hours, a deadline that would fall outside
        them (or on a day that is no business day) falls at the next opening instead. A
        deadline never comes sooner than `period.minimum` after `start`.
        """
        skipped: dict[date, str] = {}
        hours = self.working_hours
        if period.span is None:
            due = add_business_days(start, period.business_days, self.calendar, hours, skipped)
        else:
            due = start + period.span
            if hours is not None:
                due = next_open(due, self.calendar, hours, skipped, closing_counts=True)
        return {
            "due_at": iso(due),
            "rule": str(period),
            "started_at": iso(start),
            "skipped": [{"date": d.isoformat(), "name": n} for d, n in sorted(skipped.items())],
            "paused_for": "PT0S",
            "calendar": self.calendar.name,
            "working_hours": str(hours) if hours else None,
        }

    def due_at(self, start: datetime, period: Period) -> datetime:
        """Only the instant of `deadline`."""
        return datetime.fromisoformat(self.deadline(start, period)["due_at"])


def due_of(deadline: dict | None) -> datetime | None:
    """The instant a stored deadline falls at."""
    return utc_ms(datetime.fromisoformat(deadline["due_at"])) if deadline else None


@dataclass(frozen=True)
class Policy:
    """The rules of each channel: `default` unless the channel has its own."""

    default: Rules = field(default_factory=Rules)
    channels: Mapping[str, Rules] = field(default_factory=dict)

    def rules(self, channel: str | None) -> Rules:
        return self.channels.get(channel or "", self.default)

    @property
    def windows(self) -> Windows:
        """The channels' complaint windows, as opening a complaint reads them."""
        per_channel = {name: r.complaint_window for name, r in self.channels.items()}
        return Windows(self.default.complaint_window, per_channel)


# The keys a table of the policy file may hold, and nothing else.
KEYS = (
    "inactivity_period",
    "calendar",
    "extra_holidays",
    "working_hours",
    "care_first_reply",
    "care_decide",
    "review_window",
    "complaint_window",
    "evidence_min_due",
)


def parse_window(text: str, default: Window) -> Window:
    """`7 days after delivery`, optionally `, 30 days after payment`: the complaint window
    (what is not given stays as in `default`)."""
    window = default
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        found = re.fullmatch(r"(.+?)\s+after\s+(delivery|payment)", part.strip().lower())
        if not found:
            raise ValueError(
                f"not a complaint window: {text!r} (use e.g. 7 days after delivery, "
                "30 days after payment)"
            )
        span = Period.parse(found[1], business=False).span
        if found[2] == "delivery":
            window = replace(window, after_delivery=span)
        else:
            window = replace(window, undelivered=span)
    if window == default and not str(text).strip():
        raise ValueError("the complaint window is empty")
    return window


def _rules(table: Any, base: Rules, where: str) -> Rules:
    """`base` with the keys of one table of the file applied."""
    if not isinstance(table, Mapping):
        raise PolicyError(where, "must be a table of keys")
    unknown = [key for key in table if key not in KEYS]
    if unknown:
        raise PolicyError(f"{where}.{unknown[0]}", f"unknown key (the keys are: {', '.join(KEYS)})")
    changes: dict[str, Any] = {}
    holidays_listed: frozenset[date] | None = None
    calendar_name = base.calendar.name
    for key, value in table.items():
        at = f"{where}.{key}"
        try:
            if key in ("inactivity_period", "care_first_reply", "care_decide", "review_window"):
                name = "inactivity" if key == "inactivity_period" else key
                changes[name] = Period.parse(_text(value))
            elif key == "evidence_min_due":
                changes["evidence_min_due"] = Period.parse(_text(value), business=False).span
            elif key == "complaint_window":
                changes["complaint_window"] = parse_window(_text(value), base.complaint_window)
            elif key == "working_hours":
                changes["working_hours"] = WorkingHours.parse(_text(value))
            elif key == "calendar":
                if value not in CALENDARS:
                    raise ValueError(
                        f"unknown calendar {value!r} (the calendars are: {', '.join(CALENDARS)})"
                    )
                calendar_name = value
            elif key == "extra_holidays":
                holidays_listed = _dates(value)
        except ValueError as error:
            raise PolicyError(at, str(error)) from None
    extra = base.calendar.extra if holidays_listed is None else holidays_listed
    changes["calendar"] = Calendar(calendar_name, extra)
    return replace(base, **changes)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be text in quotes, not {value!r}")
    return value


def _dates(value: Any) -> frozenset[date]:
    if not isinstance(value, list):
        raise ValueError('must be a list of dates, such as ["2025-04-02"]')
    days = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD): {item!r}") from None
    return frozenset(days)


def parse_policy(
    document: Mapping[str, Any], base: Rules | None = None, windows: Windows | None = None
) -> Policy:
    """The policy of a parsed file: `[default]` over `base` (the built-in rules, as the
    environment set them), each `[channels.<name>]` over the default (and over the
    channel's complaint window from the environment, `windows`, when it has one)."""
    base = base or Rules()
    if windows is not None:
        base = replace(base, complaint_window=windows.default)
    unknown = [key for key in document if key not in ("default", "channels")]
    if unknown:
        raise PolicyError(unknown[0], "unknown table (the tables are [default] and [channels.X])")
    default = _rules(document.get("default", {}), base, "default")
    channels = document.get("channels", {})
    if not isinstance(channels, Mapping):
        raise PolicyError("channels", "must hold one table per channel: [channels.tokopedia]")
    rules = {}
    for name, table in channels.items():
        if not CHANNEL.fullmatch(name):
            raise PolicyError(f"channels.{name}", "not a channel name (lower-case letters, _)")
        own = default
        if windows is not None and name in windows.per_channel:
            own = replace(default, complaint_window=windows.per_channel[name])
        rules[name] = _rules(table, own, f"channels.{name}")
    others = {
        name: replace(default, complaint_window=window)
        for name, window in (windows.per_channel.items() if windows else ())
        if name not in rules
    }
    return Policy(default, {**others, **rules})
