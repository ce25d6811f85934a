"""Finished months' figures, kept and added up (issue 22): ten years by month, or a
report's year against the year before, read a hundred kept months instead of counting
a million cases.

A month is kept as its cells: the groups of its cases by every dimension a month can
keep (``CELL_DIMS``; not status, which changes every day, nor whether a cause is given,
which is read from the case itself), each with its counts and the hours of each of its
answers and closings. A period of whole finished months is the sum of its months' cells:
what happens in a month adds up, and being open or overdue at the end is its last
month's. That holds for every case but those answered or closed before they came, or
answered some ten hours after their closing (schema.STATS_APART: a period selects them
where a month alone does not): a period or month between the first and the last time
of one of them is counted from the cases, as before, and never kept. The kept months
are forgotten by triggers when a case they count changes (schema.m017_i22_stats_months),
and are made again by the next statistics that need them, in short transactions of
their own.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from collections.abc import Sequence

from gateway.rules.base import RuleSet
from gateway.stats_read import _iso, _time, party_name, read
from gateway.stats_tally import DEVIATION, Period, Tally, frame_of, periods_of, tally
from gateway.store.db import Database
from gateway.store.stats_months import apart_times, has_months, keep_months, kept_months

CELL_DIMS = ("flow", "party", "municipality", "kind", "urgent", "severity", "category")
COUNTS = ("opened", "suggestions", "closed", "closed_on_time", "open_at_end", "overdue")
MARGIN = dt.timedelta(days=2)  # around a case apart's times: its neighbours are counted too

# One cell: its key (CELL_DIMS, the party as stored), its counts (COUNTS), and the
# (working, calendar) hours of its answers and of its closings.
Cell = tuple[tuple[str, ...], tuple[int, ...], list, list]


class Months:
    """The kept months of one case log, for the statistics at one ``now``."""

    def __init__(self, db: Database, ruleset: RuleSet, now: dt.datetime):
        self.db, self.ruleset, self.now = db, ruleset, now
        self.hours = ruleset.hours
        # a log of an older version (stats --across) has neither months nor the index
        # of the cases apart: each of its periods is counted from the cases
        self.kept = has_months(db)
        self._apart = [_span(times) for times in apart_times(db)] if self.kept else []
        self._cells: dict[str, list[Cell]] = {}

    def serve(self, periods: Sequence[Period], dims: Sequence[str], kinds: bool) -> list:
        """Per period, its groups {key of ``dims``: Tally} added up from kept months (made
        and kept first where missing), or None for a period that must be counted from
        the cases: not whole months, not over at ``now``, or a case apart in it."""
        if not self.kept or not set(dims) <= set(CELL_DIMS):
            return [None] * len(periods)
        spans = [self._months_of(p) for p in periods]
        self._load(sorted({m.label for span in spans if span for m in span}))
        ready = [span is not None and all(m.label in self._cells for m in span) for span in spans]
        return [
            self._compose(span, dims, kinds) if ok else None
            for span, ok in zip(spans, ready, strict=True)
        ]

    def _months_of(self, period: Period) -> list[Period] | None:
        """The months ``period`` is made of, when it can be added up from them."""
        first = self.hours.local(period.start).date()
        after = self.hours.local(period.end).date()
        if first.day != 1 or after.day != 1 or period.end > self.now or self._touched(period):
            return None
        return periods_of(self.hours, first, after - dt.timedelta(days=1), monthly=True)

    def _touched(self, period: Period) -> bool:
        """A case apart is between its first and last time in ``period`` (or within
        MARGIN of it): then the period is counted from the cases, and with it every
        period between those times, in one read, as a read of the whole range would."""
        lo, hi = period.start - MARGIN, period.end + MARGIN
        return any(first < hi and lo <= last for first, last in self._apart)

    def _load(self, labels: list[str]) -> None:
        """The cells of the months ``labels``: kept ones read, the others counted (in
        runs of neighbouring months, one read each) and kept."""
        calendar = self.hours.digest
        wanted = [m for m in labels if m not in self._cells]
        for label, kept in kept_months(self.db, calendar, wanted).items():
            self._cells[label] = _unpack(kept.cells, kept.hours)
        missing = [m for m in wanted if m not in self._cells]
        for run in _runs(missing):
            self._count(run)

    def _count(self, labels: list[str]) -> None:
        """Count the months ``labels`` (neighbours) from the cases, and keep them."""
        first = dt.date.fromisoformat(labels[0] + "-01")
        last = dt.date.fromisoformat(labels[-1] + "-01")
        last = (last + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        months = periods_of(self.hours, first, last, monthly=True)
        lo, hi = months[0].start, months[-1].end
        found = read(self.db, self.ruleset, lo, hi, False, CELL_DIMS, names=False)
        cases, backlog = found.within(lo, hi)
        frame = frame_of(self.hours, months, cases, self.now)
        counted = tally(cases, frame, CELL_DIMS, True, throughout=backlog)
        keep = []
        for month, groups in zip(months, counted, strict=True):
            cells = [_cell(key, t, frame.durations) for key, t in groups.items()]
            self._cells[month.label] = cells
            if not self._touched(month):
                keep.append((month.label, _iso(month.end), *_pack(cells)))
        keep_months(self.db, self.hours.digest, keep)

    def _compose(self, months: list[Period], dims: Sequence[str], kinds: bool) -> dict:
        """The groups of the period made of ``months``, from their cells: the counts of
        what happens add up, open and overdue at the end are the last month's."""
        pick = [CELL_DIMS.index(d) for d in dims]
        at_party = CELL_DIMS.index("party")
        at_kind = CELL_DIMS.index("kind")
        names: dict[str, str] = {}
        groups: dict[tuple, Tally] = {}
        for n, month in enumerate(months):
            last = n == len(months) - 1
            for values, counts, answer, close in self._cells[month.label]:
                counted = kinds or values[at_kind] == DEVIATION
                if not (counts[1] or counted and _adds(counts, answer, close, last)):
                    continue  # a group is there when something adds to it
                party = values[at_party]
                if party not in names:
                    names[party] = party_name(self.ruleset, party)
                key = tuple(names[party] if i == at_party else values[i] for i in pick)
                _add(groups, key, counts, answer, close, counted, last)
        return groups


