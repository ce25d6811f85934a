"""rules.yaml ``follow_up: period_reports``: the interim and the annual report.

Each is a job of its own (``interim-report``, ``annual-report``), scheduled in
``follow_up: schedules`` like any other (``{month: 9, day_of_month: 15, at: "06:00"}``),
and sent only when scheduled. Its ``period`` is counted from the day it runs
(gateway/period_report.py ``scheduled``); ``to`` defaults to ``management``.
``closed_case_list`` (default on) puts the de-identified list of closed cases in them:
the board asks what was done about each deviation, and the cause and the measures are
what tells it; a deployment whose readers must not see even those switches it off.
``closed_case_list_max`` (default 200) bounds that list: a national service closes a
hundred thousand cases a year, and a mail of them all (50 MB) is read by no one and
outlasts the job's second. Past the bound the mail lists the most recently closed and
says how many more there are and how to get them all (``gateway report --closed-cases``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PERIODS = ("year-to-date", "previous-year", "previous-half", "previous-quarter",
           "previous-month")  # fmt: skip
REPORT_JOBS = ("interim-report", "annual-report")
CLOSED_LIST_MAX = 200  # rows of closed cases in a mail: a board reads a few pages, no more
CLOSED_LIST_CEILING = 5000  # a larger setting is refused: some 2.5 MB of mail, never read


@dataclass(frozen=True)
class PeriodReport:
    """One scheduled period report: which period, and to whom (empty: management)."""

    period: str
    to: tuple[str, ...] = ()


DEFAULTS = {
    "interim-report": PeriodReport("year-to-date"),
    "annual-report": PeriodReport("previous-year"),
}


def parse_period_reports(
    spec: Any, line_of: Callable[[Any, str | None], int], add: Callable[[int, str], None]
) -> dict[str, PeriodReport]:
    """Check ``period_reports:``; the defaults for any report it does not name."""
    out = dict(DEFAULTS)
    if spec is None:
        return out
    if not isinstance(spec, dict):
        add(line_of(spec, None), "follow_up: period_reports: a mapping report: settings")
        return out
    for name, entry in spec.items():
        where, line = f"follow_up: period_reports: {name}", line_of(spec, name)
        if name not in REPORT_JOBS:
            add(line, f"{where}: unknown report (known: {', '.join(REPORT_JOBS)})")
            continue
        entry = entry if isinstance(entry, dict) else {}
        if unknown := set(entry) - {"period", "to"}:
            add(line, f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        period = entry.get("period", DEFAULTS[name].period)
        if period not in PERIODS:
            add(line, f"{where}: period: one of {', '.join(PERIODS)}")
            continue
        to = entry.get("to") or []
        to = [to] if isinstance(to, str) else to
        if not all(isinstance(a, str) and "@" in a for a in to):
            add(line, f"{where}: to: a list of addresses")
            continue
        out[name] = PeriodReport(period, tuple(a.lower() for a in to))
    return out


def parse_closed_list(
    spec: dict, line_of: Callable[[Any, str | None], int], add: Callable[[int, str], None]
) -> tuple[bool, int]:
    """Check ``closed_case_list`` (on or off) and ``closed_case_list_max`` (its rows)."""
    shown = spec.get("closed_case_list", True)
    if not isinstance(shown, bool):
        add(line_of(spec, "closed_case_list"), "follow_up: closed_case_list: true or false")
        shown = True
    most = spec.get("closed_case_list_max", CLOSED_LIST_MAX)
    if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= CLOSED_LIST_CEILING:
        add(
            line_of(spec, "closed_case_list_max"),
            f"follow_up: closed_case_list_max: a whole number of cases, 1 to {CLOSED_LIST_CEILING}"
            " (to leave the list out: closed_case_list: false)",
        )
        most = CLOSED_LIST_MAX
    return shown, most
