"""Prometheus metrics on loopback, counted from the case log at each scrape.

A custom collector reads the tables when Prometheus asks, instead of counters kept in
memory: the numbers survive restarts, agree with ``gateway status``, and no code on the
way of a message changes. A scrape costs a few queries; the counters are plain
counts over ``messages`` and ``outbox`` (gateway/store/health.py).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, ProcessCollector, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.store import health, indexing, open_db
from gateway.store.alerts import AlertState, all_alerts
from gateway.store.intake import mailbox_health
from gateway.store.outbox import counts_by_state, delivery_counts
from gateway.store.states import OutboxState

PREFIX = "avviksgateway"
QUEUE_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.RETRY, OutboxState.FAILED)


class CaseLogCollector(Collector):
    """Reads the case log on each ``collect()``; one connection, used by one scrape at once."""

    def __init__(
        self,
        database: Path | str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.db = open_db(database)
        self.clock = clock
        self.lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        with self.lock:
            now = self.clock()
            yield from self._messages()
            yield from self._outbox()
            yield from self._intake(now)
            yield from self._alerts()

    @staticmethod
    def _family(kind, name: str, doc: str, labels: list[str], rows: list[tuple]) -> Metric:
        """A metric family from the rows of one count: label values, then the count."""
        family = kind(f"{PREFIX}_{name}", doc, labels=labels)
        for *keys, value in rows:
            family.add_metric([key or "" for key in keys], value)
        return family

    def _messages(self) -> Iterator[Metric]:
        yield self._family(
            CounterMetricFamily,
            "messages_received",
            "Messages taken in, by mailbox.",
            ["mailbox"],
            health.received_by_mailbox(self.db),
        )
        yield self._family(
            CounterMetricFamily,
            "messages_decided",
            "Messages taken in and handled, by mailbox and decision "
            "(relay, triage, ignore, thread, hold, duplicate, quarantine, dropped).",
            ["mailbox", "decision"],
            health.decided_by_mailbox(self.db),
        )

    def _outbox(self) -> Iterator[Metric]:
        deliveries = self._family(
            CounterMetricFamily,
            "deliveries",
            "Outgoing mail delivered (result sent) or given up (failed), by purpose "
            "(relay, receipt, reply, triage, alert ...).",
            ["purpose", "result"],
            delivery_counts(self.db),
        )
        queue = GaugeMetricFamily(
            f"{PREFIX}_outbox_queue", "Outbox rows by state, sent ones left out.", labels=["state"]
        )
        counts = counts_by_state(self.db)
        for state in QUEUE_STATES:
            queue.add_metric([state.value], counts.get(state, 0))
        yield from (deliveries, queue)

    def _intake(self, now: dt.datetime) -> Iterator[Metric]:
        waiting, oldest = health.waiting_and_oldest(self.db)
        yield GaugeMetricFamily(
            f"{PREFIX}_intake_waiting", "Messages stored but not decided yet.", value=waiting
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_intake_oldest_waiting_seconds",
            "Age of the oldest message not decided yet (0 when none waits).",
            value=_age(oldest, now),
        )
        connected = GaugeMetricFamily(
            f"{PREFIX}_mailbox_connected", "1 while the IMAP mailbox is connected.",
            labels=["mailbox"],
        )  # fmt: skip
        fetched = GaugeMetricFamily(
            f"{PREFIX}_mailbox_last_fetch_age_seconds",
            "Seconds since the IMAP mailbox was last read successfully.",
            labels=["mailbox"],
        )
        for box in mailbox_health(self.db):
            connected.add_metric([box.name], 1 if box.connected else 0)
            if box.last_fetch_at:
                fetched.add_metric([box.name], _age(box.last_fetch_at, now))
        yield from (connected, fetched)
        yield GaugeMetricFamily(
            f"{PREFIX}_search_texts_waiting",
            "Message texts stored but not yet in the search index (gateway serve adds them "
            "when it has no mail to decide; counted up to 100000).",
            value=indexing.texts_waiting(self.db),
        )

    def _alerts(self) -> Iterator[Metric]:
        raised = GaugeMetricFamily(
            f"{PREFIX}_alert_raised",
            "1 while an alert is raised (the administrators told, no recovery yet).",
            labels=["key", "kind"],
        )
        for alert in all_alerts(self.db):
            raised.add_metric([alert.key, alert.kind or ""], int(alert.state == AlertState.RAISED))
        yield raised


def _age(stamp: str | None, now: dt.datetime) -> float:
    if not stamp:
        return 0.0
    moment = dt.datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max((now - moment).total_seconds(), 0.0)


def registry_for(database: Path | str) -> CollectorRegistry:
    """A registry of our own: the case log's numbers and the process (memory, CPU, files),
    without the global registry's extras."""
    registry = CollectorRegistry()
    registry.register(CaseLogCollector(database))
    ProcessCollector(registry=registry)
    return registry


def serve(database: Path | str, host: str, port: int):
    """Start the /metrics endpoint in a daemon thread; returns the server (to shut down)."""
    server, _thread = start_http_server(port, addr=host, registry=registry_for(database))
    return server
