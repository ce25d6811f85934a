"""Service hours, public holidays and working days, from the ``holidays`` package.

One calendar serves the urgent on-call rule now and deadlines and schedules later, so
that "outside service hours" and "working day" can never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ServiceHours:
    """Open on ``days`` in [start, end), local time in ``timezone``, except holidays."""

    timezone: str = "Europe/Oslo"
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    start: dt.time = dt.time(8, 0)
    end: dt.time = dt.time(15, 30)
    country: str = "NO"
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _holidays(self, year: int) -> holidays.HolidayBase:
        if year not in self._cache:
            self._cache[year] = holidays.country_holidays(self.country, years=year)
        return self._cache[year]

    def local(self, at: dt.datetime) -> dt.datetime:
        """``at`` in the service-hours zone; a naive time is taken as already local."""
        return at.replace(tzinfo=self.zone) if at.tzinfo is None else at.astimezone(self.zone)

    def holiday(self, day: dt.date) -> str | None:
        """The holiday's name, or None."""
        return self._holidays(day.year).get(day)

    def is_working_day(self, day: dt.date) -> bool:
        return WEEKDAYS[day.weekday()] in self.days and self.holiday(day) is None

    def is_open(self, at: dt.datetime) -> bool:
        """True inside service hours: a working day, start <= time < end."""
        local = self.local(at)
        return self.is_working_day(local.date()) and self.start <= local.time() < self.end

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (holidays and closed days skipped)."""
        day = start
        while days > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day
