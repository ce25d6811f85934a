"""Worker tasks for tests/test_workers.py: ``prepare`` as it runs, but for a message that
says so, a worker that dies or hangs. Imported by name in the worker processes."""

from __future__ import annotations

import os
import signal
import time

from gateway import prepare
from gateway.store import get_raw

KILL, HANG = b"X-Test-Worker: kill", b"X-Test-Worker: hang"


def dies_or_hangs(job: prepare.Job) -> prepare.Prepared:
    raw = get_raw(prepare._Worker.db, job.row_id) or b""
    if KILL in raw:
        os.kill(os.getpid(), signal.SIGKILL)
    if HANG in raw:
        time.sleep(3600)
    return prepare.prepare(job)


def slow(job: prepare.Job) -> prepare.Prepared:
    """``prepare``, a tenth of a second late: the pipeline thread always has to wait."""
    time.sleep(0.1)
    return prepare.prepare(job)
