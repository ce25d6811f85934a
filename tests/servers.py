"""Real servers on loopback for the tests: a private Dovecot IMAP server and an aiosmtpd sink.

Nothing here is mocked: the gateway talks real IMAP and real SMTP to these, so the tests
exercise the same protocol paths as production. Every socket binds to 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import email
import email.policy
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from imapclient import IMAPClient

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port that was free a moment ago (the kernel picks it; see aiosmtpd issue #388)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Dovecot
# --------------------------------------------------------------------------------------------


def find_dovecot() -> str | None:
    """Path of the dovecot binary; /usr/sbin is often missing from a non-root PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def dovecot_version(binary: str | None = None) -> tuple[int, ...]:
    """Version of the installed Dovecot, e.g. (2, 3, 19, 1); the config syntax depends on it."""
    binary = binary or find_dovecot()
    if binary is None:
        raise FileNotFoundError("dovecot is not installed (run scripts/install-dovecot.sh)")
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"\s*(\d+(?:\.\d+)*)", out)
    if not match:
        raise RuntimeError(f"cannot parse dovecot --version output: {out!r}")
    return tuple(int(part) for part in match.group(1).split("."))


def _account(*names: str) -> pwd.struct_passwd:
    """The first existing system account of ``names`` (created by Debian's dovecot-core)."""
    for name in names:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"none of the system users {names} exists; is dovecot-core installed?")