def _cell(key: tuple, tally_: Tally, durations) -> Cell:
    counts = tuple(getattr(tally_, c) for c in COUNTS)
    return key, counts, tally_.hours("answer", durations), tally_.hours("close", durations)


def stored_only(start: dt.datetime, end: dt.datetime) -> tuple[float, float]:
    """The durations of a kept month's cells: all stored, so never worked out."""
    raise ValueError(f"a kept month's hours are stored; asked for {start}..{end}")


def _adds(counts: tuple, answer: list, close: list, last: bool) -> bool:
    """A counted cell adds something to its period (its month the last: its ends too)."""
    return bool(counts[0] or counts[2] or answer or close or last and counts[4])


def _add(groups: dict, key: tuple, counts, answer, close, counted: bool, last: bool) -> None:
    found = groups.get(key)
    if found is None:
        found = groups[key] = Tally()
    found.suggestions += counts[1]
    if not counted:
        return
    found.opened += counts[0]
    found.closed += counts[2]
    found.closed_on_time += counts[3]
    if last:
        found.open_at_end += counts[4]
        found.overdue += counts[5]
    found.answer.extend(answer)
    found.close.extend(close)


def _span(times: tuple) -> tuple[dt.datetime, dt.datetime]:
    """The first and the last of a case's times."""
    found = [t for t in map(_time, times) if t is not None]
    return min(found), max(found)


def _runs(labels: list[str]) -> list[list[str]]:
    """``labels`` (sorted months) in runs of neighbouring months."""
    runs: list[list[str]] = []
    for label in labels:
        if runs and _next(runs[-1][-1]) == label:
            runs[-1].append(label)
        else:
            runs.append([label])
    return runs


def _next(label: str) -> str:
    year, month = map(int, label.split("-"))
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _pack(cells: list[Cell]) -> tuple[str, bytes]:
    """The cells as JSON (keys, counts, how many hours) and their hours as doubles."""
    hours = array("d")
    head = []
    for key, counts, answer, close in cells:
        head.append([list(key), list(counts), len(answer), len(close)])
        for pair in (*answer, *close):
            hours.extend(pair)
    return json.dumps(head, ensure_ascii=False), hours.tobytes()


def _unpack(cells: str, packed: bytes) -> list[Cell]:
    hours = array("d")
    hours.frombytes(packed)
    pairs = list(zip(hours[0::2], hours[1::2], strict=True))
    out, at = [], 0
    for key, counts, answers, closes in json.loads(cells):
        answer = pairs[at : at + answers]
        close = pairs[at + answers : at + answers + closes]
        at += answers + closes
        out.append((tuple(key), tuple(counts), answer, close))
    return out
