"""Attachment reads run in worker threads abandoned at the deadline
(gateway/privacy/scanners/deadline.py): a worker whose read kept to its time takes the
next read, one that did not is never used again, and a forked child starts its own."""

from __future__ import annotations

import os
import threading
import time

from gateway.privacy.scanners import deadline


def test_a_worker_that_kept_to_its_time_takes_the_next_read():
    threads = {deadline.within(5, threading.get_ident) for _ in range(20)}
    assert len(threads) == 1
    assert threading.get_ident() not in threads  # not the caller's own thread


def test_a_read_past_its_deadline_is_abandoned_with_its_worker():
    stuck: list[int] = []
    release = threading.Event()

    def hangs() -> None:
        stuck.append(threading.get_ident())
        release.wait(5)

    started = time.monotonic()
    assert deadline.within(0.2, hangs) is None
    assert time.monotonic() - started < 2
    assert deadline.within(5, threading.get_ident) not in stuck
    release.set()


def test_a_read_that_raises_gives_nothing_and_the_worker_goes_on():
    def boom() -> None:
        raise ValueError("broken file")

    assert deadline.within(5, boom) is None
    assert deadline.within(5, lambda: 42) == 42


def test_a_forked_child_does_not_wait_for_its_parents_workers():
    deadline.within(5, lambda: None)  # a worker waits in the parent
    pid = os.fork()
    if pid == 0:  # the child: the parent's worker threads are not here
        os._exit(0 if deadline.within(5, lambda: 7) == 7 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
