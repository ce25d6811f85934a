"""The pipeline's worker processes (``pipeline_workers``), as the pipeline thread uses them.

Up to ``pipeline_workers - 1`` processes, each with a pipe of its own, prepare the
messages of a batch ahead of the pipeline thread (``gateway/prepare.py``: parse, decide,
de-identify) while it plans and carries out the one before. Jobs are handed out in the
batch's order, a few ahead, and each result is read when the thread comes to its
message. The thread itself sends and reads: no helper thread in the gateway competes
with it for the interpreter, which is what the workers are there to relieve.

On demand (``OnDemand``, the gateway's way): none run at the start. A worker costs
about 50 MB and a second of a core to start, and only pays when messages wait, so the
pipeline thread starts them when one claimed batch holds ``START_AT`` messages for them,
goes on working the messages itself while they start, and hands them jobs once they say
they are ready. Idle for ``IDLE_SECONDS``, they are stopped. Without ``OnDemand`` they
are kept up from the first batch (the tests, the benchmark's inprocess runs, and a
gateway with a fault point armed: the crash matrix goes through the workers).

They are plain child processes (``subprocess``), not multiprocessing ones: the spawn
start method runs a resource tracker process beside them (13 MB), which they do not need.

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
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Pipe, wait
from pathlib import Path

import gateway
from gateway.prepare import Job, Lost, Prepared, Setup, prepare
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store.intake_queue import Claimed

log = logging.getLogger("gateway.pipeline")

PREPARE_SECONDS = 120.0  # a worker busy longer with one message is taken for hung
START_SECONDS = 60.0  # a worker not started by then (imports, rules) is left out
AHEAD_PER_PROCESS = 2  # jobs handed to each worker ahead: enough to keep it busy
# One claim of 20 messages a worker could take: at about 5 ms each, 100 ms of work
# already queued behind the thread, which keeps coming while a worker starts (half a
# second to a second). Reports one at a time, or a handful sent together, never claim
# that many: the pipeline keeps up with them alone.
START_AT = 20
IDLE_SECONDS = 120.0  # a worker handed no job for this long is stopped
_MAIN = "from gateway.prepare import main; main()"
_SOURCE = str(Path(gateway.__file__).resolve().parents[1])  # the gateway the worker imports


@dataclass(frozen=True)
class OnDemand:
    """Workers started for a backlog and stopped when idle (see the module's docstring)."""

    start_at: int = START_AT  # messages for the workers in one claimed batch
    idle_seconds: float = IDLE_SECONDS


def _row(job: Job) -> int:
    return job.row_id


def _answered(proc: _Process) -> bool:
    """Whether its answer is there to read (its answers come in the order of its jobs,
    and those before this row's were read already)."""
    try:
        return proc.conn.poll(0)
    except (EOFError, OSError):
        return False


class _Gone(Exception):
    """The worker died or hung; the message says which."""


class _Process:
    """One worker process, the gateway's end of its pipe, and the jobs it holds (sent,
    not yet answered)."""

    def __init__(self, setup: Setup):
        ours, theirs = Pipe()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_SOURCE, env.get("PYTHONPATH")]))
        try:  # stdin: its life line (gateway/prepare.py, _orphaned)
            self.popen = subprocess.Popen(
                [sys.executable, "-c", _MAIN, str(theirs.fileno())],
                stdin=subprocess.PIPE, pass_fds=(theirs.fileno(),), env=env,
            )  # fmt: skip
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()  # only the worker holds it: the pipe ends when either side does
        self.conn, self.pid = ours, self.popen.pid
        self.conn.send(setup)  # read when it has started
        self.jobs: dict[int, Job] = {}
        self.started = self.used = time.monotonic()

    def ready(self, timeout: float) -> bool:
        """Wait until it has started (imports, rules: about a second); False if it did
        not."""
        try:
            return bool(wait([self.conn], timeout)) and self.conn.recv() == (None, None)
        except (EOFError, OSError):
            return False

    def poll_ready(self) -> bool | None:
        """Whether it said it is ready, without waiting: None while it is starting."""
        try:
            if not self.conn.poll(0):
                return None if time.monotonic() - self.started < START_SECONDS else False
            return self.conn.recv() == (None, None)
        except (EOFError, OSError):
            return False

    def send(self, job: Job) -> None:
        """Hand it a job. When it is gone already, its answer says so (``receive``)."""
        try:
            self.conn.send(job)
        except OSError:
            pass
        self.jobs[job.row_id] = job
        self.used = time.monotonic()

    def receive(self, row_id: int, timeout: float, answers: dict) -> Prepared | None:
        """The answer for ``row_id``; answers that come before it are kept in
        ``answers`` (row id -> answer) for their turn. Raises _Gone."""
        deadline = time.monotonic() + timeout
        while row_id not in answers:
            if not wait([self.conn], deadline - time.monotonic()):
                raise _Gone(f"a pipeline worker took longer than {timeout:.0f} s preparing it")
            try:  # an answer, or the end of the pipe: it died (perhaps while answering)
                answered, answer = self.conn.recv()
            except (EOFError, OSError):
                raise _Gone("a pipeline worker process died preparing it") from None
            answers[answered] = answer
            self.jobs.pop(answered, None)
        self.used = time.monotonic()
        return answers.pop(row_id)

    def stop(self) -> None:
        """Close its pipe and life line and kill it (it may be busy)."""
        self.conn.close()
        self.popen.kill()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self.popen.stdin is not None:
            self.popen.stdin.close()


