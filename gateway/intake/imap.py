"""IMAP intake with imapclient: one connection per mailbox, IDLE where offered.

Each round fetches new messages by UID in batches (BODY.PEEK[], so nothing is marked
read), stores the batch and the new last UID in one transaction, and only then moves
the messages to the processed folder (MOVE, or COPY + \\Deleted + EXPUNGE where MOVE is
missing). UIDVALIDITY is remembered per mailbox: when the server resets it, the last UID
starts again from zero. A dropped connection is reopened with backoff.
"""

from __future__ import annotations

import errno
import logging
import ssl
import threading
import time
from collections.abc import Callable

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import LoginError

from gateway.auth import AuthError, build_provider, imap_login
from gateway.faults import fault
from gateway.intake import arrival
from gateway.settings import ImapMailbox
from gateway.store import now, write
from gateway.store.db import Database, DatabaseError
from gateway.store.intake import Arrival, position, record_health, save_position, store_arrivals

log = logging.getLogger("gateway.intake.imap")
IDLE_RENEW_SECONDS = 25 * 60  # servers may drop an IDLE after 29 minutes (RFC 2177)
IDLE_CHECK_SECONDS = 1.0  # how often IDLE looks at the stop flag
LOGIN_TIMEOUT = 15.0
BATCH_BYTES = 8 * 1024 * 1024
READ_TIMEOUT = 120.0
# How ``mailboxes.last_error`` starts when the server or the token server refused us: the
# monitor alerts at once then, since waiting does not mend an expired secret.
LOGIN_REFUSED = "login refused"


def _quiet_imaplib(client: IMAPClient) -> None:
    """imapclient sets imaplib's debug level to 5 to route its messages to logging, and at
    that level imaplib formats the repr() of every literal it reads, twice, whether or not
    debug logging is on: for a 25 MB message, about 100 MB of text made and thrown away."""
    imap = getattr(client, "_imap", None)
    if imap is not None and getattr(imap, "debug", 0):
        imap.debug = 0


def _arrived_meanwhile(client: IMAPClient) -> bool:
    """True when the server reported new mail while we searched and fetched.

    A message that arrives after SEARCH is announced (``* N EXISTS``) in the answer to
    the next command, FETCH or MOVE, and imaplib keeps it aside; the server will not
    announce it again in IDLE, so without this check it would wait for the next IDLE
    renewal, 25 minutes later.
    """
    pending = client._imap.untagged_responses
    return bool(pending.pop("EXISTS", None) or pending.pop("RECENT", None))


def _is_disk_error(exc: OSError) -> bool:
    return exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)


def _is_login_refused(exc: Exception) -> bool:
    """The password or token was refused, as opposed to a server we could not reach (an
    unreachable token server, or Dovecot's "[UNAVAILABLE]" answer, is a network matter)."""
    if isinstance(exc, AuthError):
        return not exc.transient
    return isinstance(exc, LoginError) and "UNAVAILABLE" not in str(exc)


