"""Request Tracker 5 as a supplier's helpdesk, for the end-to-end test (issue 18).

A private RT on 127.0.0.1: a copy of the SQLite database Debian's package made, its own
site config (RT_SITE_CONFIG, RT_SITE_CONFIG_DIR), and its outgoing mail handed by a small
sendmail script (``rt_sendmail.py``) to the gateway's SMTP intake. Mail for the supplier
reaches it through ``rt-mailgate``, as a mail server's alias would deliver it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from servers import free_port

SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
MAILGATE = "/usr/bin/rt-mailgate"
DATABASE = Path("/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb")
RTNAME = "rt.leverandor.example"
PASSWORD = "gateway-test"
HERE = Path(__file__).resolve().parent

_SETUP = """
use strict; use warnings;
use lib '/usr/share/request-tracker5/lib';
use RT; RT::LoadConfig(); RT::Init();
my $everyone = RT::Group->new(RT->SystemUser);
$everyone->LoadSystemInternalGroup('Everyone');
for my $right (qw(CreateTicket ReplyToTicket SeeQueue)) {
    my ($ok, $msg) = $everyone->PrincipalObj->GrantRight(Right => $right, Object => $RT::System);
    die "$right: $msg" unless $ok;
}
my $root = RT::User->new(RT->SystemUser); $root->Load('root');
my ($ok, $msg) = $root->SetPassword('%s'); die $msg unless $ok;
"""


def available() -> bool:
    return SERVER.exists() and Path(MAILGATE).exists() and DATABASE.exists()


def version() -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "request-tracker5"],
                         capture_output=True, text=True)  # fmt: skip
    return out.stdout.strip()


class RequestTracker:
    """A private rt-server; ``correspond`` and ``resolve`` act as an agent (REST 1.0)."""

    def __init__(self, folder: Path, intake_port: int, correspond: str):
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.outgoing = folder / "outgoing"  # a copy of every mail RT sends
        self.env = {**os.environ, "RT_SITE_CONFIG": str(folder / "RT_SiteConfig.pm"),
                    "RT_SITE_CONFIG_DIR": str(folder / "RT_SiteConfig.d")}  # fmt: skip
        self._write(intake_port, correspond)
        self.proc: subprocess.Popen | None = None

    def _write(self, intake_port: int, correspond: str) -> None:
        (self.folder / "RT_SiteConfig.d").mkdir(parents=True)
        self.outgoing.mkdir()
        shutil.copy(DATABASE, self.folder / "rtdb")
        sendmail = self.folder / "sendmail"
        sendmail.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'rt_sendmail.py'} "
                            f"{intake_port} {self.outgoing} \"$@\"\n")  # fmt: skip
        sendmail.chmod(0o755)
        (self.folder / "RT_SiteConfig.pm").write_text(f"""
Set($rtname, '{RTNAME}');
Set($Organization, 'leverandor.example');
Set($CorrespondAddress, '{correspond}');
Set($CommentAddress, '{correspond}');
Set($WebPath, '');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {self.port});
Set($WebBaseURL, '{self.url}');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{self.folder / "rtdb"}');
Set($MailCommand, 'sendmailpipe');
Set($SendmailPath, '{sendmail}');
Set($SendmailArguments, '');
Set($LogToSyslog, undef);
Set($LogToSTDERR, 'error');
Set($LogToFile, undef);
1;
""")
        setup = self.folder / "setup.pl"
        setup.write_text(_SETUP % PASSWORD)
        subprocess.run(["perl", str(setup)], env=self.env, check=True, capture_output=True)

    def start(self, timeout: float = 60) -> RequestTracker:
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen([str(SERVER), "--port", str(self.port)], env=self.env,
                                     cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=2).read()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((self.folder / "server.log").read_text()[-2000:]) from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def mailgate(self, raw: bytes) -> None:
        """Deliver one message to the General queue, as the supplier's mail server does."""
        args = [MAILGATE, "--queue", "General", "--action", "correspond", "--url", self.url + "/"]
        done = subprocess.run(args, input=raw, env=self.env, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")

    def _rest(self, path: str, content: str | None = None) -> str:
        query = urllib.parse.urlencode({"user": "root", "pass": PASSWORD})
        data = urllib.parse.urlencode({"content": content}).encode() if content else None
        joined = "&" if "?" in path else "?"
        with urllib.request.urlopen(f"{self.url}/REST/1.0/{path}{joined}{query}", data, 30) as r:
            text = r.read().decode()
        assert " 200 Ok" in text.splitlines()[0] and "denied" not in text[:300], text
        return text

    def correspond(self, ticket: int, text: str) -> None:
        """An agent answers the requestor (RT mails it, with its [rtname #N] tag)."""
        body = text.replace("\n", "\n ")
        self._rest(f"ticket/{ticket}/comment", f"id: {ticket}\nAction: correspond\nText: {body}\n")

    def resolve(self, ticket: int) -> None:
        self._rest(f"ticket/{ticket}/edit", f"id: {ticket}\nStatus: resolved\n")

    def history(self, ticket: int) -> str:
        """The ticket's whole history as RT shows it (REST 1.0, long format)."""
        return self._rest(f"ticket/{ticket}/history?format=l")

    def ticket(self, ticket: int) -> str:
        return self._rest(f"ticket/{ticket}/show")
