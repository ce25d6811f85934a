"""The figures of every period counted in one pass over the cases (issue 22).

Each case adds to a period where something happens to it: it arrives, is first answered
or is closed in it; that is one lookup per time. Being open (and overdue) at the end of a
period is a span of periods per case: from the first period whose end comes after its
arrival (and, for overdue, after its deadline) to the first whose end comes after its
closing. Each span is added to its group as a +1 and a -1 and summed once over the
periods, so that the cases open for years (ten years by month: 120 periods) cost the same
as the others. ``gateway.stats`` defines the figures; this only counts them.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from gateway.hours import ServiceHours, WorkingClock

DEVIATION, SUGGESTION = "avvik", "forbedringsforslag"
NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


class Case(NamedTuple):
    """A case as the counting reads it (immutable; a named tuple, quick to make)."""

    values: dict[str, str]  # dimension -> value, all but month
    kind: str
    received: dt.datetime
    first_answer: dt.datetime | None
    closed: dt.datetime | None
    close_due: dt.date | None
    # (working, calendar) hours to the first answer and to the closing, when known
    # (stored, store.stats.case_hours): then not worked out again
    answer_hours: tuple[float, float] | None = None
    close_hours: tuple[float, float] | None = None


@dataclass(frozen=True)
class Period:
    label: str  # "2026-05", or "" for the whole period
    start: dt.datetime  # local midnight, as a UTC time
    end: dt.datetime  # local midnight after the last day, as a UTC time


@dataclass
class Tally:
    """One group's counts in one period, added up case by case (then read once)."""

    opened: int = 0
    suggestions: int = 0
    closed: int = 0
    closed_on_time: int = 0
    open_at_end: int = 0
    overdue: int = 0
    # (from, to) instants, or the (working, calendar) hours already known; durations are
    # worked out only for the rows that show them (``hours``), once, however many
    # groupings add this group up
    answer: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    close: list[tuple[dt.datetime, dt.datetime]] = field(default_factory=list)
    _hours: dict[str, list[tuple[float, float]]] = field(default_factory=dict, repr=False)

    def hours(self, name: str, durations: Callable) -> list[tuple[float, float]]:
        """(working, calendar) hours of each ``answer`` or ``close`` (``name``)."""
        found = self._hours.get(name)
        if found is None:
            found = self._hours[name] = [
                (a, b) if a.__class__ is float else durations(a, b) for a, b in getattr(self, name)
            ]
        return found


@dataclass(frozen=True)
class Frame:
    """The periods, and when each one's end is: for a period not over, ``now``."""

    periods: Sequence[Period]
    ends: Sequence[dt.datetime]  # what "open at the end" means, per period (ascending)
    last_days: Sequence[dt.date]  # the local date of each end: a deadline before it passed
    local_date: Callable[[dt.datetime], dt.date]
    durations: Callable[[dt.datetime, dt.datetime], tuple[float, float]]


