"""The statistics as they were computed before issue 22's counting (gateway/stats_tally.py):
every case that can touch a period checked against it, one period after another. Kept
as the reference the counting must agree with, float for float (tests/test_stats_same.py).
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Sequence

from gateway.hours import ServiceHours
from gateway.rules.base import RuleSet
from gateway.stats import (
    DIMENSIONS,
    Row,
    Times,
    _case,
    _end,
    _group_order,
    _iso,
    _periods,
    calendar_hours,
    working_hours,
)
from gateway.stats_tally import DEVIATION, SUGGESTION
from gateway.stats_tally import Case as _Case
from gateway.stats_tally import Period as _Period
from gateway.store.db import Database
from gateway.store.stats import cases_touching


def figures(
    db: Database,
    ruleset: RuleSet,
    start: dt.date,
    end: dt.date,
    by: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> list[Row]:
    """The figures for ``start``..``end`` (local dates, inclusive), one Row per group.

    ``by`` is a list of DIMENSIONS; without it there is one row, the totals. ``now``
    (default: the current time) ends the periods that are not over yet.
    """
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s): {', '.join(unknown)}")
    if end < start:
        raise ValueError("the period ends before it starts")
    hours = ruleset.hours
    now = now or dt.datetime.now(dt.UTC)
    periods = _periods(hours, start, end, "month" in by)
    cases = _cases(db, ruleset, periods[0].start, periods[-1].end)
    rows: list[Row] = []
    for period, candidates in _candidates(cases, periods):
        groups: dict[tuple, list[_Case]] = {}
        if all(d == "month" for d in by):  # every month shows, even one without cases
            groups[tuple(period.label for _ in by)] = []
        for case in candidates:
            if _touches(case, period, now, counted="kind" in by or case.kind == DEVIATION):
                key = tuple(period.label if d == "month" else case.values[d] for d in by)
                groups.setdefault(key, []).append(case)
        for key in sorted(groups, key=_group_order(by, ruleset)):
            rows.append(_row(dict(zip(by, key, strict=True)), groups[key], period, hours, now))
    return rows


def _candidates(cases: list[_Case], periods: list[_Period]):
    """Each period (in order) with the cases that can add to its figures: arrived before
    its end, and not closed and answered before its start. One sweep over the cases
    sorted by arrival, instead of every case against every period (ten years by month
    is 120 periods)."""
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    order = sorted(cases, key=lambda c: c.received)
    alive: list[tuple[dt.datetime, int]] = []  # (its last time that counts, index), a heap
    i = 0
    for period in periods:
        while i < len(order) and order[i].received < period.end:
            case = order[i]
            last = (
                never if case.closed is None else max(case.closed, case.first_answer or case.closed)
            )
            heapq.heappush(alive, (last, i))
            i += 1
        while alive and alive[0][0] < period.start:
            heapq.heappop(alive)
        yield period, [order[j] for _, j in sorted(alive, key=lambda item: item[1])]


def _cases(db: Database, ruleset: RuleSet, lo: dt.datetime, hi: dt.datetime) -> list[_Case]:
    """The cases that can touch [lo, hi). The bounds are widened by a day in SQL, where
    times compare as text, and checked exactly in ``_touches``."""
    margin = dt.timedelta(days=1)
    rows = cases_touching(db, _iso(hi + margin), _iso(lo - margin))
    return [_case(r, ruleset) for r in rows]


def _touches(case: _Case, period: _Period, now: dt.datetime, counted: bool) -> bool:
    """Whether the case adds to a figure of the period (an uncounted one only by arriving)."""
    if not counted:
        return case.kind == SUGGESTION and _within(case.received, period)
    return (
        _within(case.received, period)
        or _within(case.closed, period)
        or _within(case.first_answer, period)
        or _open_at(case, _end(period, now))
    )


def _row(key: dict[str, str], cases: list[_Case], period: _Period, hours: ServiceHours, now) -> Row:
    counted = cases if "kind" in key else [c for c in cases if c.kind == DEVIATION]
    at = _end(period, now)
    closed = [c for c in counted if _within(c.closed, period)]
    answered = [c for c in counted if _within(c.first_answer, period)]
    still_open = [c for c in counted if _open_at(c, at)]
    today = hours.local(at).date()
    return Row(
        key=key,
        opened=sum(_within(c.received, period) for c in counted),
        suggestions=sum(_within(c.received, period) and c.kind == SUGGESTION for c in cases),
        closed=len(closed),
        closed_on_time=sum(
            c.close_due is not None and hours.local(c.closed).date() <= c.close_due for c in closed
        ),
        open_at_end=len(still_open),
        overdue=sum(c.close_due is not None and c.close_due < today for c in still_open),
        answer=Times.of([_durations(hours, c.received, c.first_answer) for c in answered]),
        close=Times.of([_durations(hours, c.received, c.closed) for c in closed]),
    )


def _durations(hours: ServiceHours, start: dt.datetime, end: dt.datetime) -> tuple[float, float]:
    return working_hours(hours, start, end), calendar_hours(start, end)


def _open_at(case: _Case, at: dt.datetime) -> bool:
    return case.received < at and (case.closed is None or case.closed >= at)


def _within(at: dt.datetime | None, period: _Period) -> bool:
    return at is not None and period.start <= at < period.end
