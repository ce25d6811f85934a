"""Statistics over the case log for management: counts, answer and closing times, deadlines.

Read straight from the ``cases`` table (no second copy of the data), and only the columns
that cannot identify anyone: no subject, text, address or reference ever reaches a
figure. SQL selects the cases that touch the period; Python groups them, because months
are local (Europe/Oslo, with summer time) and working hours follow the service calendar.

Definitions (a period is whole local days, ``start`` to ``end`` inclusive; with the
``month`` dimension every calendar month in it is a period of its own):

- opened: received in the period; closed: ``closed_at`` in the period (a reopened case
  counts by its latest closing, as the case log keeps it);
- open at end: received before the end of the period and not closed by then;
- overdue: open at the end and its closing deadline (``close_due``, a date) passed: the
  deadline is before the period's last day +1, or before today for a period not yet over;
- closed on time: closed in the period on or before ``close_due`` (local date);
- time to first answer: from received to ``first_answer_at``, for cases first answered in
  the period; time to close: from received to ``closed_at``, for cases closed in it;
- both times in working hours (inside the service hours of ``rules.yaml``) and in
  calendar hours; median and 90th percentile by linear interpolation between closest
  ranks (numpy's default, Excel's PERCENTILE.INC), so a manager can check them;
- improvement suggestions are not deviations: every figure counts deviations only and
  ``suggestions`` counts the suggestions received, unless ``kind`` is a dimension, when
  each row counts its own kind.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.hours import ServiceHours
from gateway.rules.base import RuleSet
from gateway.store.db import Database
from gateway.store.stats import CaseFigures, cases_touching

DIMENSIONS = ("month", "flow", "party", "municipality", "kind", "status", "urgent",
              "severity", "category", "cause-given")  # fmt: skip
DEVIATION, SUGGESTION = "avvik", "forbedringsforslag"


@dataclass(frozen=True)
class Times:
    """One duration over a group of cases: how many, and median and p90 in both clocks."""

    count: int = 0
    working_median: float | None = None
    working_p90: float | None = None
    calendar_median: float | None = None
    calendar_p90: float | None = None

    @classmethod
    def of(cls, pairs: Sequence[tuple[float, float]]) -> Times:
        """From (working hours, calendar hours) per case."""
        working, calendar = [p[0] for p in pairs], [p[1] for p in pairs]
        return cls(
            len(pairs),
            percentile(working, 0.5),
            percentile(working, 0.9),
            percentile(calendar, 0.5),
            percentile(calendar, 0.9),
        )


@dataclass(frozen=True)
class Row:
    """The figures for one group, e.g. {'month': '2026-05', 'flow': 'a'}."""

    key: dict[str, str]
    opened: int = 0
    suggestions: int = 0
    closed: int = 0
    closed_on_time: int = 0
    open_at_end: int = 0
    overdue: int = 0
    answer: Times = field(default_factory=Times)
    close: Times = field(default_factory=Times)

    @property
    def on_time_share(self) -> float | None:
        """Share of the cases closed in the period that closed by their deadline."""
        return self.closed_on_time / self.closed if self.closed else None

    def as_dict(self) -> dict:
        """Flat, for CSV and JSON: dimensions first, times in hours rounded to 0.1."""
        out: dict = dict(self.key)
        out |= {
            "opened": self.opened,
            "suggestions": self.suggestions,
            "closed": self.closed,
            "closed_on_time": self.closed_on_time,
            "closed_on_time_share": _round(self.on_time_share, 3),
            "open_at_end": self.open_at_end,
            "overdue": self.overdue,
        }
        for name, times in (("answer", self.answer), ("close", self.close)):
            out[f"{name}_count"] = times.count
            for clock in ("working", "calendar"):
                for stat in ("median", "p90"):
                    value = getattr(times, f"{clock}_{stat}")
                    out[f"{name}_{clock}_hours_{stat}"] = _round(value, 1)
        return out


@dataclass(frozen=True)
class _Case:
    values: dict[str, str]  # dimension -> value, all but month
    kind: str
    received: dt.datetime
    first_answer: dt.datetime | None
    closed: dt.datetime | None
    close_due: dt.date | None


@dataclass(frozen=True)
class _Period:
    label: str  # "2026-05", or "" for the whole period
    start: dt.datetime  # local midnight, as a UTC time
    end: dt.datetime  # local midnight after the last day, as a UTC time


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-quantile (0..1) by linear interpolation between closest ranks; None if empty."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def working_hours(hours: ServiceHours, start: dt.datetime, end: dt.datetime) -> float:
    """Hours between two instants that fall inside service hours (weekends, holidays out),
    in closed form (``ServiceHours.working_seconds``), not day by day."""
    return hours.working_seconds(start, end) / 3600


def calendar_hours(start: dt.datetime, end: dt.datetime) -> float:
    return max((end - start).total_seconds(), 0.0) / 3600


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


def _group_order(by: Sequence[str], ruleset: RuleSet):
    """Sort key of a group: flows in the order rules.yaml declares them (any other after,
    by name), every other dimension by its value."""
    declared = {name: i for i, name in enumerate(ruleset.flows)}

    def order(key: tuple) -> tuple:
        return tuple(
            (declared.get(value, len(declared)), value) if d == "flow" else (0, value)
            for d, value in zip(by, key, strict=True)
        )

    return order


def _periods(hours: ServiceHours, start: dt.date, end: dt.date, monthly: bool) -> list[_Period]:
    def midnight(day: dt.date) -> dt.datetime:
        # In UTC: the cases' times are UTC, and two times of the same tzinfo compare
        # without asking the zone for its offset (17 times quicker, the sweep's bulk).
        return dt.datetime.combine(day, dt.time(0), tzinfo=hours.zone).astimezone(dt.UTC)

    if not monthly:
        return [_Period("", midnight(start), midnight(end + dt.timedelta(days=1)))]
    periods, first = [], start
    while first <= end:
        following = (first.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        last = min(following - dt.timedelta(days=1), end)
        label = first.strftime("%Y-%m")
        periods.append(_Period(label, midnight(first), midnight(last + dt.timedelta(days=1))))
        first = following
    return periods


def _cases(db: Database, ruleset: RuleSet, lo: dt.datetime, hi: dt.datetime) -> list[_Case]:
    """The cases that can touch [lo, hi). The bounds are widened by a day in SQL, where
    times compare as text, and checked exactly in ``_touches``."""
    margin = dt.timedelta(days=1)
    rows = cases_touching(db, _iso(hi + margin), _iso(lo - margin))
    return [_case(r, ruleset) for r in rows]


def _case(r: CaseFigures, ruleset: RuleSet) -> _Case:
    party = ruleset.directory.parties.get(r.receiving_party or "")
    values = {
        "flow": r.flow or "-",
        "party": party.name if party else r.receiving_party or "-",
        "municipality": r.municipality or "-",
        "kind": r.kind or DEVIATION,
        "status": r.status or "-",
        "urgent": "yes" if r.urgent else "no",
        "severity": r.severity or "-",  # the deviation record (issue 19)
        "category": r.category or "-",
        "cause-given": "yes" if r.cause_given else "no",
    }
    return _Case(
        values,
        values["kind"],
        _time(r.received_at),
        _time(r.first_answer_at),
        _time(r.closed_at),
        dt.date.fromisoformat(r.close_due) if r.close_due else None,
    )


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


def _end(period: _Period, now: dt.datetime) -> dt.datetime:
    """When 'the end of the period' is: its end, or now for a period not yet over."""
    return min(period.end, max(period.start, now))


def _open_at(case: _Case, at: dt.datetime) -> bool:
    return case.received < at and (case.closed is None or case.closed >= at)


def _within(at: dt.datetime | None, period: _Period) -> bool:
    return at is not None and period.start <= at < period.end


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


CSV_STYLES = ("semicolon", "comma")


def to_csv(rows: Sequence[Row], by: Sequence[str] = (), style: str = "semicolon") -> str:
    """A header and one line per row, the columns of ``Row.as_dict``; empty cell: no value.

    ``semicolon`` (the default) is what Excel with Norwegian settings opens as columns:
    a semicolon between cells and a decimal comma, since the comma is the decimal
    separator there. ``comma`` is plain RFC 4180 with decimal points, for programs."""
    if style not in CSV_STYLES:
        raise ValueError(f"CSV style must be one of {', '.join(CSV_STYLES)}, not {style!r}")
    dicts = [r.as_dict() for r in rows]
    if style == "semicolon":
        dicts = [{k: _decimal_comma(v) for k, v in d.items()} for d in dicts]
    names = list(Row(dict.fromkeys(by, "")).as_dict())
    buffer = io.StringIO()
    delimiter = ";" if style == "semicolon" else ","
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\r\n", delimiter=delimiter)
    writer.writeheader()
    writer.writerows(dicts)
    return buffer.getvalue()


def _decimal_comma(value: object) -> object:
    return str(value).replace(".", ",") if isinstance(value, float) else value


def to_json(rows: Sequence[Row]) -> str:
    return json.dumps([r.as_dict() for r in rows], ensure_ascii=False, indent=2)
