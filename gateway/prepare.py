"""The pipeline's pure CPU work, done ahead in worker processes (``pipeline_workers``).

What depends only on a message's stored bytes and the rules (the parse, the rules.yaml
decision, and the de-identified message when that decision is a relay to a party that
must not see personal data) is worked out here, in a pool of processes, while the
pipeline thread carries out the messages before it. The pipeline thread keeps the rest,
in the same order as without workers: the claim, the decision chain (it reads the case
log), carrying the plan out, and every write. A worker only reads; what it hands back
is what the thread would have worked out itself, with the same functions, from the
same bytes and the same rules, so it saves the thread the work and changes nothing else.

The rules: each worker loads rules.yaml itself. A job names the pipeline's rules by the
digest of the file they were loaded from (``load_keyed``), and a worker decides only
with rules loaded from a file with that digest; otherwise it only parses, and the
thread decides. A worker that raises hands the message back unprepared: the thread
works it out and meets the same error. A worker that dies or hangs (``PREPARE_SECONDS``)
on a message: the pool is replaced and the message tried once more, alone; if that kills
a worker again, it is quarantined with the reason, as one that kills the gateway is.
"""

from __future__ import annotations

import collections
import ctypes
import dataclasses
import datetime as dt
import hashlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from gateway import logs
from gateway.decide.yaml_rules import decide
from gateway.faults import fault
from gateway.models import Decision, Outcome, ParsedMessage
from gateway.parse import UnparseableMessage, parse
from gateway.privacy.policy import Deidentified, deidentify, needs_redaction
from gateway.rules.base import RuleSet
from gateway.rules.loader import RulesError, load_rules
from gateway.settings import Settings
from gateway.store import get_raw, open_db
from gateway.store.intake_queue import Claimed

log = logging.getLogger("gateway.pipeline")

# Bigger messages are worked out in the pipeline thread as before: their bytes and
# parse are not copied between processes (memory: a 25 MB message would be held twice).
PREPARE_MAX_BYTES = 4_000_000
PREPARE_SECONDS = 120.0  # a worker busy longer with one message is taken for hung
AHEAD_PER_PROCESS = 2  # jobs handed out ahead per worker: enough to keep each one busy


@dataclass(frozen=True)
class Job:
    """One stored message to prepare, and the rules to decide it with (None: parse only)."""

    row_id: int
    mailbox: str | None
    received_at: dt.datetime
    rules_key: str | None
    own_addresses: tuple[str, ...]  # added to the rules as StageContext adds them


@dataclass(frozen=True)
class Prepared:
    """What a worker made of one message. ``parsed`` as ``Facts._parsed`` holds it (the
    message, or why it cannot be read), None when its bytes are gone; ``decision`` and
    ``shown`` only when the worker had the job's rules."""

    row_id: int
    parsed: ParsedMessage | str | None
    decision: Decision | None = None
    shown: Deidentified | None = None


@dataclass(frozen=True)
class Lost:
    """A message that killed (or hung) a worker twice: quarantined with ``reason``."""

    reason: str


def rules_key(path: Path) -> str | None:
    """The digest of a rules file as it is now; None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load_keyed(path: Path) -> tuple[RuleSet, str | None]:
    """The rules of ``path`` and the digest of the file they were loaded from (None when
    the file changed while it was read). Raises RulesError as ``load_rules`` does."""
    before = rules_key(path)
    rules = load_rules(path)
    return rules, before if before is not None and rules_key(path) == before else None


# -- in each worker process ------------------------------------------------------------


class _Worker:
    """A worker process's own state: its connection to the case log and its rules."""

    db = None
    path = Path("rules.yaml")
    key: str | None = None
    rules: RuleSet | None = None


def _start(db_path: str, rules_path: str, log_format: str) -> None:
    """Set up a worker process. It ignores SIGINT and SIGTERM (a terminal's Ctrl-C, or
    systemd stopping the unit's processes): the gateway finishes its batch and stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:  # named for ps and top, and for the benchmark's CPU figures
        ctypes.CDLL("libc.so.6").prctl(15, b"avvik-prepare", 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass
    logs.setup(log_format)
    _Worker.db, _Worker.path = open_db(db_path), Path(rules_path)
    threading.Thread(target=_orphaned, daemon=True).start()


def _orphaned() -> None:
    """Exit when the gateway is gone (killed: it could not stop the pool). Its end of a
    pipe closes then; the forkserver, our parent, lives on as long as we do."""
    gateway = multiprocessing.parent_process()
    if gateway is not None:
        gateway.join()
        os._exit(0)


def _rules(job: Job) -> RuleSet | None:
    """The job's rules, loaded here from the same file; None when the file now holds others."""
    if job.rules_key is None:
        return None
    if _Worker.key != job.rules_key:
        try:
            rules, key = load_keyed(_Worker.path)
        except RulesError:
            return None
        if key != job.rules_key:
            return None
        _Worker.key, _Worker.rules = key, rules
    rules = _Worker.rules
    if rules is not None and rules.own_addresses != job.own_addresses:
        rules = _Worker.rules = dataclasses.replace(rules, own_addresses=job.own_addresses)
    return rules


