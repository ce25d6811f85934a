"""The pipeline: take stored messages (state ``received``) through parse -> decide -> case.

A batch is claimed by counting an attempt on each row first (committed). Then each
message is planned (``gateway/decide/chain.py``: parse, decide, the case log's reads)
and the plan carried out (``gateway/carry_out.py``) in a savepoint of a short write
transaction that a few messages share (``process_batch``). A message whose handling
raises is quarantined with the reason; one that keeps killing the process (attempts run
out before it could be decided) is quarantined on the next start. Nothing is dropped.

With ``pipeline_workers`` above 1, worker processes parse and de-identify the messages
of a batch ahead of this thread (``gateway/prepare.py``), once a backlog has started
them (``gateway/workers.py``); this thread still plans and carries out each message in
turn, and is the only one that writes.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable

from gateway.carry_out import carry_out
from gateway.decide.chain import plan
from gateway.decide.facts import Facts
from gateway.faults import fault
from gateway.models import Arrival, Outcome
from gateway.prepare import PREPARE_MAX_BYTES, Lost, Prepared
from gateway.privacy.policy import deidentify, needs_redaction
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.safety import quarantine
from gateway.settings import Settings
from gateway.stage import StageContext
from gateway.store import WriteGroup, begin_read, end_read, intake_queue, savepoint, write
from gateway.store.db import Database
from gateway.store.merges import QuietWriteGroup
from gateway.workers import Workers

log = logging.getLogger("gateway.pipeline")
MAX_ATTEMPTS = 3
# The longest a group of messages should hold the write lock. Each commit writes the last
# leaf of every index group a message adds to; on a log of a million cases those are
# many pages (16,000 WAL frames for 500 reports against 10,000 on an empty log), and
# groups of 100 ms rather than 50 gave the large log 0.90-0.93 of the empty log's
# speed against 0.84-0.92, in paired rounds (bench/scale_pipeline.py) alternating the
# two on one copy of that log after it had taken 7,000 reports (make bench-scale
# measures a fresh copy: 0.55-0.73 either way). Intake and the sender wait that long
# at most.
GROUP_SECONDS = 0.1
# A message bigger than this is planned outside the write lock (parsing one of several
# megabytes takes a good part of a second); smaller ones take milliseconds.
PLAN_IN_GROUP_BYTES = 256 * 1024


class Pipeline:
    """Decide what intake stored. ``rules()`` returns the current RuleSet (reloads)."""

    def __init__(
        self,
        db: Database,
        rules: Callable[[], RuleSet],
        renderer: Renderer,
        settings: Settings,
        workers: Workers | None = None,
        committed: Callable[[], object] | None = None,
    ):
        self.db, self.rules, self.renderer, self.settings = db, rules, renderer, settings
        self.workers = workers  # None: all the work in this thread
        # called after each commit: the daemon wakes the sender, so that relays leave
        # while the rest of the batch is still being decided
        self.committed = committed

    def process_batch(self, limit: int = 50) -> int:
        """Decide up to ``limit`` waiting messages; returns how many were handled.

        Messages are carried out in groups, several to one write transaction, each in a
        savepoint of its own (one that fails is quarantined alone): a commit costs about
        as much as the writes of a message, and far more on a large case log (it flushes
        and merges the full-text indexes). A group is planned inside its transaction, so
        that each message sees what the one before it wrote, and holds the write lock
        for at most about GROUP_SECONDS: intake and the sender, which write too, wait
        that long at most. A big message is planned outside any write (its parse could
        take a second), and so is the first of each group, in a read snapshot.
        """
        with write(self.db):
            rows = intake_queue.claim(self.db, limit)
        if not rows:
            if self.workers is not None:  # nothing to do: workers idle long enough stop
                self.workers.stop_idle()
            return 0
        ruleset = self.rules()
        stage = StageContext(self.db, ruleset, self.settings, self.renderer)
        # its commits leave the search indexes' merging to the merger (store/merges.py)
        with QuietWriteGroup(self.db, GROUP_SECONDS, self.committed) as group:
            ahead: Iterable[tuple[intake_queue.Claimed, Prepared | Lost | None]]
            ahead = ((row, None) for row in rows)
            if self.workers is not None:  # waiting for a worker: not while holding the lock
                own = stage.rules.own_addresses
                ahead = self.workers.ahead(
                    rows, ruleset, own, self._worth_a_worker, before_waiting=group.commit
                )
            for row, prepared in ahead:
                self._one(group, row, stage, prepared)
        fault("after-decide")
        return len(rows)

    def _one(
        self,
        group: WriteGroup,
        row: intake_queue.Claimed,
        stage: StageContext,
        prepared: Prepared | Lost | None,
    ) -> None:
        """Plan one message (in the group's transaction when one is open and the message
        is small, else in a read snapshot) and carry the plan out in the group."""
        if group.open and row.size > PLAN_IN_GROUP_BYTES:
            group.commit()
        snapshot = not group.open
        if snapshot:
            begin_read(self.db)  # one snapshot for all that the plan reads
        try:
            step = self._plan(row, stage, prepared)
        except Exception as exc:  # one bad message must not stop the others
            step = functools.partial(self._failed, row.id, exc)
        finally:
            if snapshot:
                end_read(self.db)  # it only read: ends the snapshot
        with group.unit():
            try:
                with savepoint(self.db):
                    step()
            except Exception as exc:
                with savepoint(self.db):
                    self._failed(row.id, exc)

    def _failed(self, row_id: int, exc: Exception) -> None:
        log.error("message %s failed in the pipeline", row_id, exc_info=exc)
        quarantine(self.db, row_id, f"pipeline error: {type(exc).__name__}: {exc}")

    def _worth_a_worker(self, row: intake_queue.Claimed) -> bool:
        """Not one that is quarantined unread: over the size limit, or out of attempts."""
        limit = min(self.settings.max_message_bytes, PREPARE_MAX_BYTES)
        return row.attempts <= MAX_ATTEMPTS and row.size <= limit

    def _plan(
        self, row: intake_queue.Claimed, stage: StageContext, prepared: Prepared | Lost | None
    ) -> Callable[[], object]:
        """Plan one stored message; returns the step that carries the plan out.
        ``prepared``: what a worker process made of it ahead (None: nothing).

        Only reads here, in one snapshot (or in the group's write transaction, which sees
        what the messages before it in the group wrote); the step runs in the write
        transaction right after. This thread is the only one that decides new mail, so
        what it read still holds; what another process wrote meanwhile (an administrator's
        triage decision, milliseconds before) counts as having come just after this
        message.
        """
        if row.attempts > MAX_ATTEMPTS:
            why = f"not decided after {MAX_ATTEMPTS} attempts"
            return functools.partial(quarantine, self.db, row.id, why)
        if isinstance(prepared, Lost):  # it killed a worker, twice
            return functools.partial(quarantine, self.db, row.id, prepared.reason)
        received = dt.datetime.fromisoformat(row.received_at)
        arrival = Arrival(row.id, row.mailbox, received, row.size, row.sha256)
        facts = Facts(arrival, stage)
        if prepared is not None:
            facts.know(prepared.parsed, prepared.decision)
        result = plan(facts)
        shown = None  # the de-identified message, worked out here rather than in the write
        if result.outcome is Outcome.RELAY and needs_redaction(
            stage.rules, result.decision.to + result.decision.cc
        ):
            ready = prepared.shown if prepared and prepared.decision == result.decision else None
            shown = ready if ready is not None else deidentify(facts.msg, stage.rules)
        return functools.partial(carry_out, stage, facts, result, shown)
