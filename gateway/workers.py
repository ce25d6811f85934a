"""The pipeline's worker processes (``pipeline_workers``), as the pipeline thread uses them.

``pipeline_workers - 1`` processes, each with a pipe of its own, prepare the messages of
a batch ahead of the pipeline thread (``gateway/prepare.py``: parse, decide, de-identify)
while it plans and carries out the one before. Jobs are handed out in the batch's order,
a few ahead, and each result is read when the thread comes to its message. The thread
itself sends and reads: no helper thread in the gateway competes with it for the
interpreter, which is what the workers are there to relieve.

A worker that dies or hangs (``PREPARE_SECONDS``) on a message is replaced, and the
message tried once more on the fresh one, alone; if that kills it too, the message is
quarantined with the reason, as one that kills the gateway is after its attempts. The
other messages that worker held are handed out again; the other workers go on.
"""

from __future__ import annotations

import atexit
import collections
import datetime as dt
import logging
import multiprocessing
import time
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import wait

from gateway.prepare import Job, Lost, Prepared, prepare, serve
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store.intake_queue import Claimed

log = logging.getLogger("gateway.pipeline")

PREPARE_SECONDS = 120.0  # a worker busy longer with one message is taken for hung
START_SECONDS = 60.0  # a worker not started by then (imports, rules) is left out
AHEAD_PER_PROCESS = 2  # jobs handed to each worker ahead: enough to keep it busy


def _row(job: Job) -> int:
    return job.row_id


class _Gone(Exception):
    """The worker died or hung; the message says which."""


class _Process:
    """One worker process, the gateway's end of its pipe, and the jobs it holds (sent,
    not yet answered)."""

    def __init__(self, args: tuple, task: Callable[[Job], Prepared]):
        # A fresh interpreter, not a fork of this threaded one. A forkserver would share
        # its imports with the workers but is a process of its own: with one worker
        # 97 MB RSS (65 MB Pss) besides the gateway against 63 (46) spawned; with three,
        # 184 (119) against 162 (120).
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs, *args, task), daemon=True)
        self.process.start()
        theirs.close()  # only the worker holds it: the pipe ends when either side does
        self.jobs: dict[int, Job] = {}

    def ready(self, timeout: float) -> bool:
        """Wait until it has started (imports, rules: about a second); False if it did
        not."""
        try:
            return bool(wait([self.conn], timeout)) and self.conn.recv() == (None, None)
        except (EOFError, OSError):
            return False

    def send(self, job: Job) -> None:
        """Hand it a job. When it is gone already, its answer says so (``receive``)."""
        try:
            self.conn.send(job)
        except OSError:
            pass
        self.jobs[job.row_id] = job

    def receive(self, row_id: int, timeout: float, answers: dict) -> Prepared | None:
        """The answer for ``row_id``; answers that come before it are kept in
        ``answers`` (row id -> answer) for their turn. Raises _Gone."""
        deadline = time.monotonic() + timeout
        while row_id not in answers:
            if not wait([self.conn, self.process.sentinel], deadline - time.monotonic()):
                raise _Gone(f"a pipeline worker took longer than {timeout:.0f} s preparing it")
            try:  # an answer, or the end of the pipe: it died (perhaps while answering)
                answered, answer = self.conn.recv()
            except (EOFError, OSError):
                raise _Gone("a pipeline worker process died preparing it") from None
            answers[answered] = answer
            self.jobs.pop(answered, None)
        return answers.pop(row_id)

    def stop(self) -> None:
        """Close its pipe (it ends when it reads that) and kill it (it may be busy)."""
        self.conn.close()
        self.process.kill()
        self.process.join(5)