class ImapIntake:
    """Reads one mailbox until ``stop`` is set; ``on_stored()`` wakes the pipeline."""

    def __init__(
        self,
        config: ImapMailbox,
        db: Database,
        stop: threading.Event,
        on_stored: Callable[[], None] = lambda: None,
        reread: Callable[[], ImapMailbox | None] = lambda: None,
    ):
        self.config, self.db, self.stop, self.on_stored = config, db, stop, on_stored
        self.reread = reread  # the settings read again after a refused login
        self.connected = False
        # Built once: it keeps the token (and its cache on disk) between connections.
        self.provider = build_provider(config.oauth) if config.oauth else None

    def _new_credentials(self) -> bool:
        """Read the settings again; True (and use them) when the credentials changed, e.g.
        an administrator wrote a new client secret to its ``*_file``."""
        fresh = self.reread()
        if fresh is None or fresh == self.config:
            return False
        log.warning("%s: new credentials in the settings; logging in with them", fresh.mailbox)
        self.config = fresh
        self.provider = build_provider(fresh.oauth) if fresh.oauth else None
        return True

    def _create_client(self) -> IMAPClient:
        """Connect and log in; the one place that talks to the network (tests inject)."""
        c = self.config
        context = ssl.create_default_context()
        # Short time-outs until logged in: a server that accepts but never greets or never
        # answers the login (one that is restarting) must not hold intake for long. After
        # login, reads get more time, for big messages on slow links.
        timeout = SocketTimeout(connect=10, read=LOGIN_TIMEOUT)
        client = IMAPClient(
            c.host, port=c.port, ssl=c.security == "ssl", ssl_context=context, timeout=timeout
        )
        if c.security == "starttls":
            client.starttls(context)
        if self.provider is not None:
            imap_login(client, c.user, self.provider)  # XOAUTH2, one refresh on refusal
        else:
            client.login(c.user, c.password)
        client.socket().settimeout(READ_TIMEOUT)
        return client

    def _health(self, **values) -> None:
        """Record the mailbox's state for ``gateway status`` (best effort: never fails intake)."""
        try:
            with write(self.db):
                record_health(self.db, self.config.mailbox, values)
        except DatabaseError:
            pass

    def run(self) -> None:
        """Fetch, then wait (IDLE or poll), until stopped; reconnect with backoff."""
        backoff = 1.0
        while not self.stop.is_set():
            try:
                client = self._create_client()
            except Exception as exc:
                backoff = self._not_connected(exc, backoff)
                continue
            self.connected, backoff = True, 1.0
            self._health(connected=1)
            log.info(
                "%s: connected to %s:%s", self.config.mailbox, self.config.host, self.config.port
            )
            try:
                self._session(client)
            except (DatabaseError, OSError) as exc:
                if not isinstance(exc, DatabaseError) and not _is_disk_error(exc):
                    self._lost(exc)
                    continue
                # Database locked or disk full: nothing was moved on the server, so the
                # messages are fetched again on the next round. Wait, do not spin.
                log.error(
                    "%s: cannot store messages (%s); they stay on the server, "
                    "trying again in %.0f s",
                    self.config.mailbox,
                    exc,
                    backoff,
                )
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 300.0)
            except Exception as exc:
                self._lost(exc)
            finally:
                self._disconnect(client)

    def _not_connected(self, exc: Exception, backoff: float) -> float:
        """Record and log a failed connection or login, wait; returns the next backoff."""
        what = LOGIN_REFUSED + " by" if _is_login_refused(exc) else "cannot connect to"
        self._health(connected=0, last_error=f"{what} {self.config.host}: {exc}"[:500],
                     last_error_at=now())  # fmt: skip
        log.error(
            "%s: %s %s: %s (again in %.0f s)", self.config.mailbox, what, self.config.host, exc,
            backoff,
        )  # fmt: skip
        self.stop.wait(backoff)
        if _is_login_refused(exc) and self._new_credentials():
            return 1.0
        return min(backoff * 2, 300.0)

    def _lost(self, exc: Exception) -> None:
        log.warning("%s: connection lost: %s", self.config.mailbox, exc)
        self._health(last_error=f"connection lost: {exc}"[:500], last_error_at=now())

    def _disconnect(self, client: IMAPClient) -> None:
        self.connected = False
        self._health(connected=0)
        try:
            client.logout()
        except Exception:
            pass

    def _session(self, client: IMAPClient) -> None:
        can_idle = self.config.idle and client.has_capability("IDLE")
        while not self.stop.is_set():
            self.poll_once(client)
            self._health(last_fetch_at=now())  # read successfully, new mail or not
            if _arrived_meanwhile(client):
                continue  # told during the fetch, not again in IDLE: read it now
            if can_idle:
                self._idle(client)
            else:
                client.noop()
                self.stop.wait(self.config.poll_interval)

    def poll_once(self, client: IMAPClient) -> int:
        """One round: make sure the processed folder exists, select, fetch what is new."""
        c = self.config
        if not client.folder_exists(c.processed_folder):
            client.create_folder(c.processed_folder)
        info = client.select_folder(c.folder)
        client._imap.untagged_responses.clear()  # so that _arrived_meanwhile sees only news
        return self.fetch_new(client, int(info[b"UIDVALIDITY"]))

    def _idle(self, client: IMAPClient) -> None:
        """Wait in IDLE until the server reports a change, the renewal time, or stop.

        imapclient's ``idle_check`` swallows an EOF and returns no responses, so a
        server that closed the connection would leave us waiting on a dead socket for
        25 minutes. A check that returns early with nothing means just that: reconnect.
        """
        client.idle()
        started = time.monotonic()
        while not self.stop.is_set() and time.monotonic() - started < IDLE_RENEW_SECONDS:
            check_started = time.monotonic()
            responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
            if not responses and time.monotonic() - check_started < IDLE_CHECK_SECONDS / 2:
                raise ConnectionError("the server closed the connection during IDLE")
            if any(
                isinstance(r, tuple) and r[1:2] in ((b"EXISTS",), (b"RECENT",)) for r in responses
            ):
                break
        client.idle_done()

    def _state(self, uidvalidity: int) -> int:
        row = position(self.db, self.config.mailbox)
        if row is None or row[0] != uidvalidity:
            if row is not None and row[0] is not None:  # not a row made by _health
                log.warning(
                    "%s: UIDVALIDITY changed (%s -> %s): reading all again",
                    self.config.mailbox,
                    row[0],
                    uidvalidity,
                )
            return 0
        return row[1]

    def fetch_new(self, client: IMAPClient, uidvalidity: int) -> int:
        """Store every message above the last UID, batch by batch; returns the count."""
        c = self.config
        last = self._state(uidvalidity)
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        stored = 0
        _quiet_imaplib(client)
        for batch in self._batches(client, uids):
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            rows, done = [], []
            for uid in batch:
                data = fetched.pop(uid, {}).get(b"BODY[]")
                if data is None:  # expunged meanwhile by someone else
                    continue
                rows.append(arrival(bytes(data), c.mailbox, f"imap {c.mailbox} uid {uid}"))
                done.append(uid)
            fetched = data = None  # the batch lives on in rows only
            self._store(rows, uidvalidity, batch[-1])
            fault("after-store")
            stored += len(rows)
            del rows  # stored: the pipeline reads them from the database, not from here
            if done:
                self.on_stored()
            self._move(client, done)  # only after the batch is stored
        self._move_leftovers(client, last)
        return stored

    def _batches(self, client: IMAPClient, uids: list[int]) -> list[list[int]]:
        """Batches of at most ``batch_size`` messages and about BATCH_BYTES: fifty small
        reports in one round trip, but never fifty 25 MB messages in memory at once."""
        if not uids:
            return []
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        batches: list[list[int]] = [[]]
        total = 0
        for uid in uids:
            size = int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0))
            if batches[-1] and (
                len(batches[-1]) >= self.config.batch_size or total + size > BATCH_BYTES
            ):
                batches.append([])
                total = 0
            batches[-1].append(uid)
            total += size
        return batches

    def _store(self, rows: list[Arrival], uidvalidity: int, last_uid: int) -> None:
        with write(self.db):
            if rows:
                store_arrivals(self.db, rows)
            save_position(self.db, self.config.mailbox, uidvalidity, last_uid)

    def _move(self, client: IMAPClient, uids: list[int]) -> None:
        if not uids:
            return
        target = self.config.processed_folder
        if client.has_capability("MOVE"):
            client.move(uids, target)
        else:
            client.copy(uids, target)
            client.delete_messages(uids)
            if client.has_capability("UIDPLUS"):
                client.uid_expunge(uids)
            else:
                client.expunge()

    def _move_leftovers(self, client: IMAPClient, last: int) -> None:
        """Messages stored earlier but not moved (a crash between store and move)."""
        if last > 0:
            leftovers = client.search(["UID", f"1:{last}"])
            if leftovers:
                log.info(
                    "%s: moving %d already stored message(s)", self.config.mailbox, len(leftovers)
                )
                self._move(client, [u for u in leftovers if u <= last])
