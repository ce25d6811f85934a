"""The pipeline's pure CPU work, as a worker process does it (``gateway/workers.py``).

What depends only on a message's stored bytes and the rules (the parse, the rules.yaml
decision, and the de-identified message when that decision is a relay to a party that
must not see personal data) is worked out here, in worker processes, while the
pipeline thread carries out the messages before it. The pipeline thread keeps the rest,
in the same order as without workers: the claim, the decision chain (it reads the case
log), carrying the plan out, and every write. A worker only reads; what it hands back
is what the thread would have worked out itself, with the same functions, from the
same bytes and the same rules, so it saves the thread the work and changes nothing else.

The rules: each worker loads rules.yaml itself. A job names the pipeline's rules by the
digest of the file they were loaded from (``load_keyed``), and a worker decides only
with rules loaded from a file with that digest; otherwise it only parses, and the
thread decides. A worker that raises hands the message back unprepared: the thread
works it out and meets the same error.
"""

from __future__ import annotations

import ctypes
import dataclasses
import datetime as dt
import hashlib
import importlib
import os
import signal
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from gateway import logs
from gateway.decide.yaml_rules import decide
from gateway.faults import fault
from gateway.models import Decision, Outcome, ParsedMessage
from gateway.parse import UnparseableMessage, parse
from gateway.privacy.policy import Deidentified, deidentify, needs_redaction
from gateway.rules.base import RuleSet
from gateway.rules.loader import RulesError, load_rules
from gateway.store import get_raw, open_db

# Bigger messages are worked out in the pipeline thread as before: their bytes and
# parse are not copied between processes (memory: a 25 MB message would be held twice).
PREPARE_MAX_BYTES = 4_000_000


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


@dataclass(frozen=True)
class Setup:
    """What a worker needs to start, sent down its pipe first (gateway/workers.py)."""

    sys_path: tuple[str, ...]  # the gateway's: where the task's module is found
    db_path: str
    rules_path: str
    log_format: str
    task: str  # "module:function" run for each job: ``prepare`` (tests: one that dies)


def main() -> None:
    """A worker process: ``python -c 'from gateway.prepare import main; main()' FD``,
    FD its end of the pipe (gateway/workers.py). A plain child of the gateway, not a
    multiprocessing one: no resource tracker process beside it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # see _start
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = Connection(int(sys.argv[1]))
    threading.Thread(target=_orphaned, daemon=True).start()
    try:
        setup = conn.recv()
    except (EOFError, OSError):
        return
    sys.path.extend(p for p in setup.sys_path if p not in sys.path)
    module, _, name = setup.task.partition(":")
    task = getattr(importlib.import_module(module), name)
    serve(conn, setup.db_path, setup.rules_path, setup.log_format, task)


def serve(conn: Connection, db_path: str, rules_path: str, log_format: str, task) -> None:
    """Prepare each job that comes down the pipe and send back its row id with what
    ``task`` (``prepare``) made of it, or None when it raised (the pipeline thread then
    works the message out and meets the same error) or cannot be sent. Ends when the
    gateway closes its end."""
    _start(db_path, rules_path, log_format)
    conn.send((None, None))  # ready: imported, and the rules loaded
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = task(job)
        except Exception:  # noqa: BLE001 -- see above
            result = None
        try:
            conn.send((job.row_id, result))
        except (EOFError, OSError):
            return
        except Exception:  # noqa: BLE001 -- not picklable: pickling fails before a byte is sent
            conn.send((job.row_id, None))


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
    try:  # now rather than at the first message (it is most likely the pipeline's)
        _Worker.rules, _Worker.key = load_keyed(_Worker.path)
    except RulesError:
        pass


def _orphaned() -> None:
    """Exit when the gateway is gone, also while a message keeps this process busy: the
    gateway holds the other end of this process's stdin and never writes to it, so it
    reads end-of-file when the gateway closes it (``stop``) or dies (even by SIGKILL)."""
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
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