class Workers:
    """The worker processes, handed jobs and read by the pipeline thread alone."""

    def __init__(
        self,
        processes: int,
        settings: Settings,
        key_of: Callable[[RuleSet], str | None],
        timeout: float = PREPARE_SECONDS,
        task: Callable[[Job], Prepared] = prepare,
    ):
        self.processes, self.settings, self.key_of = processes, settings, key_of
        self.timeout, self.task = timeout, task  # task: what a worker runs (tests: one that dies)
        self._procs: list[_Process] = []

    @classmethod
    def for_settings(
        cls, settings: Settings, key_of: Callable[[RuleSet], str | None]
    ) -> Workers | None:
        """The workers ``pipeline_workers`` asks for; None for 1 (all in the thread)."""
        extra = settings.pipeline_workers - 1
        return cls(extra, settings, key_of) if extra > 0 else None

    def _spawn(self) -> _Process:
        s = self.settings
        args = (str(s.database_path.resolve()), str(s.rules_file.resolve()), s.log_format)
        return _Process(args, self.task)

    def start(self) -> None:
        """Start the processes and wait until they are ready: the second or so of
        imports and loading the rules would otherwise delay the first messages. One
        that does not start is left out (the thread does its share)."""
        if not self._procs:  # they ignore SIGTERM: stopped here, even if no one else does
            atexit.register(self.close)
        fresh = [self._spawn() for _ in range(self.processes - len(self._procs))]
        for proc in fresh:
            if proc.ready(START_SECONDS):
                self._procs.append(proc)
            else:
                log.error("a pipeline worker did not start; see its error above")
                proc.stop()

    def ahead(
        self,
        rows: Iterable[Claimed],
        rules: RuleSet,
        own_addresses: tuple[str, ...],
        wanted: Callable[[Claimed], bool],
    ) -> Iterator[tuple[Claimed, Prepared | Lost | None]]:
        """Each row, in order, with what a worker made of it: Prepared, Lost, or None
        (not worth a worker, ``wanted``; or the worker raised: the thread works it out)."""
        rows, key = list(rows), self.key_of(rules)
        try:
            self.start()
        except OSError as exc:  # no process could be started (memory, process limits)
            log.error("pipeline workers could not start (%s): the thread does it all", exc)
            yield from ((row, None) for row in rows)
            return
        jobs = {
            r.id: Job(r.id, r.mailbox, dt.datetime.fromisoformat(r.received_at), key, own_addresses)
            for r in rows
            if wanted(r)
        }
        queue = collections.deque(jobs.values())
        held: dict[int, _Process] = {}
        answers: dict[int, Prepared | None] = {}
        for row in rows:
            self._hand_out(queue, held)
            proc = held.pop(row.id, None)
            if row.id in answers:
                yield row, answers.pop(row.id)
            elif proc is None:
                yield row, None
            else:
                yield row, self._answer(proc, jobs[row.id], queue, held, answers)

    def _hand_out(self, queue: collections.deque[Job], held: dict[int, _Process]) -> None:
        """Jobs in the batch's order to the least busy workers."""
        while queue and self._procs:
            proc = min(self._procs, key=lambda p: len(p.jobs))
            if len(proc.jobs) >= AHEAD_PER_PROCESS:
                return
            job = queue.popleft()
            proc.send(job)
            held[job.row_id] = proc

    def _answer(
        self,
        proc: _Process,
        job: Job,
        queue: collections.deque[Job],
        held: dict[int, _Process],
        answers: dict[int, Prepared | None],
    ) -> Prepared | Lost | None:
        """The worker's answer; when it died or hung, the message tried once more alone
        on a fresh worker, and the worker's other jobs handed out again."""
        try:
            return proc.receive(job.row_id, self.timeout, answers)
        except _Gone as gone:
            log.warning("message %s: %s; trying it alone", job.row_id, gone)
        others = sorted((j for j in proc.jobs.values() if j.row_id != job.row_id), key=_row)
        queue.extendleft(reversed(others))
        for other in others:
            held.pop(other.row_id, None)
        try:
            fresh = self._replace(proc)
            fresh.send(job)
            return fresh.receive(job.row_id, self.timeout, answers)
        except OSError as exc:  # no fresh worker: the thread works it out
            log.error("message %s: no fresh pipeline worker (%s)", job.row_id, exc)
            return None
        except _Gone as gone:
            log.error("message %s: %s, again: quarantined", job.row_id, gone)
            fresh.stop()
            self._procs.remove(fresh)  # the next batch starts another
            return Lost(f"{gone}, twice")

    def _replace(self, proc: _Process) -> _Process:
        proc.stop()
        self._procs.remove(proc)
        fresh = self._spawn()
        if not fresh.ready(START_SECONDS):
            fresh.stop()
            raise OSError("a fresh pipeline worker did not start")
        self._procs.append(fresh)
        return fresh

    def close(self) -> None:
        """At the gateway's stop, after the last batch."""
        for proc in self._procs:
            proc.stop()
        self._procs = []
