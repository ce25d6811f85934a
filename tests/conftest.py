"""Shared fixtures: the shipped rules, fresh databases, and real servers on loopback."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from gateway.parse import parse
from gateway.rules.loader import load_rules
from gateway.store import open_db

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = SHARED / "scenario" / "examples"
CORPUS = SHARED / "corpus" / "real-world"
OSLO = dt.timezone(dt.timedelta(hours=1))
# What the receipt template reads: tests that render it directly use this.
RECEIPT_CONTEXT = {
    "reference": "AVVIK-2026-0001",
    "kind": "avvik",
    "receiving_party": "Leverandøren",
    "received": "i dag",
    "measures_due": "01.04.2026",
    "close_due": "01.05.2026",
    "subject": "Alarm",
    "removed": "",
    "personal_withheld": [],
}


@pytest.fixture(scope="session")
def ruleset():
    return load_rules(ROOT / "rules.yaml")


@pytest.fixture
def fresh_db():
    db = open_db(None)
    yield db
    db.close()


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "gateway.db"


def make_mail(
    frm: str = "kari.nordmann@vennesla.kommune.example",
    to: str = "support@trygghet-agder.example",
    subject: str = "Trygghetsalarm uten kontakt",
    body: str = "Hei,\n\nAlarmen virker ikke.\n\nMed vennlig hilsen\nKari\n",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
) -> bytes:
    """A message as a mail client would write it (for tests that need many variants)."""
    msg = EmailMessage()
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Tue, 10 Mar 2026 10:12:00 +0100"
    msg["Message-ID"] = f"<{time.monotonic_ns()}@test.example>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    for filename, data, ctype in attachments:
        maintype, _, subtype = ctype.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


@pytest.fixture
def classify(ruleset):
    """Decide a message made with make_mail(); returns the Decision."""
    from gateway.decide.yaml_rules import decide

    def _classify(
        raw: bytes,
        mailbox: str = "support",
        at: dt.datetime = dt.datetime(2026, 3, 10, 10, 0, tzinfo=OSLO),
    ):
        return decide(parse(raw), ruleset, mailbox, at)

    return _classify


def dovecot_available() -> bool:
    return shutil.which("dovecot") is not None or Path("/usr/sbin/dovecot").exists()


@pytest.fixture
def dovecot(tmp_path):
    if not dovecot_available():
        pytest.skip("dovecot is not installed (make test installs it from Debian's packages)")
    from servers import Dovecot

    with Dovecot(tmp_path / "dovecot") as server:
        yield server


@pytest.fixture
def smtp_sink():
    from servers import SmtpSink

    with SmtpSink() as sink:
        yield sink


class GatewayProcess:
    """``python -m gateway serve`` as a real process, with its own settings file."""

    def __init__(self, tmp: Path, settings: str):
        self.tmp = tmp
        self.settings_file = tmp / "gateway.toml"
        self.settings_file.write_text(settings)
        self.log = tmp / "gateway.log"
        self.proc: subprocess.Popen | None = None

    def start(self, wait_for: str = "gateway ready") -> None:
        seen = self.log.read_text(errors="replace").count(wait_for) if self.log.exists() else 0
        env = {**os.environ, "AVVIK_SETTINGS": str(self.settings_file), "PYTHONUNBUFFERED": "1"}
        self.log_handle = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve"],
            cwd=ROOT,
            env=env,
            stdout=self.log_handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while self.log.read_text(errors="replace").count(wait_for) <= seen:  # this start's
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gateway did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.terminate()
        code = self.proc.wait(timeout=30)
        self.log_handle.close()
        self.proc = None
        return code

    def db(self):
        return open_db(self.tmp / "var" / "gateway.db")


@pytest.fixture
def gateway_process(tmp_path):
    started: list[GatewayProcess] = []

    def _make(settings: str) -> GatewayProcess:
        process = GatewayProcess(tmp_path, settings)
        started.append(process)
        return process

    yield _make
    for process in started:
        if process.proc is not None:
            process.proc.kill()
            process.proc.wait()
        if process.log.exists():  # shown by pytest only when the test failed
            tail = process.log.read_text(errors="replace")[-6000:]
            print(f"--- gateway log ({process.log}):\n{tail}")