class Dovecot:
    """A private Dovecot IMAP server on 127.0.0.1 with its own config, users and maildirs.

    Layout: ``base_dir`` (the caller's, usually pytest's tmp_path) holds the generated config,
    the logs and Dovecot's state_dir. Everything an *unprivileged* Dovecot process must reach
    (the runtime sockets, the passwd-file, the maildirs) lives in ``self.root``, a short
    directory made with mkdtemp in /tmp, because:

    * pytest's tmp dirs sit below ``/tmp/pytest-of-<user>`` which is mode 0700, so the
      unprivileged mail/auth processes could not traverse into them when we run as root;
    * unix socket paths are limited to 107 bytes and pytest paths can be long.

    ``base_dir/mail`` is a symlink to the maildirs for humans inspecting a failed test. The
    mail survives ``stop()``/``start()`` (so tests can restart the server); ``cleanup()``
    (called on context exit, and at interpreter exit as a fallback) removes ``self.root``.

    Users: as root, Dovecot refuses mail access as uid 0 ("Mail access not allowed for
    root"), so mail processes run as the ``dovecot`` system user (``mail_uid``/``mail_gid``,
    with ``first_valid_uid``/``gid`` lowered to it) and the maildir root is chowned to it;
    login processes run as ``dovenull`` in their usual chroot. As non-root, everything runs
    as the current user and chroots are switched off.

    OAuth2: with ``oauth2_introspection_url`` the server also takes AUTHENTICATE XOAUTH2 and
    OAUTHBEARER; a second passdb (``driver = oauth2``, args file ``self.oauth2_conf``) asks
    that URL whether a token is valid (RFC 7662 POST, ``{"active": true, "username": u}``).
    Plain logins still go to the passwd-file only; users still need their passwd-file entry
    (it is the userdb). Written for Dovecot 2.3, whose oauth2 passdb 2.4 replaced.
    """

    def __init__(
        self,
        base_dir: Path,
        users: dict[str, str] | None = None,
        *,
        port: int | None = None,
        oauth2_introspection_url: str | None = None,
    ) -> None:
        self.binary = find_dovecot()
        if self.binary is None:
            raise FileNotFoundError("dovecot is not installed (run scripts/install-dovecot.sh)")
        self.version = dovecot_version(self.binary)
        if oauth2_introspection_url and self.version >= (2, 4):
            raise NotImplementedError("the OAuth2 mode of the test Dovecot is for Dovecot 2.3")
        self.oauth2_introspection_url = oauth2_introspection_url
        self.base_dir = Path(base_dir).resolve()
        self.users: dict[str, str] = dict(
            users if users is not None else {"support": "secret", "responssenter": "secret"}
        )
        for name, password in self.users.items():
            if not re.fullmatch(r"[a-z0-9._-]+", name) or any(c in password for c in ":\n"):
                raise ValueError(f"unsupported IMAP test user or password for {name!r}")
        self.host = LOOPBACK
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="avg-dovecot-"))
        self.run_dir = self.root / "run"
        self.mail_dir = self.root / "mail"
        self.passwd_file = self.root / "users"
        self.oauth2_conf = self.root / "dovecot-oauth2.conf.ext"
        self.config_file = self.base_dir / "dovecot.conf"
        self.log_file = self.base_dir / "dovecot.log"
        self.stdout_file = self.base_dir / "dovecot.stdout"
        self.proc: subprocess.Popen[bytes] | None = None
        self._cleaned = False
        self._startups_seen = 0
        atexit.register(self.cleanup)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Dovecot:
        """Write the config, launch ``dovecot -F`` and wait until an IMAP login really works."""
        if self.proc is not None:
            return self
        self._prepare_files()
        self._startups_seen = self._log_text().count(_STARTED)
        with open(self.stdout_file, "ab") as out:
            # Own session => own process group, so stop() can find every child it spawned.
            self.proc = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 0.5) -> None:
        """Stop the master and all its children, then wait until every one has exited.

        SIGTERM goes to the whole process group (our own session, see start()) at once;
        whatever is still alive after ``grace`` seconds gets SIGKILL. A polite master-only
        SIGTERM sometimes makes Dovecot linger 1-6 s waiting for children, per test. Mail is
        safe either way: Dovecot has written a message before it answers the APPEND/MOVE.
        """
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            # Not yet reaped, so the group id (= master PID) cannot have been reused.
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while (proc.poll() is None or _group_members(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        for pid in _group_members(proc.pid) | ({proc.pid} if proc.poll() is None else set()):
            _kill(pid)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def cleanup(self) -> None:
        """Stop the server and delete its private /tmp directory (mail included)."""
        self.stop()
        if not self._cleaned:
            self._cleaned = True
            shutil.rmtree(self.root, ignore_errors=True)
            atexit.unregister(self.cleanup)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def log_tail(self, lines: int = 40) -> str:
        """The end of Dovecot's own logs, for error messages."""
        text = ""
        if self.stdout_file.exists():
            text += self.stdout_file.read_text(errors="replace")
        text += self._log_text()
        return "\n".join(text.splitlines()[-lines:])

    def _log_text(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    # -- IMAP helpers -------------------------------------------------------------------------

    @contextmanager
    def client(self, user: str, timeout: float = 10.0) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient for ``user``, logged out on exit."""
        imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=timeout)
        try:
            imap.login(user, self.users[user])
            yield imap
        finally:
            try:
                imap.logout()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                imap.shutdown()

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message by IMAP APPEND (creating the folder if needed)."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            imap.append(folder, raw)

    def count(self, user: str, folder: str = "INBOX") -> int:
        """Number of messages in ``folder``."""
        with self.client(user) as imap:
            return int(imap.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

    def folders(self, user: str) -> list[str]:
        """All folder names of ``user`` (hierarchy separator is ``/``)."""
        with self.client(user) as imap:
            return [name for _flags, _sep, name in imap.list_folders()]

    def fetch_all(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Raw bytes of every message in ``folder``, in UID order, without setting \\Seen."""
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = sorted(imap.search("ALL"))
            if not uids:
                return []
            data = imap.fetch(uids, [b"BODY.PEEK[]"])
            return [data[uid][b"BODY[]"] for uid in uids]

    def maildir(self, user: str) -> Path:
        """Filesystem path of ``user``'s Maildir (for tests that inspect files directly)."""
        return self.mail_dir / user / "Maildir"

    # -- internals ----------------------------------------------------------------------------

    def _prepare_files(self) -> None:
        is_root = os.geteuid() == 0
        if is_root:
            mail_user = _account("dovecot")
            login_user = _account("dovenull", "nobody")
            internal_user = mail_user
        else:
            mail_user = login_user = internal_user = pwd.getpwuid(os.geteuid())
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "state").mkdir(exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        self.mail_dir.mkdir(exist_ok=True)
        # Unprivileged Dovecot processes must traverse root and run_dir to reach sockets/mail.
        os.chmod(self.root, 0o755)
        os.chmod(self.run_dir, 0o755)
        os.chmod(self.mail_dir, 0o700)
        lines = [
            f"{name}:{{PLAIN}}{password}::::{self.mail_dir / name}::"
            for name, password in self.users.items()
        ]
        self.passwd_file.write_text("\n".join(lines) + "\n")
        if is_root:
            # auth runs as the internal user; the maildirs must belong to the mail user.
            os.chown(self.passwd_file, 0, internal_user.pw_gid)
            os.chmod(self.passwd_file, 0o640)
            for path in [self.mail_dir, *self.mail_dir.rglob("*")]:
                os.lchown(path, mail_user.pw_uid, mail_user.pw_gid)
        if self.oauth2_introspection_url:
            self._write_oauth2_conf(internal_user.pw_gid if is_root else None)
        link = self.base_dir / "mail"
        if link.is_symlink() and link.readlink() != self.mail_dir:
            link.unlink()  # left by an earlier instance that used the same base_dir
        if not link.is_symlink():
            link.symlink_to(self.mail_dir)
        self.config_file.write_text(
            self._config(is_root, mail_user, login_user.pw_name, internal_user.pw_name)
        )

    def _config(
        self, is_root: bool, mail_user: pwd.struct_passwd, login_user: str, internal_user: str
    ) -> str:
        v24 = self.version >= (2, 4)
        mail_group = grp.getgrgid(mail_user.pw_gid).gr_name
        parts: list[str] = []
        if v24:
            # 2.4 requires these to come first; they pin the setting names used below.
            parts += ["dovecot_config_version = 2.4.0", "dovecot_storage_version = 2.4.0"]
        parts += [
            f"base_dir = {self.run_dir}",
            f"state_dir = {self.base_dir / 'state'}",
            f"log_path = {self.log_file}",
            f"info_log_path = {self.log_file}",
            f"listen = {LOOPBACK}",
            "protocols = imap",
            "ssl = no",
            "auth_allow_cleartext = yes" if v24 else "disable_plaintext_auth = no",
            "auth_mechanisms = plain login"
            + (" xoauth2 oauthbearer" if self.oauth2_introspection_url else ""),
            # Answer failed logins at once (tests of wrong passwords would otherwise stall).
            "auth_failure_delay = 0",
            f"default_login_user = {login_user}",
            f"default_internal_user = {internal_user}",
            f"first_valid_uid = {mail_user.pw_uid}",
            f"first_valid_gid = {mail_user.pw_gid}",
            "verbose_proctitle = yes",
        ]
        if is_root:
            parts += [f"mail_uid = {mail_user.pw_name}", f"mail_gid = {mail_group}"]
        if v24:
            parts += [
                "mail_driver = maildir",
                "mail_path = ~/Maildir",
                "namespace inbox {\n  inbox = yes\n  separator = /\n}",
                f"passdb passwd-file {{\n  passwd_file_path = {self.passwd_file}\n}}",
                f"userdb passwd-file {{\n  passwd_file_path = {self.passwd_file}\n}}",
            ]
        else:
            parts += [
                "mail_location = maildir:~/Maildir",
                "namespace inbox {\n  inbox = yes\n  separator = /\n}",
                *self._passdbs_v23(),
                f"userdb {{\n  driver = passwd-file\n  args = {self.passwd_file}\n}}",
            ]
        chroot = "" if is_root else "  chroot =\n"
        parts += [
            # Address comes from the global "listen" (the per-listener name differs in 2.4).
            f"service imap-login {{\n{chroot}  inet_listener imap {{\n"
            f"    port = {self.port}\n  }}\n}}",
            "protocol imap {\n  mail_max_userip_connections = 100\n}",
            # An unconnectable penalty socket disables the auth penalty (2-15 s delays for
            # every login from 127.0.0.1 after one failed attempt); see auth-penalty.c.
            f"service anvil {{\n{chroot}  unix_listener anvil-auth-penalty {{\n"
            "    mode = 0\n  }\n}",
        ]
        if not is_root:
            # Without root there is no chroot and no user switching at all.
            parts += [
                f"default_internal_group = {grp.getgrgid(os.getegid()).gr_name}",
                f"service auth-worker {{\n  user = {internal_user}\n}}",
            ]
        return "# Generated by tests/servers.py for one test run.\n" + "\n".join(parts) + "\n"

    def _passdbs_v23(self) -> list[str]:
        """The passwd-file passdb, plus the oauth2 one in OAuth2 mode (2.3 syntax)."""
        if not self.oauth2_introspection_url:
            return [f"passdb {{\n  driver = passwd-file\n  args = {self.passwd_file}\n}}"]
        return [
            # Passwords only to the passwd-file, tokens only to the oauth2 passdb.
            f"passdb {{\n  driver = passwd-file\n  args = {self.passwd_file}\n"
            "  mechanisms = plain login\n}",
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {self.oauth2_conf}\n}}",
        ]

    def _write_oauth2_conf(self, group: int | None) -> None:
        """Dovecot 2.3's dovecot-oauth2.conf.ext: RFC 7662 introspection by POST."""
        self.oauth2_conf.write_text(
            "# Generated by tests/servers.py: tokens are checked by the test token server.\n"
            f"introspection_url = {self.oauth2_introspection_url}\n"
            "introspection_mode = post\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
            "timeout_msecs = 5000\n"
        )
        if group is not None:  # read by the auth process, running as the internal user
            os.chown(self.oauth2_conf, 0, group)
            os.chmod(self.oauth2_conf, 0o640)

    def _wait_ready(self, timeout: float) -> None:
        """Poll until a real login plus LIST works (a bare login can succeed while mail
        access fails, e.g. with a wrong uid)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            # The master logs "starting up" only after it bound its listeners; without this
            # check a login could reach some other server that holds the same port.
            if self._log_text().count(_STARTED) <= self._startups_seen:
                time.sleep(0.05)
                continue
            try:
                imap = IMAPClient(self.host, port=self.port, ssl=False, timeout=2)
                try:
                    if self.users:
                        user = next(iter(self.users))
                        imap.login(user, self.users[user])
                        imap.list_folders()
                finally:
                    try:
                        imap.logout()
                    except Exception:  # noqa: BLE001
                        imap.shutdown()
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = exc
                time.sleep(0.1)
        raise RuntimeError(
            f"dovecot on {self.host}:{self.port} not ready after {timeout}s "
            f"(last error: {last_error!r}):\n{self.log_tail()}"
        )


_STARTED = "starting up"  # "Dovecot v2.x.y (...) starting up for imap"


def _group_members(pgid: int) -> set[int]:
    """PIDs whose process group is ``pgid`` (Dovecot's children stay in the master's group)."""
    members: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 5 is the pgrp; split after the ")" closing the command name.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry))
    return members


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------------------------
# SMTP sink
# --------------------------------------------------------------------------------------------


@dataclass
class ReceivedMessage:
    """One message accepted by the sink, as the relay target saw it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage = field(repr=False)


class _SinkHandler:
    """aiosmtpd handler: records accepted messages and injects the queued failures."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        failure = self.sink._take_failure("RCPT")
        if failure:
            return failure
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        failure = self.sink._take_failure("DATA")
        if failure:
            return failure
        self.sink._record(envelope)
        return "250 Message accepted for delivery"


class SmtpSink:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that stores what it receives.

    It stands in for the smarthost the gateway relays to; ``fail_next`` makes it answer
    like a real server having trouble (4xx) or refusing (5xx).
    """

    def __init__(self) -> None:
        self.host = LOOPBACK
        self.port = 0
        self.messages: list[ReceivedMessage] = []
        self.rejected: list[tuple[str, str]] = []  # (stage, reply) of every injected failure
        self._cond = threading.Condition()
        self._failures: dict[str, list[str]] = {"DATA": [], "RCPT": []}
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        """Bind a free port (retrying if another process grabbed it first) and serve."""
        last_error: Exception | None = None
        for _ in range(5):
            port = free_port()
            controller = Controller(
                _SinkHandler(self),
                hostname=self.host,
                port=port,
                server_hostname="smtp-sink.localhost",  # avoids a slow getfqdn() lookup
                ready_timeout=10,
                enable_SMTPUTF8=True,
            )
            try:
                controller.start()
            except OSError as exc:
                last_error = exc
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"SmtpSink could not bind a port on {self.host}: {last_error!r}")

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(
        self,
        code: int,
        text: str = "Try again later",
        count: int = 1,
        stage: Literal["DATA", "RCPT"] = "DATA",
    ) -> None:
        """Answer the next ``count`` DATA (or RCPT) commands with ``code text`` instead."""
        with self._cond:
            self._failures[stage].extend([f"{code} {text}"] * count)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``n`` messages arrived; returns a snapshot of all of them."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= n, timeout):
                got = [(m.mail_from, m.rcpt_tos, m.message["Subject"]) for m in self.messages]
                raise AssertionError(
                    f"expected {n} message(s) within {timeout}s, got {len(got)}: {got}; "
                    f"rejected: {self.rejected}"
                )
            return list(self.messages)

    def clear(self) -> None:
        """Forget received messages and pending failures."""
        with self._cond:
            self.messages.clear()
            self.rejected.clear()
            for queue in self._failures.values():
                queue.clear()

    def _take_failure(self, stage: str) -> str | None:
        with self._cond:
            if self._failures[stage]:
                reply = self._failures[stage].pop(0)
                self.rejected.append((stage, reply))
                return reply
            return None

    def _record(self, envelope: Envelope) -> None:
        data = envelope.original_content or b""
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=email.message_from_bytes(data, policy=email.policy.default),  # type: ignore[arg-type]
        )
        with self._cond:
            self.messages.append(received)
            self._cond.notify_all()