@contextlib.contextmanager
def without_collector():
    """Python's cycle collector off while a pass makes its objects: a pass of a year
    makes a few hundred thousand tuples that make no cycle, and the collector, run every
    few hundred of them, walked all those made before (40% of a year's figures). Left
    as it was found: another thread's cycles wait a second at most."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def tally(
    cases: Sequence[Case],
    frame: Frame,
    dims: Sequence[str],
    kinds: bool,
    throughout: Sequence[tuple[Case, int]] = (),
) -> list[dict]:
    """Per period, {group key: Tally} of the groups the cases add to. ``dims`` are the
    dimensions of the key (month aside); ``kinds``: every kind counts, not deviations only.
    ``throughout``: cases open at the end of every period, adding nothing else (their
    times are not read), each with how many there are of it."""
    per: list[dict[tuple, Tally]] = [{} for _ in frame.periods]
    starts = [p.start for p in frame.periods]
    ends = [p.end for p in frame.periods]
    lo, hi = starts[0], frame.periods[-1].end
    spans: dict[tuple, list[int]] = {}
    size = len(starts) + 1

    def index(at: dt.datetime | None) -> int | None:
        return None if at is None or not lo <= at < hi else bisect.bisect_right(starts, at) - 1

    def of(p: int, key: tuple) -> Tally:
        found = per[p].get(key)
        if found is None:
            found = per[p][key] = Tally()
        return found

    bisect_right = bisect.bisect_right
    for case in cases:
        counted = kinds or case.kind == DEVIATION
        key = tuple([case.values[d] for d in dims])
        received, closed_at = case.received, case.closed
        arrived = bisect_right(starts, received) - 1 if lo <= received < hi else None
        # the cases whose last time that counts is before the period add nothing to it
        last = NEVER if closed_at is None else max(closed_at, case.first_answer or closed_at)
        if arrived is not None and last >= starts[arrived]:
            if counted:
                of(arrived, key).opened += 1
            if case.kind == SUGGESTION:
                of(arrived, key).suggestions += 1
        if counted:
            closed, answered = index(closed_at), index(case.first_answer)
            # a closing or an answer before it came (bad data) counts once it has come
            closed = None if closed is None or received >= ends[closed] else closed
            answered = None if answered is None or received >= ends[answered] else answered
            if closed is not None or answered is not None:
                _events(case, key, closed, answered, of, frame)
            marks = spans.get(key)
            if marks is None:
                marks = spans[key] = [0] * (2 * size)
            _span(case, frame, marks, size)
    for case, n in throughout:
        if kinds or case.kind == DEVIATION:
            key = tuple(case.values[d] for d in dims)
            marks = spans.setdefault(key, [0] * (2 * size))
            _mark(marks, size, 0, size - 1, case.close_due, frame, n)
    _sum_spans(spans, per, size)
    return per


def _events(case: Case, key: tuple, closed: int | None, answered: int | None, of, frame) -> None:
    """A closing and a first answer: counted, with their instants, in their periods."""
    if closed is not None:
        closing = of(closed, key)
        closing.closed += 1
        if case.close_due is not None and frame.local_date(case.closed) <= case.close_due:
            closing.closed_on_time += 1
        closing.close.append(case.close_hours or (case.received, case.closed))
    if answered is not None:
        of(answered, key).answer.append(case.answer_hours or (case.received, case.first_answer))


def _span(case: Case, frame: Frame, marks: list[int], size: int) -> None:
    """Open at the end of the periods from its arrival's to its closing's (+1/-1 marks in
    the first half of ``marks``), and overdue from its deadline's on (the second half)."""
    enters = bisect.bisect_right(frame.ends, case.received)  # first end after arrival
    # open at an end: arrived before it and not closed before it (closed >= arrived or not)
    leaves = (
        size - 1
        if case.closed is None
        else bisect.bisect_right(frame.ends, max(case.received, case.closed))
    )
    _mark(marks, size, enters, leaves, case.close_due, frame, 1)


def _mark(marks: list[int], size: int, enters: int, leaves: int, due, frame, n: int) -> None:
    if enters >= leaves:
        return
    marks[enters] += n
    marks[leaves] -= n
    if due is not None:
        late = max(enters, bisect.bisect_right(frame.last_days, due))
        if late < leaves:
            marks[size + late] += n
            marks[size + leaves] -= n


def _sum_spans(spans: dict[tuple, list[int]], per: list[dict], size: int) -> None:
    for key, marks in spans.items():
        still = late = 0
        for p, period in enumerate(per):
            still, late = still + marks[p], late + marks[size + p]
            if still:
                found = period.get(key)
                if found is None:
                    found = period[key] = Tally()
                found.open_at_end, found.overdue = still, late


def periods_of(hours: ServiceHours, start: dt.date, end: dt.date, monthly: bool) -> list[Period]:
    """``start``..``end`` as one period, or (``monthly``) as each calendar month in it,
    the first and the last cut to the range."""

    def midnight(day: dt.date) -> dt.datetime:
        # In UTC: the cases' times are UTC, and two times of the same tzinfo compare
        # without asking the zone for its offset (17 times quicker, the sweep's bulk).
        return dt.datetime.combine(day, dt.time(0), tzinfo=hours.zone).astimezone(dt.UTC)

    if not monthly:
        return [Period("", midnight(start), midnight(end + dt.timedelta(days=1)))]
    periods, first = [], start
    while first <= end:
        following = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        last = min(following - dt.timedelta(days=1), end)
        label = first.strftime("%Y-%m")
        periods.append(Period(label, midnight(first), midnight(last + dt.timedelta(days=1))))
        first = following
    return periods


def end_of(period: Period, now: dt.datetime) -> dt.datetime:
    """When 'the end of the period' is: its end, or now for a period not yet over."""
    return min(period.end, max(period.start, now))


def frame_of(hours: ServiceHours, periods: list[Period], cases: list[Case], now) -> Frame:
    """The periods' ends, and the calendar over the days the cases' times fall on."""
    ends = [end_of(p, now) for p in periods]
    first = min((c.received for c in cases), default=periods[0].start)
    clock = WorkingClock(
        hours, hours.local(min(first, periods[0].start)).date() - dt.timedelta(days=1),
        hours.local(periods[-1].end).date() + dt.timedelta(days=1),
    )  # fmt: skip

    def local_date(at: dt.datetime) -> dt.date:
        return hours.local(at).date()

    return Frame(periods, ends, [local_date(at) for at in ends], local_date, clock.durations)
