"""Run a read in a thread that is abandoned at its deadline, without a new thread per read.

A hostile file can keep a parser busy as long as it likes (pypdf has had such loops), and
Python cannot stop a thread: so a read runs in a worker thread, and the caller waits for
it only until the deadline. Then the worker is left to its read (a daemon: it ends with
the process) and never gets another. Starting a thread for every read cost more than
reading a small PDF (its start and the hand-over, 0.2-0.4 ms an attachment), so a worker
whose read kept to its time waits for the next one.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
_IDLE_MAX = 4  # workers kept waiting; more at once (reads in several threads) end after theirs


class _Worker:
    """A daemon thread that runs one job after another until it gets None."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        threading.Thread(target=self._run, daemon=True, name="scan").start()

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            job()


_idle: list[_Worker] = []
_lock = threading.Lock()


def within(seconds: float, read: Callable[[], T]) -> T | None:
    """What `read` returns, or None when it takes longer than `seconds` or raises."""
    with _lock:
        worker = _idle.pop() if _idle else None
    worker = worker or _Worker()
    result: list[T] = []
    done = threading.Event()

    def job() -> None:
        try:
            result.append(read())
        except BaseException:  # as an uncaught exception ended the thread of one read
            log.exception("reading an attachment failed")
        finally:
            done.set()

    worker.jobs.put(job)
    if not done.wait(seconds):
        worker.jobs.put(None)  # it ends when its read does, if ever
        return None
    with _lock:
        kept = len(_idle) < _IDLE_MAX
        if kept:
            _idle.append(worker)
    if not kept:
        worker.jobs.put(None)
    return result[0] if result else None


def _forget() -> None:
    """In a forked child: the parent's workers are not there, only their queues."""
    global _lock
    _idle.clear()
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget)