def prepare(job: Job) -> Prepared:
    """Parse, decide and de-identify one stored message (in a worker process)."""
    fault("prepare")  # the tests' worker that dies
    raw = get_raw(_Worker.db, job.row_id)
    if raw is None:
        return Prepared(job.row_id, None)
    try:
        parsed = parse(raw)
    except UnparseableMessage as exc:
        return Prepared(job.row_id, str(exc))
    rules = _rules(job)
    if rules is None:
        return Prepared(job.row_id, parsed)
    decision = decide(parsed, rules, job.mailbox, job.received_at)
    shown = None
    if decision.decision is Outcome.RELAY and needs_redaction(rules, decision.to + decision.cc):
        shown = deidentify(parsed, rules)
    return Prepared(job.row_id, parsed, decision, shown)


# -- in the gateway ---------------------------------------------------------------------


class Workers:
    """The pool of worker processes, as the pipeline thread sees it."""

    def __init__(
        self,
        processes: int,
        settings: Settings,
        key_of: Callable[[RuleSet], str | None],
        timeout: float = PREPARE_SECONDS,
        task: Callable[[Job], Prepared] | None = None,
    ):
        self.processes, self.settings, self.key_of, self.timeout = (
            processes, settings, key_of, timeout,
        )  # fmt: skip
        self.task = task or prepare  # what a worker runs (tests give one that dies)
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def for_settings(
        cls, settings: Settings, key_of: Callable[[RuleSet], str | None]
    ) -> Workers | None:
        """The pool ``pipeline_workers`` asks for; None for 1 (all in the thread)."""
        extra = settings.pipeline_workers - 1
        return cls(extra, settings, key_of) if extra > 0 else None

    def _executor(self) -> ProcessPoolExecutor:
        """The pool, started on first use. 'forkserver': each worker is forked from a
        small server that imported this module once, not from the threaded gateway."""
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])
            s = self.settings
            paths = (str(s.database_path.resolve()), str(s.rules_file.resolve()))
            self._pool = ProcessPoolExecutor(
                self.processes, context, initializer=_start, initargs=(*paths, s.log_format)
            )
        return self._pool

    def _submit(self, job: Job) -> Future:
        """The job handed to the pool; a pool that broke meanwhile fails it at once
        (``_outcome`` then finds out which message broke it)."""
        try:
            return self._executor().submit(self.task, job)
        except BrokenProcessPool as exc:
            failed: Future = Future()
            failed.set_exception(exc)
            return failed

    def ahead(
        self,
        rows: Iterable[Claimed],
        rules: RuleSet,
        own_addresses: tuple[str, ...],
        wanted: Callable[[Claimed], bool],
    ) -> Iterator[tuple[Claimed, Prepared | Lost | None]]:
        """Each row, in order, with what the workers made of it: Prepared, Lost, or None
        (not worth a worker, ``wanted``; or the worker raised: the thread works it out).
        A few rows are handed out ahead of the one yielded."""
        rows = list(rows)
        key = self.key_of(rules)
        jobs = {
            r.id: Job(r.id, r.mailbox, dt.datetime.fromisoformat(r.received_at), key, own_addresses)
            for r in rows
            if wanted(r)
        }
        queue, started = collections.deque(r.id for r in rows if r.id in jobs), {}
        for row in rows:
            while queue and len(started) < AHEAD_PER_PROCESS * self.processes:
                row_id = queue.popleft()
                started[row_id] = self._submit(jobs[row_id])
            future = started.pop(row.id, None)
            yield row, None if future is None else self._outcome(future, row.id, jobs, started)

    def _outcome(
        self, future: Future, row_id: int, jobs: dict[int, Job], others: dict[int, Future]
    ) -> Prepared | Lost | None:
        """The worker's result; when the pool broke or hung on this message, the message
        tried alone in a fresh pool, and then the others handed out again."""
        try:
            return future.result(timeout=self.timeout)
        except (BrokenProcessPool, TimeoutError) as exc:
            log.warning("message %s: %s; trying it alone", row_id, _why(exc, self.timeout))
            self._stop()
        except Exception:  # noqa: BLE001 -- the thread meets the same error and says so
            return None
        outcome = self._alone(jobs[row_id])
        for other in others:  # lost with the pool: handed out again
            others[other] = self._submit(jobs[other])
        return outcome

    def _alone(self, job: Job) -> Prepared | Lost | None:
        try:
            return self._submit(job).result(timeout=self.timeout)
        except (BrokenProcessPool, TimeoutError) as exc:
            self._stop()
            log.error("message %s: %s again: quarantined", job.row_id, _why(exc, self.timeout))
            return Lost(f"{_why(exc, self.timeout)}, twice")
        except Exception:  # noqa: BLE001
            return None

    def _stop(self) -> None:
        """Stop the pool's processes now (a hung one too) and forget the pool."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # No public way to stop a hung worker before Python 3.14's kill_workers().
        for pid in list(getattr(pool, "_processes", None) or {}):
            _kill(pid)
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """At the gateway's stop, after the last batch."""
        self._stop()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _why(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"a pipeline worker took longer than {timeout:.0f} s preparing it"
    return "a pipeline worker process died preparing it"
