"""SMTP and LMTP intake with aiosmtpd: a local MTA (or anyone on loopback) delivers here.

The handler only accepts recipients that are intake mailboxes (plus-addresses too) and
answers 250 after the message is stored; no rules run in the SMTP dialogue. A store
that fails answers 451, so the sending MTA keeps the message and tries again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from gateway.intake import accept
from gateway.store import open_db

log = logging.getLogger("gateway.intake.smtp")

S250_OK = "250 OK: stored"
ERR_451 = "451 4.3.0 Could not store the message, try again later"
ERR_550_MAILBOX = "550 5.1.1 No such intake mailbox here"
ERR_554_NO_RCPT = "554 5.5.1 No valid recipients"


class IntakeHandler:
    """aiosmtpd handler. ``mailbox_for(address)`` maps a recipient to a mailbox name."""

    def __init__(
        self,
        db_path: Path,
        mailbox_for: Callable[[str], str | None],
        on_stored: Callable[[], None] = lambda: None,
    ):
        self.db_path, self.mailbox_for, self.on_stored = db_path, mailbox_for, on_stored
        self._db = None
        self._lock = threading.Lock()  # one SQLite connection, used from executor threads

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mailbox_for(address) is None:
            return ERR_550_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        mailboxes = [m for m in map(self.mailbox_for, envelope.rcpt_tos) if m]
        if not mailboxes:
            return ERR_554_NO_RCPT
        # The first intake mailbox decides; one copy only, so one case and one relay.
        raw = b"Return-Path: <%s>\r\n" % (envelope.mail_from or "").encode("utf-8", "replace")
        raw += envelope.original_content or envelope.content
        source = f"smtp from {session.peer[0] if session.peer else '?'} to {envelope.rcpt_tos[0]}"
        loop = asyncio.get_running_loop()
        try:
            row_id = await loop.run_in_executor(None, self._store, raw, mailboxes[0], source)
        except Exception:
            log.exception("could not store a message from %s", envelope.mail_from)
            return ERR_451
        log.debug("stored message %s for mailbox %s", row_id, mailboxes[0])
        self.on_stored()
        return S250_OK

    def _store(self, raw: bytes, mailbox: str, source: str) -> int:
        with self._lock:
            if self._db is None:
                self._db = open_db(self.db_path)
            return accept(self._db, raw, mailbox, source)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class LMTPController(Controller):
    """The same handler behind LMTP, for an MTA that delivers to mailboxes by LMTP."""

    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def start(handler: IntakeHandler, host: str, port: int, lmtp: bool = False) -> Controller:
    """Start a listener in its own thread; ``.stop()`` it at shutdown."""
    cls = LMTPController if lmtp else Controller
    controller = cls(
        handler, hostname=host, port=port, data_size_limit=100 * 1024 * 1024, decode_data=False
    )
    controller.start()
    log.info("%s intake listening on %s:%s", "LMTP" if lmtp else "SMTP", host, port)
    return controller
