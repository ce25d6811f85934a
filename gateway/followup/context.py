"""What a follow-up job is given: the scheduler (gateway/scheduler/runner.py) builds it,
the jobs read it. Apart from both, so that neither imports the other's module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store.db import Database


@dataclass
class JobContext:
    """What a job reads and writes; ``now`` is the clock of this run (aware)."""

    db: Database
    ruleset: RuleSet
    renderer: Renderer
    settings: Settings
    now: dt.datetime
    since: dt.datetime | None  # when the previous run ran (its clock), if any
    prepared: object = None  # what the job's ``prepare`` worked out, outside the write
    written: object = None  # what the claimed part wrote, for ``after`` (or ``ahead``'s)


@dataclass(frozen=True)
class Piece:
    """One mail of a job and what goes with it (a mark, a note), written ahead of the
    run's claim in a short transaction with other pieces (``scheduler.runner``).
    ``write`` writes it in the caller's transaction, or returns False when it was
    written already: by a run cut short and made up, or by another gateway. ``kind``:
    what the run's detail counts it as."""

    kind: str
    write: Callable[[], bool]


Job = Callable[[JobContext], str]
# A job may also have ``prepare(ctx)``: its heavy reading and rendering, run before the
# claim and outside any write transaction; the job then only writes what it made. And
# ``after(ctx)``: what is left to write once the run is claimed and recorded (notes on
# many cases), in short write transactions of its own. A job with many mails has
# ``ahead(ctx)``: its ``Piece``s, written before the claim in short transactions; the
# job, in the claim, then only says what was written (``written``: a Counter by kind).
