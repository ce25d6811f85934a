"""Alerts about the gateway itself: a mailbox not read, a login refused, an outbox failing.

``Monitor.check(now)`` runs every ``monitor_interval`` seconds in a thread of its own. It
reads what intake and outbox recorded (``mailboxes``, ``events``, ``outbox``) and keeps one
row per condition in ``alerts``: ``ok`` -> ``failing`` (seen, not yet told) -> ``raised``
(told once) -> ``ok`` (recovery told once). Retries in between change nothing, so the
administrators get one note when trouble has lasted ``alert_after_minutes`` and one when
it is over. A refused login is told at once: waiting does not mend an expired secret.

Mailbox and login notes go through the outbox. The outbox's own note cannot, and goes by
``alerts.send_direct`` (journal, a file, a fresh SMTP connection).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gateway import alerts
from gateway.intake.imap import LOGIN_REFUSED
from gateway.outbox.queue import enqueue
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import alerts as rows
from gateway.store import outbox as outbox_rows
from gateway.store import write
from gateway.store.alerts import AlertRow, AlertState
from gateway.store.db import Database
from gateway.store.intake import mailbox_health

log = logging.getLogger("gateway.monitor")

OK, FAILING, RAISED = AlertState.OK, AlertState.FAILING, AlertState.RAISED
RAISED_ACTION, RECOVERED_ACTION = "raised", "recovered"


@dataclass(frozen=True)
class Observation:
    """What the recorded state says about one condition at one check."""

    key: str  # mailbox:support, login:support, outbox
    kind: str  # mailbox, login, outbox
    failing: bool | None  # None: the data cannot tell, and the alert keeps its state
    detail: str = ""
    since: dt.datetime | None = None  # when the trouble began, where the data says
    at_once: bool = False  # raise without waiting for the limit
    waiting: int = 0  # deliveries waiting (outbox)


@dataclass(frozen=True)
class Step:
    """What one observation does to an alert row: the values to write, what to tell."""

    values: dict | None = None
    action: str | None = None  # RAISED_ACTION, RECOVERED_ACTION or None


def step(row: AlertRow | None, obs: Observation, now: dt.datetime, limit: dt.timedelta) -> Step:
    """The state machine of one alert; pure, so it is tested with any clock."""
    state = (row.state if row else None) or OK
    stamp = _iso(now)
    if obs.failing is None:
        return Step()
    if not obs.failing:
        if state == RAISED:
            values = {"state": OK.value, "recovered_at": stamp, "updated_at": stamp}
            return Step(values, RECOVERED_ACTION)
        if state == FAILING:  # over before anyone needed to hear of it
            return Step({"state": OK.value, "updated_at": stamp})
        return Step()
    since = parse_time(row.since) if state != OK else (obs.since or now)
    values = {
        "kind": obs.kind,
        "state": (RAISED if state == RAISED else FAILING).value,
        "since": _iso(since),
        "detail": obs.detail,
        "updated_at": stamp,
    }
    if state != RAISED and (obs.at_once or now - since >= limit):
        values |= {"state": RAISED.value, "raised_at": stamp, "recovered_at": None}
        return Step(values, RAISED_ACTION)
    return Step(values)


def observe_mailboxes(db: Database, names: list[str]) -> list[Observation]:
    """Per mailbox: can it be read (``mailbox:``), is its login refused (``login:``)?

    A refused login also means the mailbox is not read; that is the login alert's
    business, so the mailbox alert neither raises nor clears meanwhile.
    """
    health = {box.name: box for box in mailbox_health(db) if box.name in names}
    found = []
    for name in names:
        box = health.get(name)
        connected = None if box is None else box.connected
        error = (box.last_error if box else None) or ""
        refused = connected == 0 and error.startswith(LOGIN_REFUSED)
        login = True if refused else (False if connected else None)
        mailbox = None if connected is None or refused else not connected
        found.append(Observation(f"login:{name}", "login", login, error, at_once=True))
        found.append(Observation(f"mailbox:{name}", "mailbox", mailbox, error))
    return found


def observe_outbox(
    db: Database, now: dt.datetime, limit: dt.timedelta, started: dt.datetime
) -> Observation:
    """Failing: attempts have failed with no delivery since, or due mail is not even tried.

    Counted from the gateway's start at the earliest, so a restart gives the outbox the
    whole limit to show that it works again.
    """
    first, last_id = outbox_rows.trouble_since_delivery(db)
    waiting, due = outbox_rows.waiting(db)
    starts = []
    detail = ""
    if first is not None:
        starts.append(max(parse_time(first), started))
        detail = outbox_rows.error_of_event(db, last_id)
    if due is not None and max(parse_time(due), started) <= now - limit:
        starts.append(max(parse_time(due), started))
        detail = detail or f"due since {due} and not tried: is the sender stuck?"
    return Observation(
        "outbox", "outbox", bool(starts), detail, min(starts, default=None), waiting=waiting
    )


class Monitor:
    """Raises and clears the alerts; ``check(now)`` returns what it told, as (key, action)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        rules: Callable[[], RuleSet],
        renderer: Renderer,
        *,
        started: dt.datetime | None = None,
        on_queued: Callable[[], None] = lambda: None,
    ):
        self.db, self.settings, self.rules, self.renderer = db, settings, rules, renderer
        self.limit = dt.timedelta(minutes=settings.alert_after_minutes)
        self.mailboxes = [box.mailbox for box in settings.imap]
        self.started = started or dt.datetime.now(dt.UTC)
        self.on_queued = on_queued
        rows.forget_failing(db)  # a new run counts anew; what was told stays told until recovered

    def run(self, stop: threading.Event) -> None:
        """Check every ``monitor_interval`` seconds until ``stop``; never dies of an error."""
        while not stop.wait(self.settings.monitor_interval):
            try:
                self.check()
            except Exception:  # e.g. the database locked: the next check tries again
                log.exception("monitor check failed; trying again")

    def check(self, now: dt.datetime | None = None) -> list[tuple[str, str]]:
        now = now or dt.datetime.now(dt.UTC)
        observations = [
            *observe_mailboxes(self.db, self.mailboxes),
            observe_outbox(self.db, now, self.limit, self.started),
        ]
        told = []
        for obs in observations:
            row = rows.get_alert(self.db, obs.key)
            change = step(row, obs, now, self.limit)
            if change.values is not None:
                self._apply(obs, row, change, now)
            if change.action:
                told.append((obs.key, change.action))
        self._forget_unobserved({o.key for o in observations}, now)
        return told

    def _apply(
        self, obs: Observation, row: AlertRow | None, change: Step, now: dt.datetime
    ) -> None:
        """Write the row, and tell: in the same transaction through the outbox, or (the
        outbox alert) after the commit, so a failing send never tells twice."""
        alert = None
        if change.action:
            alert = alerts.Alert(
                key=obs.key,
                kind=obs.kind,
                name=obs.key.partition(":")[2] or None,
                since=parse_time(change.values.get("since") or row.since),
                at=now,
                detail=obs.detail or (row.detail if row else None) or "",
                waiting=obs.waiting,
                recovered=change.action == RECOVERED_ACTION,
            )
        with write(self.db):
            rows.save_alert(self.db, obs.key, change.values)
            if alert and obs.kind != "outbox":
                enqueue(self.db, self._mail(alert))
        if alert is None:
            return
        if obs.kind == "outbox":
            alerts.send_direct(alert, self._mail(alert), self.settings)
        elif alert.recovered:
            self.on_queued()
            log.info("alert recovered: %s, failing since %s", obs.key, _iso(alert.since))
        else:
            self.on_queued()
            log.warning("alert raised: %s: %s", obs.key, alert.detail)

    def _mail(self, alert: alerts.Alert):
        return alerts.alert_mail(alert, self.rules(), self.renderer, self.settings)

    def _forget_unobserved(self, keys: set[str], now: dt.datetime) -> None:
        """A mailbox taken out of the settings: its alert ends quietly."""
        stale = [key for key in rows.unresolved_keys(self.db) if key not in keys]
        if stale:
            rows.end_quietly(self.db, stale, _iso(now))


def parse_time(value: str) -> dt.datetime:
    """A stored time (ISO 8601, UTC) as an aware datetime."""
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")
