"""How the outbox hands one message over: SMTP to the smarthost, or a folder of .eml files.

``SmtpTransport`` keeps one connection for the batches of a burst (at most
``REUSE_SECONDS``) and turns the server's answers into
``TemporaryError`` (4xx, network trouble: try again later) or ``PermanentError`` (5xx).
Messages go to the socket without smtplib's whole-message copies, and a big stored one
is streamed from the database (``Stored``) rather than read into memory whole.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from gateway.auth import AuthError, build_provider, smtp_login
from gateway.settings import Smarthost
from gateway.store import BLOB_BYTES
from gateway.store.db import Database
from gateway.store.outbox import open_raw

log = logging.getLogger("gateway.outbox")

CHUNK = 1 << 20  # bytes read from the database and written to the socket at a time
REUSE_SECONDS = 300  # a connection is kept for the next batch this long at most (Postfix's)


class Stored:
    """The raw bytes of a big stored message, read from the database a piece at a time
    when sent, so that a 25 MB relay never has to be in memory whole."""

    def __init__(self, db: Database, row_id: int, size: int):
        self.db, self.row_id, self.size = db, row_id, size

    def chunks(self) -> Iterator[bytes]:
        with open_raw(self.db, self.row_id) as blob:
            while data := blob.read(CHUNK):
                yield data

    def lines(self) -> Iterator[bytes]:
        """The bytes in pieces of whole lines (each but the last ends in LF)."""
        rest = b""
        for chunk in self.chunks():
            data = rest + chunk if rest else chunk
            cut = data.rfind(b"\n") + 1
            if cut:
                yield data[:cut]
            rest = data[cut:]
        if rest:
            yield rest


class TemporaryError(Exception):
    """Try again later (4xx, network trouble)."""


class PermanentError(Exception):
    """Never going to work (5xx)."""


class SmtpTransport:
    """One SMTP connection to the smarthost, for a batch of messages and the batches that
    follow it at once (``Sender`` closes it when nothing more is due)."""

    def __init__(self, smarthost: Smarthost, reread: Callable[[], Smarthost | None] = lambda: None):
        self.host = smarthost
        self.conn: smtplib.SMTP | None = None
        self.opened = 0.0  # when conn was opened (monotonic)
        self.provider = build_provider(smarthost.oauth) if smarthost.oauth else None
        self.reread = reread  # the settings read again after a refused login
        self._refused = False  # the last login was refused: read the settings again first
        self._logged = False  # log a failing connection once, not on every retry

    def open(self) -> None:
        if self._refused:
            self._new_credentials()
        h = self.host
        try:
            if h.security == "ssl":
                conn = smtplib.SMTP_SSL(
                    h.host, h.port, timeout=h.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(h.host, h.port, timeout=h.timeout)
                if h.security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
            if self.provider is not None:
                smtp_login(conn, h.user, self.provider)  # XOAUTH2
            elif h.user:
                conn.login(h.user, h.password)
        except (OSError, smtplib.SMTPException, AuthError) as exc:
            if not self._logged:
                log.error("cannot connect to smarthost %s:%s: %s", h.host, h.port, exc)
                self._logged = True
            self._refused = isinstance(exc, smtplib.SMTPAuthenticationError | AuthError)
            raise TemporaryError(f"smarthost {h.host}:{h.port}: {exc}") from exc
        try:  # each message goes out in few writes: never hold the last one back (Nagle)
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (AttributeError, OSError):
            pass
        if self._logged:
            log.info("smarthost %s:%s reachable again", h.host, h.port)
        self._logged = self._refused = False
        self.conn, self.opened = conn, time.monotonic()

    def _new_credentials(self) -> None:
        """A refused login: use the settings' credentials if they changed (a new secret
        written to its ``*_file``), from the next attempt on."""
        fresh = self.reread()
        if fresh is not None and fresh != self.host:
            log.warning("smarthost: new credentials in the settings; using them")
            self.host = fresh
            self.provider = build_provider(fresh.oauth) if fresh.oauth else None

    def send(self, mail_from: str, recipients: list[str], raw: bytes | Stored) -> str:
        """Send one message; returns a note (refused recipients) or raises."""
        if self.conn is None:
            self.open()
        try:
            refused = _sendmail(self.conn, mail_from, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            kind = TemporaryError if any(400 <= c < 500 for c in codes) else PermanentError
            raise kind(f"all recipients refused: {_refusals(exc.recipients)}") from exc
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode("utf-8", "replace")
            kind = TemporaryError if 400 <= exc.smtp_code < 500 else PermanentError
            self._reset()
            raise kind(f"{exc.smtp_code} {text}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TemporaryError(f"connection lost: {exc}") from exc
        return f"refused: {_refusals(refused)}" if refused else ""

    def check(self) -> None:
        """Before a batch: a connection kept from the last one is closed unless the server
        still answers on it (NOOP), so that the next message opens a new one rather than
        fail on one the server has let go."""
        if self.conn is None:
            return
        if time.monotonic() - self.opened > REUSE_SECONDS:  # as Postfix: a login of hours
            self.close()  # may outlive its token or a server's limit on one session
            return
        try:
            if self.conn.noop()[0] == 250:
                return
        except (OSError, smtplib.SMTPException):
            pass
        self.close()

    def _reset(self) -> None:
        try:
            self.conn.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self.conn = None


def _sendmail(
    conn: smtplib.SMTP, mail_from: str, recipients: list[str], raw: bytes | Stored
) -> dict:
    """``conn.sendmail``, without its two whole-message copies when none is needed.

    smtplib rewrites line endings and doubles leading dots into new copies of the
    message. What the renderer makes already has CRLF line endings and, nearly always,
    no line starting with a dot: then the bytes go to the socket as they are. A big
    stored message is streamed from the database with the same rewriting, line by line.
    """
    if isinstance(raw, Stored):
        return _send_stored(conn, mail_from, recipients, raw)
    if raw.count(b"\n") != raw.count(b"\r\n"):
        # smtplib doubles leading dots but leaves bare LF alone, and the server only
        # unstuffs after CRLF: make every line end in CRLF first.
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
    if b"\n." in raw or raw[:1] == b".":
        return conn.sendmail(mail_from, recipients, raw)
    refused = _envelope(conn, mail_from, recipients, len(raw))
    end = b".\r\n" if raw.endswith(b"\r\n") else b"\r\n.\r\n"
    if len(raw) < BLOB_BYTES:
        conn.send(raw + end)  # one write: the terminator must not wait for an ACK
    else:
        conn.send(raw)
        conn.send(end)
    return _end_data(conn, refused)


def _envelope(conn: smtplib.SMTP, mail_from: str, recipients: list[str], size: int) -> dict:
    """MAIL, RCPT and DATA as ``sendmail`` does them; returns the refused recipients."""
    conn.ehlo_or_helo_if_needed()
    options = f" SIZE={size}" if conn.does_esmtp and conn.has_extn("size") else ""
    code, resp = _address_command(conn, "mail", "FROM:", mail_from, options)
    if code != 250:
        conn.rset()
        raise smtplib.SMTPSenderRefused(code, resp, mail_from)
    refused = {}
    for rcpt in recipients:
        code, resp = _address_command(conn, "rcpt", "TO:", rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, resp)
    if len(refused) == len(recipients):
        conn.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    conn.putcmd("data")
    code, resp = conn.getreply()
    if code != 354:
        conn.rset()
        raise smtplib.SMTPDataError(code, resp)
    return refused


# A bare address, nothing smtplib's address parser would change: no name, comment,
# route, quotes or space.
_BARE_ADDRESS = re.compile(r'[^\s<>()",;:\[\]\\@]+@[^\s<>()",;:\[\]\\@]+')


def _address_command(
    conn: smtplib.SMTP, verb: str, prefix: str, address: str, options: str = ""
) -> tuple[int, bytes]:
    """MAIL FROM or RCPT TO. A bare address goes out as ``<address>``, which is what
    smtplib's ``quoteaddr`` makes of it, without running it through
    email.utils.parseaddr first (a tenth of the sender's CPU per message); anything else
    goes through smtplib's own ``mail``/``rcpt``, parser and all."""
    if not _BARE_ADDRESS.fullmatch(address):
        command = conn.mail if verb == "mail" else conn.rcpt
        return command(address, options.split())
    conn.putcmd(verb, f"{prefix}<{address}>{options}")
    return conn.getreply()


def _end_data(conn: smtplib.SMTP, refused: dict) -> dict:
    """The server's answer to the data, which ended with the ".\r\n" just sent."""
    code, resp = conn.getreply()
    if code != 250:
        conn.rset()
        raise smtplib.SMTPDataError(code, resp)
    return refused


def _send_stored(conn: smtplib.SMTP, mail_from: str, recipients: list[str], raw: Stored) -> dict:
    """A stored message, streamed: the same bytes on the wire as ``_sendmail`` sends for
    it (CRLF line endings, leading dots doubled, a final CRLF), read in pieces of whole
    lines. SIZE is the size with CRLF line endings, as for a message in memory."""
    bare_lf = sum(piece.count(b"\n") - piece.count(b"\r\n") for piece in raw.lines())
    refused = _envelope(conn, mail_from, recipients, raw.size + bare_lf)
    held = b""  # the last piece goes out together with the terminator
    for piece in raw.lines():
        if held:
            conn.send(held)
        if bare_lf:
            piece = re.sub(rb"\r?\n", b"\r\n", piece)
        if piece[:1] == b".":
            piece = b"." + piece
        if b"\n." in piece:
            piece = piece.replace(b"\n.", b"\n..")
        held = piece
    conn.send(held + (b".\r\n" if held.endswith(b"\r\n") else b"\r\n.\r\n"))
    return _end_data(conn, refused)


def _refusals(refused: dict) -> str:
    return "; ".join(
        f"{rcpt} {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
        for rcpt, (code, msg) in refused.items()
    )


class FolderTransport:
    """No smarthost: write each message as an .eml file, for demos and first setup."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        log.warning("no smarthost configured: outgoing mail is written to %s", folder)

    def open(self) -> None:
        pass

    def send(
        self, mail_from: str, recipients: list[str], raw: bytes | Stored, name: str = ""
    ) -> str:
        path = self.folder / f"{name or 'message'}.eml"
        tmp = path.with_suffix(".tmp")
        envelope = f"X-Envelope-From: {mail_from}\r\nX-Envelope-To: {', '.join(recipients)}\r\n"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(envelope.encode())
            for chunk in raw.chunks() if isinstance(raw, Stored) else [raw]:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return ""

    def check(self) -> None:
        pass

    def close(self) -> None:
        pass
