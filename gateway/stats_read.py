"""The cases as the statistics count them (gateway/stats.py): read from the narrow copy
of the cases, only the columns a grouping needs, and kept so that a period inside the
range read is narrowed from it in Python exactly as SQL would select it (issue 22).

A figure of a period depends on the cases SQL selects for the range asked: a first
answer after the closing counts only for a case closed no earlier than the day before
the range (``cases_touching``). So a month inside a year read is not simply the year's
month: ``Read.within`` selects for the month what a read of the month would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.hours import ServiceHours, WorkingClock
from gateway.rules.base import RuleSet
from gateway.stats_tally import DEVIATION
from gateway.stats_tally import Case as _Case
from gateway.store.db import Database
from gateway.store.stats import CaseFigures, cases_touching, open_throughout, store_hours

MARGIN = dt.timedelta(days=1)  # SQL compares times as text: the bounds are widened by it


@dataclass(frozen=True)
class Read:
    """The cases of one read of [lo, hi): those SQL selected (with their arrival and
    closing as stored, to narrow by), and apart those open throughout it."""

    lo: dt.datetime
    hi: dt.datetime
    cause: bool
    columns: frozenset[str]
    cases: list[_Case]
    stored: list[tuple[str, str | None]]  # (received_at, closed_at) as SQL compares them
    backlog: list[tuple[_Case, int]]

    def covers(self, lo: dt.datetime, hi: dt.datetime, cause: bool, columns) -> bool:
        return self.cause == cause and self.lo <= lo and hi <= self.hi and columns <= self.columns

    def within(self, lo: dt.datetime, hi: dt.datetime) -> tuple[list[_Case], list]:
        """The cases a read of [lo, hi) would give: received before its end and not
        closed before its start (``cases_touching``, compared as text as SQL does). Those
        open throughout this read are open throughout [lo, hi) too."""
        before, after = _iso(hi + MARGIN), _iso(lo - MARGIN)
        cases = [
            case
            for case, (received, closed) in zip(self.cases, self.stored, strict=True)
            if received < before and (closed is None or closed >= after)
        ]
        return cases, self.backlog


# the column of the case a dimension reads (kind and the times are always read)
_COLUMNS = {"flow": "flow", "party": "receiving_party", "municipality": "municipality",
            "status": "status", "urgent": "urgent", "severity": "severity",
            "category": "category", "cause-given": "cause_given"}  # fmt: skip


def columns(dims: Sequence[str]) -> frozenset[str]:
    """The columns the dimensions ``dims`` read, besides kind and the times."""
    return frozenset(_COLUMNS[d] for d in dims if d in _COLUMNS)


def read(
    db: Database,
    ruleset: RuleSet,
    lo: dt.datetime,
    hi: dt.datetime,
    cause: bool,
    dims: Sequence[str] = tuple(_COLUMNS),
    names: bool = True,
) -> Read:
    """The cases that can touch [lo, hi), and apart, counted in SQL, those open throughout
    it that add nothing else. The bounds are widened by a day in SQL, where times
    compare as text, and checked exactly in ``tally``. Only the columns of ``dims`` are
    read: the values of any other dimension are not those of the case. Without ``names``,
    a party is its address as stored, not its name in rules.yaml (stats_months keeps it
    so, and names it when it adds months up)."""
    throughout = (_iso(lo - MARGIN), _iso(hi + MARGIN))
    wanted = columns(dims)
    calendar = ruleset.hours.digest
    rows = cases_touching(
        db, _iso(hi + MARGIN), _iso(lo - MARGIN), throughout, cause, wanted, calendar
    )
    backlog = open_throughout(db, *throughout, cause=cause, wanted=wanted)
    memo: dict[tuple, dict[str, str]] = {}
    backlog_cases = [(_case(r, ruleset, memo, names), n) for r, n in backlog]
    cases = [_case(r, ruleset, memo, names) for r in rows]
    _fill_hours(db, ruleset.hours, rows, cases)
    stored = [(r.received_at, r.closed_at) for r in rows]
    return Read(lo, hi, cause, wanted, cases, stored, backlog_cases)


def _fill_hours(db: Database, hours: ServiceHours, rows: list[CaseFigures], cases: list) -> None:
    """The durations of the cases read whose durations are not stored under this
    calendar, worked out (``cases`` updated in place) and stored for the next read:
    after an upgrade, a change of a case's times or of the calendar."""
    missing = [i for i, r in enumerate(rows) if r.id is not None and not r.known]
    if not missing:
        return
    times = [t for i in missing for t in (cases[i].received, cases[i].first_answer,
                                          cases[i].closed) if t is not None]  # fmt: skip
    one_day = dt.timedelta(days=1)
    clock = WorkingClock(
        hours, hours.local(min(times)).date() - one_day, hours.local(max(times)).date() + one_day
    )
    kept = []
    for i in missing:
        case = cases[i]
        answer = (
            None if case.first_answer is None else clock.durations(case.received, case.first_answer)
        )
        close = None if case.closed is None else clock.durations(case.received, case.closed)
        cases[i] = case._replace(answer_hours=answer, close_hours=close)
        kept.append((rows[i].id, *(answer or (None, None)), *(close or (None, None))))
    store_hours(db, hours.digest, kept)


def _case(r: CaseFigures, ruleset: RuleSet, memo: dict | None = None, names: bool = True) -> _Case:
    """A case as the counting reads it. Its dimensions' values are worked out once for
    each combination in ``memo`` (a million cases have a few hundred)."""
    raw = (r.flow, r.receiving_party, r.municipality, r.kind, r.status, r.urgent,
           r.severity, r.category, r.cause_given)  # fmt: skip
    values = None if memo is None else memo.get(raw)
    if values is None:
        values = _values(r, ruleset) if names else _values(r, None)
        if memo is not None:
            memo[raw] = values
    return _Case(
        values,
        values["kind"],
        _time(r.received_at),
        _time(r.first_answer_at),
        _time(r.closed_at),
        dt.date.fromisoformat(r.close_due) if r.close_due else None,
        (r.answer_working, r.answer_calendar) if r.known and r.first_answer_at else None,
        (r.close_working, r.close_calendar) if r.known and r.closed_at else None,
    )


def _values(r: CaseFigures, ruleset: RuleSet | None) -> dict[str, str]:
    """A case's value of each dimension; without ``ruleset``, its party as stored."""
    return {
        "flow": r.flow or "-",
        "party": party_name(ruleset, r.receiving_party) if ruleset else r.receiving_party or "",
        "municipality": r.municipality or "-",
        "kind": r.kind or DEVIATION,
        "status": r.status or "-",
        "urgent": "yes" if r.urgent else "no",
        "severity": r.severity or "-",  # the deviation record (issue 19)
        "category": r.category or "-",
        "cause-given": "yes" if r.cause_given else "no",
    }


def party_name(ruleset: RuleSet, address: str | None) -> str:
    """The party's name in rules.yaml, else its address as stored, else ``-``."""
    party = ruleset.directory.parties.get(address or "")
    return party.name if party else address or "-"


def _time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    zone = parsed.tzinfo
    if zone is dt.UTC:  # as the store writes them ('+00:00'): no conversion to make
        return parsed
    return parsed.astimezone(dt.UTC) if zone else parsed.replace(tzinfo=dt.UTC)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds")
