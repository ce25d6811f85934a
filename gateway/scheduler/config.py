"""Triggers for the ``follow_up:`` schedules (gateway/rules/follow_up.py reads them).

A "working day" here is the service hours' working day, with their holiday calendar,
so it means the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from gateway.hours import ServiceHours
from gateway.rules.follow_up import JOBS, Entry, FollowUp

__all__ = ["JOBS", "DayTrigger", "trigger"]


class DayTrigger(BaseTrigger):
    """An APScheduler trigger: cron times, on the days a calendar class allows."""

    def __init__(self, entries: tuple[Entry, ...], hours: ServiceHours):
        self.hours = hours
        self.parts = [
            (entry, CronTrigger(**_cron(entry, time), timezone=hours.zone))
            for entry in entries
            for time in entry.times
        ]

    def _allowed(self, entry: Entry, at: dt.datetime) -> bool:
        day = self.hours.local(at).date()
        if entry.days == "working-days":
            return self.hours.is_working_day(day)
        if entry.days == "days-off":
            return not self.hours.is_working_day(day)
        return True  # every-day, or weekdays already in the cron fields

    def get_next_fire_time(self, previous_fire_time, now):
        start = now if previous_fire_time is None else max(now, previous_fire_time)
        if previous_fire_time is not None and start <= previous_fire_time:
            start = previous_fire_time + dt.timedelta(seconds=1)
        best = None
        for entry, cron in self.parts:
            at = cron.get_next_fire_time(None, start)
            for _ in range(400):  # a year of days: enough to pass any run of holidays
                if at is None or self._allowed(entry, at):
                    break
                at = cron.get_next_fire_time(None, at + dt.timedelta(seconds=1))
            if at is not None and (best is None or at < best):
                best = at
        return best


def _cron(entry: Entry, time: dt.time) -> dict:
    fields: dict[str, Any] = {"hour": time.hour, "minute": time.minute, "second": 0}
    if entry.day_of_month:
        fields["day"] = entry.day_of_month
    if entry.month:
        fields["month"] = entry.month
    if isinstance(entry.days, tuple):
        fields["day_of_week"] = ",".join(entry.days)
    return fields


def trigger(follow_up: FollowUp, job: str, hours: ServiceHours) -> DayTrigger | None:
    """The trigger of a job's schedule; None when the job has none."""
    entries = follow_up.schedules.get(job)
    return DayTrigger(entries, hours) if entries else None
