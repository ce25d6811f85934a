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
    # The holidays package's categories: ("public", "de_facto") adds Sweden's de-facto
    # days off (julafton, midsommarafton, nyårsafton) to its public holidays.
    categories: tuple[str, ...] = ("public",)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _holidays(self, year: int) -> holidays.HolidayBase:
        if year not in self._cache:
            self._cache[year] = holidays.country_holidays(
                self.country, years=year, categories=self.categories
            )
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

    def _running_count(self, year: int) -> list[int]:
        """Working days of ``year`` up to and including each day of it (index: day of
        the year, 0 for the day before 1 January), worked out once per year."""
        key = ("running", year)
        if key not in self._cache:
            counts, day = [0], dt.date(year, 1, 1)
            while day.year == year:
                counts.append(counts[-1] + self.is_working_day(day))
                day += dt.timedelta(days=1)
            self._cache[key] = counts
        return self._cache[key]

    def working_days(self, first: dt.date, last: dt.date) -> int:
        """Working days in [first, last], from running counts per year (no walk)."""
        total = 0
        for year in range(first.year, last.year + 1):
            counts = self._running_count(year)
            lo = first.timetuple().tm_yday - 1 if year == first.year else 0
            hi = last.timetuple().tm_yday if year == last.year else len(counts) - 1
            total += max(counts[hi] - counts[lo], 0)
        return max(total, 0)

    def working_seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds between two instants that fall inside service hours, in closed form:
        the first and last day clipped, the days between counted (statistics over ten
        years of cases ask this millions of times)."""
        a, b = self.local(start), self.local(end)
        if b <= a:
            return 0.0
        first, last = a.date(), b.date()
        total = self._open_seconds(first, a, b)
        if last > first:
            total += self._open_seconds(last, a, b)
            one_day = dt.timedelta(days=1)
            between = (
                self.working_days(first + one_day, last - one_day) if last - first > one_day else 0
            )
            opens = dt.datetime.combine(first, self.start, tzinfo=self.zone)
            closes = dt.datetime.combine(first, self.end, tzinfo=self.zone)
            total += between * max((closes - opens).total_seconds(), 0.0)
        return total

    def _open_seconds(self, day: dt.date, a: dt.datetime, b: dt.datetime) -> float:
        """The part of [a, b] inside the service hours of one day."""
        if not self.is_working_day(day):
            return 0.0
        opens = dt.datetime.combine(day, self.start, tzinfo=self.zone)
        closes = dt.datetime.combine(day, self.end, tzinfo=self.zone)
        lo, hi = max(opens, a), min(closes, b)
        return max((hi - lo).total_seconds(), 0.0)

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (holidays and closed days skipped)."""
        day = start
        while days > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day
