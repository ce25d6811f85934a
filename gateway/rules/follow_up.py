"""rules.yaml ``follow_up:``: who reviews, who is told, and when each job runs.

A schedule is a list of entries such as ``{days: working-days, at: "19:00"}``. ``days``
is ``working-days`` (service days that are not public holidays), ``days-off`` (weekends
and public holidays), ``every-day``, or a list of weekdays; ``day_of_month`` makes it
monthly. Times are local, in the service hours' time zone. This is the configuration
only: gateway/scheduler/config.py turns it into triggers, so the rules never import
the scheduler.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.hours import WEEKDAYS
from gateway.rules.period_reports import (
    CLOSED_LIST_MAX,
    DEFAULTS,
    REPORT_JOBS,
    PeriodReport,
    parse_closed_list,
    parse_period_reports,
)

JOBS = (
    "review-digest",
    "reminders",
    "overdue-list",
    "escalation",
    "monthly-report",
    "retention",
    "clock-reminders",
    "open-cases",  # off unless scheduled: each receiving party its open cases
    *REPORT_JOBS,  # off unless scheduled: follow_up: period_reports
)
DAY_CLASSES = ("working-days", "days-off", "every-day")


@dataclass(frozen=True)
class Entry:
    """One line of a schedule: at these local times, on these days."""

    days: str | tuple[str, ...] = "every-day"
    times: tuple[dt.time, ...] = (dt.time(7, 0),)
    day_of_month: int | None = None
    month: int | None = None  # with day_of_month: once a year (an annual report)

    def describe(self) -> str:
        days = self.days if isinstance(self.days, str) else ",".join(self.days)
        if self.day_of_month:
            days = f"day {self.day_of_month} of the month"
        if self.month:
            days = f"day {self.day_of_month} of month {self.month}"
        return f"{days} at {', '.join(t.strftime('%H:%M') for t in self.times)}"


# Purging past retention is the law, not a choice: it runs when no schedule says when.
DEFAULT_SCHEDULES = {"retention": (Entry("every-day", (dt.time(3, 0),)),)}


@dataclass(frozen=True)
class FollowUp:
    """The ``follow_up:`` section, checked."""

    on_call: str | None = None  # party key: gets digests, may write #vurdert/#haster/...
    management: tuple[str, ...] = ()  # addresses of the monthly report
    remind_before: int = 2  # working days before a deadline
    catch_up_hours: float = 6.0  # a run missed while stopped is made up within this
    schedules: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    period_reports: dict[str, PeriodReport] = field(default_factory=lambda: dict(DEFAULTS))
    closed_case_list: bool = True  # in the period reports (rules/period_reports.py)
    closed_case_list_max: int = CLOSED_LIST_MAX  # ... at most this many rows of it


Problem = Callable[[int, str], None]


def parse_follow_up(
    spec: Any, parties: set[str], line_of: Callable[[Any, str | None], int], add: Problem
) -> FollowUp:
    """Check ``follow_up:``; each problem is reported with its line through ``add``."""
    if spec is None:
        return FollowUp(schedules=dict(DEFAULT_SCHEDULES))
    if not isinstance(spec, dict):
        add(line_of(spec, None), "follow_up: expected a mapping")
        return FollowUp(schedules=dict(DEFAULT_SCHEDULES))
    known = {"on_call", "management", "remind_before", "catch_up_hours", "period_reports",
             "closed_case_list", "closed_case_list_max"}  # fmt: skip
    for key in set(spec) - known - {"schedules"}:
        if key == "escalate_to":
            add(line_of(spec, key), "follow_up: escalate_to: moved to flows: (escalate_to)")
            continue
        add(line_of(spec, key), f"follow_up: unknown key {key!r}")
    on_call = spec.get("on_call")
    if on_call is not None and on_call not in parties:
        add(line_of(spec, "on_call"), f"follow_up: on_call: unknown party {on_call!r}")
    management = spec.get("management") or []
    management = [management] if isinstance(management, str) else management
    if not all(isinstance(a, str) and "@" in a for a in management):
        add(line_of(spec, "management"), "follow_up: management: a list of addresses")
    remind = spec.get("remind_before", 2)
    if not isinstance(remind, int) or remind < 0:
        add(line_of(spec, "remind_before"), "follow_up: remind_before: working days (0 or more)")
        remind = 2
    catch_up = spec.get("catch_up_hours", 6.0)
    if not isinstance(catch_up, int | float) or catch_up < 0.1:
        add(
            line_of(spec, "catch_up_hours"),
            "follow_up: catch_up_hours: hours, at least 0.1 (the scheduler looks once a minute)",
        )
        catch_up = 6.0
    closed_list, closed_max = parse_closed_list(spec, line_of, add)
    return FollowUp(
        on_call=on_call,
        management=tuple(str(a).lower() for a in management),
        remind_before=remind,
        catch_up_hours=float(catch_up),
        schedules=DEFAULT_SCHEDULES | _schedules(spec.get("schedules") or {}, line_of, add),
        period_reports=parse_period_reports(spec.get("period_reports"), line_of, add),
        closed_case_list=closed_list,
        closed_case_list_max=closed_max,
    )


def _schedules(spec: Any, line_of, add: Problem) -> dict[str, tuple[Entry, ...]]:
    if not isinstance(spec, dict):
        add(line_of(spec, None), "follow_up: schedules: a mapping job: entries")
        return {}
    out = {}
    for job, entries in spec.items():
        line = line_of(spec, job)
        if job not in JOBS:
            add(line, f"follow_up: schedules: unknown job {job!r} (known: {', '.join(JOBS)})")
            continue
        entries = entries if isinstance(entries, list) else [entries]
        out[job] = tuple(e for e in (_entry(e, job, line, add) for e in entries) if e)
    return out


def _entry(spec: Any, job: str, line: int, add: Problem) -> Entry | None:
    where = f"follow_up: schedules: {job}"
    if not isinstance(spec, dict):
        add(line, f"{where}: each entry is a mapping like {{days: working-days, at: '19:00'}}")
        return None
    if unknown := set(spec) - {"days", "at", "day_of_month", "month"}:
        add(line, f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    days = spec.get("days", "every-day")
    if isinstance(days, list):
        if not days or any(str(d).lower()[:3] not in WEEKDAYS for d in days):
            add(line, f"{where}: days: weekdays like [mon, tue]")
            return None
        days = tuple(str(d).lower()[:3] for d in days)
    elif days not in DAY_CLASSES:
        add(line, f"{where}: days: one of {', '.join(DAY_CLASSES)}, or a list of weekdays")
        return None
    times = spec.get("at", "07:00")
    times = times if isinstance(times, list) else [times]
    parsed = []
    for value in times:
        if isinstance(value, int):  # YAML 1.1 reads an unquoted 19:00 as 1140 minutes
            value = f"{value // 60:02d}:{value % 60:02d}"
        try:
            parsed.append(dt.time.fromisoformat(str(value)))
        except ValueError:
            add(line, f"{where}: at: {value!r} is not a time like '19:00' (quote it)")
            return None
    day_of_month = spec.get("day_of_month")
    if day_of_month is not None and (
        not isinstance(day_of_month, int) or not 1 <= day_of_month <= 28
    ):
        add(line, f"{where}: day_of_month: 1 to 28")
        return None
    if day_of_month is not None and days != "every-day":
        # The 1st that is a holiday would skip the whole month: say it, do not guess.
        add(line, f"{where}: day_of_month goes with days: every-day (or no days)")
        return None
    month = spec.get("month")
    if month is not None and (
        not isinstance(month, int) or not 1 <= month <= 12 or day_of_month is None
    ):
        add(line, f"{where}: month: 1 to 12, with a day_of_month")
        return None
    return Entry(days=days, times=tuple(parsed), day_of_month=day_of_month, month=month)
