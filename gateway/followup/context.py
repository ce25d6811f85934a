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
    written: object = None  # what the claimed part wrote, for the job's ``after``


Job = Callable[[JobContext], str]
# A job may also have ``prepare(ctx)``: its heavy reading and rendering, run before the
# claim and outside any write transaction; the job then only writes what it made. And
# ``after(ctx)``: what is left to write once the run is claimed and recorded (notes on
# many cases), in short write transactions of its own.
