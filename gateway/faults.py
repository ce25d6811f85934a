"""Fault points for the crash tests: kill the process at a named step of the pipeline.

``AVVIK_FAULT=after-store`` (or after-decide, before-send, after-send) makes the
gateway SIGKILL itself when it reaches that step, as a power cut would. Nothing is
cleaned up, nothing is flushed: the tests then restart it and check that every message
ends relayed exactly once or held, none lost. Unset in production, this costs one
dictionary look-up per step.
"""

from __future__ import annotations

import os
import signal

POINTS = ("after-store", "after-decide", "before-send", "after-send")


def fault(point: str) -> None:
    """Die here if $AVVIK_FAULT names this point."""
    if os.environ.get("AVVIK_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