class Workers:
    """The worker processes, handed jobs and read by the pipeline thread alone."""

    def __init__(
        self,
        processes: int,
        settings: Settings,
        key_of: Callable[[RuleSet], str | None],
        timeout: float = PREPARE_SECONDS,
        task: Callable[[Job], Prepared] = prepare,
        on_demand: OnDemand | None = None,
    ):
        self.processes, self.settings, self.key_of = processes, settings, key_of
        self.timeout, self.task = timeout, task  # task: what a worker runs (tests: one that dies)
        self.on_demand = on_demand  # None: kept up from the first batch
        self._procs: list[_Process] = []  # ready
        self._starting: list[_Process] = []  # started, not ready yet
        self._not_before = 0.0  # after one did not start: no other before this (monotonic)
        self._atexit = False

    @classmethod
    def for_settings(
        cls, settings: Settings, key_of: Callable[[RuleSet], str | None]
    ) -> Workers | None:
        """The workers ``pipeline_workers`` asks for, on demand; None for 1 (all in the
        thread). With a fault point armed (the crash tests' AVVIK_FAULT) they are kept
        up, so that a test's one message goes through them."""
        extra = settings.pipeline_workers - 1
        on_demand = None if os.environ.get("AVVIK_FAULT") else OnDemand()
        return cls(extra, settings, key_of, on_demand=on_demand) if extra > 0 else None

    @property
    def running(self) -> int:
        """How many are ready (after taking in those that said so since)."""
        self._take_ready()
        return len(self._procs)

    def _spawn(self) -> _Process:
        if not self._atexit:  # they ignore SIGTERM: stopped here, even if no one else does
            self._atexit = bool(atexit.register(self.close))
        s = self.settings
        task = f"{self.task.__module__}:{self.task.__qualname__}"
        return _Process(Setup(tuple(sys.path), str(s.database_path.resolve()),
                              str(s.rules_file.resolve()), s.log_format, task))  # fmt: skip

    def start(self) -> None:
        """Start the processes and wait until they are ready: the second or so of
        imports and loading the rules would otherwise delay the first messages. One
        that does not start is left out (the thread does its share)."""
        self._starting += [self._spawn() for _ in range(self._missing())]
        fresh, self._starting = self._starting, []
        for proc in fresh:
            if proc.ready(START_SECONDS):
                self._procs.append(proc)
            else:
                log.error("a pipeline worker did not start; see its error above")
                proc.stop()

    def _missing(self) -> int:
        return self.processes - len(self._procs) - len(self._starting)

    def _get_going(self, jobs: int) -> None:
        """Kept up: start (and wait for) those missing. On demand: start those missing,
        without waiting, when ``jobs`` is a backlog."""
        if self.on_demand is None:
            self.start()
            return
        self._take_ready()
        missing = self._missing()
        if missing <= 0 or jobs < self.on_demand.start_at or time.monotonic() < self._not_before:
            return
        log.info("starting %d pipeline worker(s): %d messages waiting", missing, jobs)
        for _ in range(missing):
            self._starting.append(self._spawn())

    def _take_ready(self) -> None:
        """Those started that said they are ready since join the others (no waiting)."""
        for proc in list(self._starting):
            ready = proc.poll_ready()
            if ready is None:
                continue
            self._starting.remove(proc)
            if ready:
                proc.used = time.monotonic()
                self._procs.append(proc)
                log.info("pipeline worker %d ready", proc.pid)
            else:
                log.error("a pipeline worker did not start; see its error above")
                proc.stop()
                self._not_before = time.monotonic() + (self.on_demand or OnDemand()).idle_seconds

    def stop_idle(self) -> None:
        """On demand: stop those handed no job for the idle time (the pipeline thread
        calls this when it finds nothing to do)."""
        if self.on_demand is None:
            return
        self._take_ready()
        now = time.monotonic()
        for proc in list(self._procs):
            if not proc.jobs and now - proc.used >= self.on_demand.idle_seconds:
                self._procs.remove(proc)
                proc.stop()
                log.info("pipeline worker %d stopped: idle for %.0f s", proc.pid, now - proc.used)

    def ahead(
        self,
        rows: Iterable[Claimed],
        rules: RuleSet,
        own_addresses: tuple[str, ...],
        wanted: Callable[[Claimed], bool],
        before_waiting: Callable[[], object] = lambda: None,
    ) -> Iterator[tuple[Claimed, Prepared | Lost | None]]:
        """Each row, in order, with what a worker made of it: Prepared, Lost, or None
        (not worth a worker, ``wanted``; none ready for it; or the worker raised: the
        thread works it out). ``before_waiting`` is called before waiting for a worker's
        answer (the pipeline commits, so that no one waits for its write lock meanwhile)."""
        rows, key = list(rows), self.key_of(rules)
        jobs = {
            r.id: Job(r.id, r.mailbox, dt.datetime.fromisoformat(r.received_at), key, own_addresses)
            for r in rows
            if wanted(r)
        }
        if self.on_demand is not None and len(jobs) < 2:
            jobs = {}  # one message: the thread would only wait for the worker
            self.stop_idle()
        try:
            self._get_going(len(jobs))
        except OSError as exc:  # no process could be started (memory, process limits)
            log.error("pipeline workers could not start (%s): the thread does it all", exc)
            yield from ((row, None) for row in rows)
            return
        queue = collections.deque(jobs.values())
        held: dict[int, _Process] = {}
        answers: dict[int, Prepared | None] = {}
        for row in rows:
            self._take_ready()
            while queue and queue[0].row_id not in jobs:  # passed: the thread did them
                queue.popleft()
            self._hand_out(queue, held)
            proc = held.pop(row.id, None)
            if row.id in answers:
                yield row, answers.pop(row.id)
            elif proc is None:
                yield row, None
            else:
                if not _answered(proc):
                    before_waiting()
                yield row, self._answer(proc, jobs[row.id], queue, held, answers)
            jobs.pop(row.id, None)

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
        for proc in self._procs + self._starting:
            proc.stop()
        self._procs, self._starting = [], []
