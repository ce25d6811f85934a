"""Service hours, public holidays and working days, from the ``holidays`` package.

One calendar serves the urgent on-call rule now and deadlines and schedules later, so
that "outside service hours" and "working day" can never disagree.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import itertools
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

    @cached_property
    def digest(self) -> str:
        """A short name of this calendar: what a working hour is depends on every field
        and on the holidays package's version (its holidays can change with it). Stored
        durations (store/stats.py ``case_hours``) are valid under their digest only."""
        text = repr((self.timezone, self.days, self.start.isoformat(), self.end.isoformat(),
                     self.country, self.categories, holidays.__version__))  # fmt: skip
        return hashlib.sha256(text.encode()).hexdigest()[:16]

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


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_US = 86_400_000_000
_MOST_DAYS = 40 * 366  # a clock's table spans at most this; older instants take the slow way


def _us(at: dt.datetime) -> int:
    """Microseconds since 1970 (UTC) of an aware instant, as an exact integer."""
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _of_day(at: dt.time) -> int:
    return ((at.hour * 60 + at.minute) * 60 + at.second) * 1_000_000 + at.microsecond


class WorkingClock:
    """``ServiceHours.working_seconds`` for many pairs of instants within a known span of
    days, from a table of those days made once: the same floats, the same operations in
    the same order, without a zone lookup or a date per call (statistics over ten years
    of a large log ask this millions of times). A day on which the clock changes, and an
    instant outside the span, take ``working_seconds`` itself."""

    def __init__(self, hours: ServiceHours, first: dt.date, last: dt.date):
        self.hours = hours
        first = max(first, last - dt.timedelta(days=_MOST_DAYS))
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 2)]
        midnights = [dt.datetime.combine(d, dt.time(0), tzinfo=hours.zone) for d in days]
        self.midnights = [_us(m) for m in midnights]  # local midnights, as UTC instants
        offsets = [_us(m.replace(tzinfo=None).replace(tzinfo=dt.UTC)) - _us(m) for m in midnights]
        # the local wall time of a day's instants is UTC + the offset; None: the clock changes
        self.offsets = [a if a == b else None for a, b in zip(offsets, offsets[1:], strict=False)]
        self.walls = [(d.toordinal() - _EPOCH.toordinal()) * _DAY_US for d in days]
        self.working = [hours.is_working_day(d) for d in days]
        self.running = list(itertools.accumulate(self.working))  # working days up to each
        self.opens, self.closes = _of_day(hours.start), _of_day(hours.end)
        self.length = max((self.closes - self.opens) / 1_000_000, 0.0)

    def seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """See ``ServiceHours.working_seconds``."""
        return self._seconds(start, end, _us(start), _us(end))

    def durations(self, start: dt.datetime, end: dt.datetime) -> tuple[float, float]:
        """(working hours, calendar hours) from ``start`` to ``end``, each as the
        statistics compute it (working seconds / 3600, elapsed seconds >= 0 / 3600).
        ``_seconds`` written out, for the usual pair (both days in the table, the clock
        not changing on either): a year's figures ask this for every case."""
        da, db = start - _EPOCH, end - _EPOCH
        a_us = (da.days * 86_400 + da.seconds) * 1_000_000 + da.microseconds
        b_us = (db.days * 86_400 + db.seconds) * 1_000_000 + db.microseconds
        calendar = max((b_us - a_us) / 1_000_000, 0.0) / 3600
        midnights, offsets = self.midnights, self.offsets
        first = bisect.bisect_right(midnights, a_us) - 1
        last = bisect.bisect_right(midnights, b_us) - 1
        if first < 0 or last < 0 or first >= len(offsets) or last >= len(offsets):
            return self.hours.working_seconds(start, end) / 3600, calendar
        a_off, b_off = offsets[first], offsets[last]
        if a_off is None or b_off is None:
            return self.hours.working_seconds(start, end) / 3600, calendar
        a, b = a_us + a_off, b_us + b_off
        if b <= a:
            return 0.0 / 3600, calendar
        walls, working, opens, closes = self.walls, self.working, self.opens, self.closes
        total = 0.0
        if working[first]:
            lo, hi = max(walls[first] + opens, a), min(walls[first] + closes, b)
            total = max((hi - lo) / 1_000_000, 0.0)
        if last > first:
            if working[last]:
                lo, hi = max(walls[last] + opens, a), min(walls[last] + closes, b)
                total += max((hi - lo) / 1_000_000, 0.0)
            between = self.running[last - 1] - self.running[first] if last - first > 1 else 0
            total += between * self.length
        return total / 3600, calendar

    def _seconds(self, start: dt.datetime, end: dt.datetime, a_us: int, b_us: int) -> float:
        first = bisect.bisect_right(self.midnights, a_us) - 1
        last = bisect.bisect_right(self.midnights, b_us) - 1
        if min(first, last) < 0 or max(first, last) >= len(self.offsets):
            return self.hours.working_seconds(start, end)
        a_off, b_off = self.offsets[first], self.offsets[last]
        if a_off is None or b_off is None:
            return self.hours.working_seconds(start, end)
        a, b = a_us + a_off, b_us + b_off  # wall times, as the calendar's own sum compares
        if b <= a:
            return 0.0
        total = self._open_seconds(first, a, b)
        if last > first:
            total += self._open_seconds(last, a, b)
            between = self.running[last - 1] - self.running[first] if last - first > 1 else 0
            total += between * self.length
        return total

    def _open_seconds(self, day: int, a: int, b: int) -> float:
        if not self.working[day]:
            return 0.0
        wall = self.walls[day]
        lo, hi = max(wall + self.opens, a), min(wall + self.closes, b)
        return max((hi - lo) / 1_000_000, 0.0)
