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
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.hours import ServiceHours
from gateway.rules.base import RuleSet
from gateway.stats_months import Months, stored_only

# _case, _iso and _time: the tests (the reference computation, the sweep) read them here
from gateway.stats_read import Read, _case, _iso, _time, columns, read  # noqa: F401
from gateway.stats_tally import Period as _Period
from gateway.stats_tally import Tally, tally, without_collector
from gateway.stats_tally import end_of as _end  # noqa: F401
from gateway.stats_tally import frame_of as _frame
from gateway.stats_tally import periods_of as _periods
from gateway.store.db import Database

DIMENSIONS = ("month", "flow", "party", "municipality", "kind", "status", "urgent",
              "severity", "category", "cause-given")  # fmt: skip


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
    return Counter(db, ruleset, now).figures(start, end, by)


class Counter:
    """The figures of one case log at one ``now``, counted once for each set of periods
    and read in as many groupings as asked: a report shows a month by flow, by party and
    in total, which is one pass over the month's cases, not one per table. A grouping by
    some of ``dims`` adds up the groups of a pass by all of them (counts add, times are
    pooled: a median sorts them anyway); any other grouping counts a pass of its own.
    The cases of a range read once serve the periods inside it (stats_read.Read)."""

    def __init__(self, db: Database, ruleset: RuleSet, now: dt.datetime | None = None,
                 dims: Sequence[str] = ()):  # fmt: skip
        self.db, self.ruleset, self.dims = db, ruleset, tuple(dims)
        self.now = now or dt.datetime.now(dt.UTC)
        self._passes: dict[tuple, list] = {}
        self._reads: list[Read] = []
        self._months: Months | None = None

    @without_collector()
    def figures(self, start: dt.date, end: dt.date, by: Sequence[str] = (),
                times: bool = True) -> list[Row]:  # fmt: skip
        """As ``figures``; without ``times``, each Times holds its count only (for a
        table of counts: the working hours of every case are not worked out)."""
        unknown = [d for d in by if d not in DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown dimension(s): {', '.join(unknown)}")
        if end < start:
            raise ValueError("the period ends before it starts")
        periods = _periods(self.ruleset.hours, start, end, "month" in by)
        dims = [d for d in by if d != "month"]
        shared = set(dims) <= set(self.dims) and not {"kind", "cause-given"} & set(dims)
        fine = self.dims if shared else tuple(dims)
        counted = self._pass(periods, fine, "kind" in by, "cause-given" in by)
        pick = [fine.index(d) for d in dims]
        rows: list[Row] = []
        for period, (durations, groups) in zip(periods, counted, strict=True):
            coarse: dict[tuple, list[Tally]] = {}
            for key, counts in groups.items():
                coarse.setdefault(tuple(key[i] for i in pick), []).append(counts)
            if not dims:  # every month shows, even one without cases
                coarse.setdefault((), [])
            for key in sorted(coarse, key=_group_order(dims, self.ruleset)):
                values = iter(key)
                full = {d: period.label if d == "month" else next(values) for d in by}
                rows.append(_row(full, coarse[key], durations if times else None))
        return rows

    def _pass(self, periods: list[_Period], dims: tuple, kinds: bool, cause: bool) -> list:
        """Per period, (how its durations are worked out, its groups by ``dims``), counted
        once: added up from kept months where it is made of them (stats_months), the
        others counted from the cases, each run of neighbouring periods in one pass."""
        key = (tuple((p.start, p.end) for p in periods), dims, kinds, cause)
        if key not in self._passes:
            served = [None] * len(periods)
            if not cause:
                if self._months is None:
                    self._months = Months(self.db, self.ruleset, self.now)
                served = self._months.serve(periods, dims, kinds)
            counted = [None if s is None else (stored_only, s) for s in served]
            for run in _runs([i for i, s in enumerate(served) if s is None]):
                frame, groups = self._count([periods[i] for i in run], dims, kinds, cause)
                for i, found in zip(run, groups, strict=True):
                    counted[i] = (frame.durations, found)
            self._passes[key] = counted
        return self._passes[key]

    def _count(self, periods: list[_Period], dims: tuple, kinds: bool, cause: bool):
        """The groups of each period by ``dims``, from the cases: those of a read that
        covers the periods (a year's trend read holds its last month), else a read of
        their own."""
        lo, hi = periods[0].start, periods[-1].end
        wanted = columns(dims)
        found = [r for r in self._reads if r.covers(lo, hi, cause, wanted)]
        if not found:
            found = [read(self.db, self.ruleset, lo, hi, cause, dims)]
            self._reads.append(found[0])
        cases, backlog = found[0].within(lo, hi)
        frame = _frame(self.ruleset.hours, periods, cases, self.now)
        return frame, tally(cases, frame, dims, kinds, throughout=backlog)


def _runs(indexes: list[int]) -> list[list[int]]:
    """``indexes`` (ascending) in runs of neighbours."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _row(key: dict[str, str], counts: list[Tally], durations) -> Row:
    """One group's row from the groups it adds up; without ``durations``, no times."""

    def total(name: str) -> int:
        return sum(getattr(c, name) for c in counts)

    def times(name: str) -> Times:
        if durations is None:
            return Times(sum(len(getattr(c, name)) for c in counts))
        return Times.of([pair for c in counts for pair in c.hours(name, durations)])

    return Row(
        key=key,
        opened=total("opened"),
        suggestions=total("suggestions"),
        closed=total("closed"),
        closed_on_time=total("closed_on_time"),
        open_at_end=total("open_at_end"),
        overdue=total("overdue"),
        answer=times("answer"),
        close=times("close"),
    )


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
