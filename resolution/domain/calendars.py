"""Business days in WIB: Monday to Friday, less a calendar's public holidays and the extra days
a policy lists (cuti bersama), and the working hours a deadline may fall in.

Holidays come from the `holidays` package (Indonesia: Idul Fitri, Natal, Nyepi, Waisak …),
never from a table typed here. Its data is fixed per release, so the answers here are a pure
function of the date: deadlines are computed once, when their turn starts, and then stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache

import holidays

# Western Indonesia Time: UTC+7 all year (no daylight saving since 1964).
WIB = timezone(timedelta(hours=7), "WIB")
DAY = timedelta(days=1)
# The calendars a policy may name: "none" (weekends only) or a country the `holidays`
# package knows, by its ISO code.
CALENDARS = ("none", "ID")
WEEKEND = "weekend"
EXTRA_HOLIDAY = "extra holiday"


@cache
def _public_holidays(country: str, year: int, language: str) -> dict[date, str]:
    found = holidays.country_holidays(country, years=year, language=language)
    return dict(found.items())


def holiday_name(country: str, day: date, language: str = "en_US") -> str | None:
    """The public holiday on `day` in `country`, named in `language` (`en_US`, `id`)."""
    return _public_holidays(country, day.year, language).get(day)


@dataclass(frozen=True)
class Calendar:
    """Which days are business days: `name` ("none" or "ID") and the `extra` days off."""

    name: str = "none"
    extra: frozenset[date] = frozenset()

    def closed(self, day: date) -> str | None:
        """Why `day` is no business day (a holiday's English name, `extra holiday`,
        `weekend`), or None when it is one."""
        if self.name != "none":
            name = holiday_name(self.name, day)
            if name:
                return name
        if day in self.extra:
            return EXTRA_HOLIDAY
        if day.weekday() >= 5:
            return WEEKEND
        return None


@dataclass(frozen=True)
class WorkingHours:
    """The hours of a business day, in WIB, a deadline may fall in: `opens` to `closes`."""

    opens: time
    closes: time

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """`06:00-21:00`; raises ValueError when malformed or ending before it starts."""
        opens, dash, closes = text.strip().partition("-")
        try:
            hours = cls(time.fromisoformat(opens.strip()), time.fromisoformat(closes.strip()))
        except ValueError:
            raise ValueError(f"not working hours: {text!r} (use e.g. 06:00-21:00)") from None
        if not dash or len(opens.strip()) != 5 or len(closes.strip()) != 5:
            raise ValueError(f"not working hours: {text!r} (use e.g. 06:00-21:00)")
        if hours.closes <= hours.opens:
            raise ValueError(f"working hours end before they start: {text!r}")
        return hours


def next_open(
    moment: datetime,
    calendar: Calendar,
    hours: WorkingHours | None,
    skipped: dict[date, str],
    *,
    closing_counts: bool,
) -> datetime:
    """The first instant at or after `moment` (in WIB) that lies in a business day, and in
    its working hours when there are any; the days passed over go into `skipped`.

    `closing_counts`: whether the closing instant itself is inside (a deadline may fall at
    21:00; a turn that starts at 21:00 starts the next working day).
    """
    local = moment.astimezone(WIB)
    day = local.date()
    why = calendar.closed(day)
    if why is None:
        if hours is None:
            return local
        now = local.timetz().replace(tzinfo=None)
        if now < hours.opens:
            return datetime.combine(day, hours.opens, WIB)
        if now < hours.closes or (closing_counts and now == hours.closes):
            return local
    else:
        skipped[day] = why
    while True:
        day += DAY
        why = calendar.closed(day)
        if why is None:
            return datetime.combine(day, hours.opens if hours else time(0), WIB)
        skipped[day] = why


def add_business_days(
    start: datetime,
    days: int,
    calendar: Calendar,
    hours: WorkingHours | None,
    skipped: dict[date, str],
) -> datetime:
    """`days` business days after `start`, at the same time of day in WIB.

    A start outside business time counts from the next opening (the next business day's
    first instant, or its working hours' opening), so every day counted is a whole one.
    """
    local = next_open(start, calendar, hours, skipped, closing_counts=False)
    day, counted = local.date(), 0
    while counted < days:
        day += DAY
        why = calendar.closed(day)
        if why is None:
            counted += 1
        else:
            skipped[day] = why
    return datetime.combine(day, local.timetz())
