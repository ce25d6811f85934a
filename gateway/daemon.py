"""``gateway serve``: intake, pipeline and sender in one process, stopped by SIGTERM.

Threads, each with its own SQLite connection: one per IMAP mailbox, the aiosmtpd
listener(s), the pipeline (decides what intake stored) and the sender (delivers the
outbox). Intake wakes the pipeline, the pipeline wakes the sender, so a message goes
through in milliseconds rather than at the next poll. On SIGTERM intake stops first,
the workers finish the batch they hold, and nothing stored is lost: what was not
decided or sent yet is still in its state in the database for the next start. The
scheduler (APScheduler's own thread) runs the follow-up jobs of rules.yaml; the
monitor thread raises alerts. SIGHUP reloads rules.yaml, keeping the old rules when
the new file is broken. With ``pipeline_workers`` above 1, worker processes parse and
de-identify ahead of the pipeline thread (``gateway/prepare.py``) while there is a
backlog (``gateway/workers.py``).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading

from gateway import alerts, logs, metrics
from gateway.intake import smtp as smtp_intake
from gateway.intake.imap import ImapIntake
from gateway.merging import Merger
from gateway.monitor import Monitor
from gateway.outbox.sender import Sender, recover
from gateway.pipeline import Pipeline
from gateway.prepare import load_keyed
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.rules.loader import RulesError
from gateway.scheduler.runner import Runner, Scheduler
from gateway.settings import Settings, reread_mailbox
from gateway.store import indexing, open_db
from gateway.store.checkpoints import Checkpointer
from gateway.workers import Workers

log = logging.getLogger("gateway")


class Rules:
    """The current rule set; ``reload()`` swaps it only when the new file is good."""

    def __init__(self, settings: Settings):
        self.path = settings.rules_file
        # the rules and the digest of the file they came from, swapped as one value
        self._loaded: tuple[RuleSet, str | None] = load_keyed(self.path)
        self.mtime = self._mtime()

    @property
    def current(self) -> RuleSet:
        return self._loaded[0]

    def key_of(self, ruleset: RuleSet) -> str | None:
        """The digest of the file ``ruleset`` was loaded from, while it is the current
        one (the pipeline's workers load the same file; see gateway/prepare.py)."""
        current, key = self._loaded
        return key if ruleset is current else None

    def _mtime(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None

    def reload_if_changed(self) -> bool:
        """Reload when the file changed on disk (an editor saved it); True if reloaded."""
        mtime = self._mtime()
        if mtime is None or mtime == self.mtime:
            return False
        self.mtime = mtime
        return self.reload()

    def __call__(self):
        return self.current

    def reload(self) -> bool:
        self.mtime = self._mtime()
        try:
            self._loaded = load_keyed(self.path)
        except RulesError as exc:
            for problem in exc.problems:
                log.error("rules not reloaded: %s", problem)
            return False
        log.info("rules reloaded from %s", self.path)
        return True


class Gateway:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.rules = Rules(settings)  # raises RulesError: never start on broken rules
        self.renderer = self._renderer()
        open_db(settings.database_path).close()  # create and migrate once, up front
        self.stop = threading.Event()
        self.wake_pipeline = threading.Event()
        self.wake_sender = threading.Event()
        self.threads: list[threading.Thread] = []
        self.listeners = []
        self.metrics = None  # the /metrics server, when metrics_port is set
        self.web = None  # the web view's server, when web_port is set
        self.scheduler: Scheduler | None = None
        self.workers: Workers | None = None  # the pipeline's worker processes (start())
        self.checkpointer: Checkpointer | None = None  # the WAL's checkpoints (start())

    def start(self) -> None:
        s = self.settings
        # The write-ahead log is copied back by a thread of its own, not by the writers.
        self.checkpointer = Checkpointer(str(s.database_path.resolve())).start()
        handler = smtp_intake.IntakeHandler(
            s.database_path, lambda a: self.rules().mailbox_for(a), self.wake_pipeline.set
        )
        self.handler = handler
        if s.smtp_intake_port is not None:
            self.listeners.append(
                smtp_intake.start(handler, s.smtp_intake_host, s.smtp_intake_port)
            )
        if s.lmtp_intake_port is not None:
            self.listeners.append(
                smtp_intake.start(handler, s.smtp_intake_host, s.lmtp_intake_port, lmtp=True)
            )
        for box in s.imap:
            intake = ImapIntake(
                box,
                open_db(s.database_path),
                self.stop,
                self.wake_pipeline.set,
                reread=lambda name=box.mailbox: reread_mailbox(s, name),
            )
            self._thread(intake.run, f"imap-{box.mailbox}")
        # The pipeline's worker processes: the pipeline thread starts them for a backlog.
        self.workers = Workers.for_settings(s, self.rules.key_of)  # None: pipeline_workers = 1
        if self.workers is not None and self.workers.on_demand is None:
            self.workers.start()  # kept up (a fault point armed): before the first message
        self._thread(self._pipeline_loop, "pipeline")
        self._thread(self._watch_rules, "rules-watch")
        # Deliveries a stop left in 'sending' are due again: done once, before any
        # sender claims rows, so that no sender takes another's delivery for a lost one.
        db = open_db(s.database_path)
        if recovered := recover(db):
            log.info("outbox: %d delivery(ies) interrupted by a stop are due again", recovered)
        db.close()
        connections = s.smarthost.connections if s.smarthost else 1
        for n in range(connections):
            self._thread(self._sender_loop, "sender" + (f"-{n + 1}" if connections > 1 else ""))
        self._thread(self._monitor_loop, "monitor")
        self.scheduler = Scheduler(
            Runner(open_db(s.database_path), self.rules, self._renderer(), s), self.wake_sender.set
        )
        self.scheduler.start()  # its own thread; makes up a run missed while stopped
        if s.metrics_port is not None:
            self.metrics = metrics.serve(s.database_path, s.metrics_host, s.metrics_port)
            log.info("metrics on http://%s:%s/metrics", s.metrics_host, s.metrics_port)
        if getattr(s, "web_port", None) is not None:
            self._start_web()
        log.info(
            "gateway ready: database %s, %d IMAP mailbox(es), relays via %s",
            s.database_path,
            len(s.imap),
            f"{s.smarthost.host}:{s.smarthost.port}" if s.smarthost else s.outbox_path,
        )

    def _start_web(self) -> None:
        """The web view (gateway/web), in threads of its own: mail it queues (sign-in
        links, decisions) wakes the sender, a release from quarantine the pipeline."""
        from gateway.web import server  # Flask is only loaded when the web view is on

        web = server.make_web(
            self.settings, self.rules, on_queued=self.wake_sender.set,
            on_released=self.wake_pipeline.set,
        )  # fmt: skip
        self.web = server.start(web)

    def _thread(self, target, name: str) -> None:
        def named():
            _os_thread_name(name)
            target()

        thread = threading.Thread(target=named, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _pipeline_loop(self) -> None:
        s = self.settings
        db = open_db(s.database_path)
        pipeline = Pipeline(db, self.rules, self.renderer, s, self.workers, self.wake_sender.set)
        merger = Merger(db)  # the search indexes' merging, between batches (merging.py)
        with indexing.when_idle(db.location):  # and their texts, when idle (store/indexing.py)
            self._pipeline_batches(pipeline, merger)

    def _pipeline_batches(self, pipeline: Pipeline, merger: Merger) -> None:
        while not self.stop.is_set():
            self.wake_pipeline.clear()
            try:
                if pipeline.process_batch():
                    self.wake_sender.set()
                    merger.step(busy=True)
                    continue
                if merger.step(busy=False):
                    continue
            except Exception:  # e.g. database locked or disk full: say so, wait, retry
                log.exception("pipeline batch failed; trying again shortly")
            self.wake_pipeline.wait(1.0)

    def _sender_loop(self) -> None:
        """One delivery connection: claims due rows and sends them (several of these run
        at once, each claiming its own rows)."""
        db = open_db(self.settings.database_path)
        sender = Sender(db, self.settings, self._delivery_failed)
        while not self.stop.is_set():
            self.wake_sender.clear()
            try:
                if sender.deliver_due():
                    continue
                wait = sender.seconds_until_due()
            except Exception:
                log.exception("outbox batch failed; trying again shortly")
                wait = 5.0
            self.wake_sender.wait(min(wait if wait is not None else 1.0, 1.0))
        try:
            sender.close()
        except Exception:  # the rows stay 'sending': due again at the next start
            log.exception("outbox: deliveries could not be recorded before stopping")

    def _renderer(self) -> Renderer:
        """A renderer of its own for a thread that renders while the pipeline does."""
        s = self.settings
        return Renderer(s.gateway_address, s.gateway_name, s.templates_dir, rules=self.rules)

    def _monitor_loop(self) -> None:
        """Alerts for a mailbox not read, a login refused, an outbox failing (own renderer:
        this thread renders while the pipeline does)."""
        s = self.settings
        renderer = self._renderer()
        db = open_db(s.database_path)
        Monitor(db, s, self.rules, renderer, on_queued=self.wake_sender.set).run(self.stop)

    def _watch_rules(self) -> None:
        """rules.yaml saved: reload it (the old rules stay when the new file is broken)."""
        while not self.stop.wait(2.0):
            self.rules.reload_if_changed()

    def _delivery_failed(self, db, row, error) -> None:
        alerts.delivery_failed(db, row, error, self.rules(), self.renderer)

    def shutdown(self) -> None:
        log.info("stopping: intake first, then the workers finish their batch")
        for listener in self.listeners:
            listener.stop()
        if self.metrics is not None:
            self.metrics.shutdown()
            self.metrics.server_close()
        if self.web is not None:
            self.web.shutdown()
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.stop.set()
        self.wake_pipeline.set()
        self.wake_sender.set()
        for thread in self.threads:
            thread.join(timeout=30)
        if self.workers is not None:  # the pipeline thread has finished its batch
            self.workers.close()
        self.handler.close()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        log.info("stopped")


def run(settings: Settings, verbose: bool = False) -> int:
    previous = os.umask(0o077)  # whatever the gateway writes is for its own user only
    try:
        return _run(settings, verbose)
    finally:
        os.umask(previous)


def _os_thread_name(name: str) -> None:
    """Name the thread for the OS too (``top -H``, ``ps -L``): which one is busy."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.prctl(15, f"avvik-{name}"[:15].encode(), 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _limit_malloc_arenas() -> None:
    """glibc gives each thread its own malloc arena, and keeps freed big buffers in the
    heap; with big messages passing through several threads that multiplies the
    resident memory. Two arenas and a fixed mmap threshold keep it near the work."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        # A fixed mmap threshold: big buffers (a 25 MB message) are mapped and given back
        # when freed, instead of raising the threshold and staying in the heap for good.
        libc.mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def _run(settings: Settings, verbose: bool) -> int:
    _limit_malloc_arenas()
    logs.setup(settings.log_format, verbose)
    try:
        gateway = Gateway(settings)
    except RulesError as exc:
        for problem in exc.problems:
            log.error("%s", problem)
        log.error("not started: fix %s (gateway check-rules shows the same)", settings.rules_file)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: gateway.stop.set())
    signal.signal(signal.SIGINT, lambda *_: gateway.stop.set())
    signal.signal(signal.SIGHUP, lambda *_: gateway.rules.reload())
    try:
        gateway.start()
    except OSError as exc:
        log.error("cannot start: %s", exc)
        gateway.shutdown()
        return 1
    gateway.stop.wait()
    gateway.shutdown()
    return 0
