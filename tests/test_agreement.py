"""One truth: ``gateway classify`` says exactly what the running daemon then does.

For every message of a mixed set, the plan ``classify`` prints (against the daemon's own
case log, just before the message arrives) is compared with what ``gateway serve``,
fed through Dovecot and its SMTP intake and relaying to an aiosmtpd sink, records:
the outcome, the flow, the case, and who the relay, reply or triage note went to.
The set: the public examples, a sample of the real-world corpus, administrators'
answers to triage notes (valid, malformed, from a non-administrator), on-call
commands, replies from participants and outsiders, a party's helpdesk (its ticket
number, a notice), a duplicate, a message over the size limit, and a forged sender.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import smtplib
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import EXAMPLES, make_mail
from servers import free_port
from test_end_to_end import settings_toml

from gateway import settings as settings_mod
from gateway.decide.classify import classify_bytes
from gateway.rules.loader import load_rules
from gateway.store import open_db

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real-world"
SAMPLE = 220  # of the corpus's raw messages, spread evenly over it
LIMIT = 512 * 1024  # max_message_bytes in this run: a few corpus messages are over it
GATEWAY = "avviksgateway@trygghet-agder.example"
INTAKE = {"support": "support@trygghet-agder.example",
          "responssenter": "responssenter@trygghet-agder.example"}  # fmt: skip
SENDER = b"sender@example.org"  # the envelope sender of what the test sends by SMTP
RECEIVING = ("relay", "reply", "triage")  # the outbox purposes that carry the decision

pytestmark = pytest.mark.skipif(
    not (EXAMPLES.exists() and CORPUS.exists()), reason="shared/ not beside the repo"
)


def crlf(raw: bytes) -> bytes:
    """The bytes as SMTP and IMAP carry them: CRLF line endings, ending in one."""
    raw = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


@dataclass
class Run:
    """The daemon, its case log, and what each message got from both sides."""

    gateway: object
    dovecot: object
    ruleset: object
    settings: object
    db: object = None
    rows_seen: int = 0
    outbox_seen: int = 0
    results: list[tuple[str, dict, dict]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # refused by the intake: not stored

    def send(self, name: str, raw: bytes, mailbox: str = "support", via: str = "smtp") -> dict:
        """Classify, deliver, wait until decided; returns what the daemon did."""
        raw = crlf(raw)
        at = dt.datetime.now(dt.UTC)
        # What the daemon will store: the SMTP intake puts the envelope sender in front.
        stored = raw if via == "imap" else b"Return-Path: <%s>\r\n%s" % (SENDER, raw)
        want = classify_bytes(stored, self.ruleset, mailbox, at, self.db, self.settings)
        if via == "imap":
            self.dovecot.append(mailbox, raw)
        else:
            try:
                with smtplib.SMTP("127.0.0.1", self.smtp_port) as client:
                    client.sendmail(SENDER.decode(), [INTAKE[mailbox]], raw)
            except smtplib.SMTPResponseException as exc:  # e.g. a line over 998 octets
                self.refused.append(f"{name}: {exc.smtp_code} {exc.smtp_error!r}")
                return {}
        got = self._wait()
        self.results.append((name, want, got))
        return got

    def _wait(self, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            row = self.db.execute(
                "SELECT m.id, m.outcome, c.reference, c.flow FROM messages m "
                "LEFT JOIN cases c ON c.id = m.case_id WHERE m.direction = 'in' AND m.id > ? "
                "AND m.state != 'received' ORDER BY m.id LIMIT 1",
                [self.rows_seen],
            ).fetchone()
            if row:
                break
            assert time.monotonic() < deadline, self.gateway.log.read_text()[-3000:]
            time.sleep(0.02)
        self.rows_seen = row[0]
        sent = self.db.execute(
            "SELECT id, purpose, recipients FROM outbox WHERE id > ? ORDER BY id",
            [self.outbox_seen],
        ).fetchall()
        self.outbox_seen = max([self.outbox_seen, *(s[0] for s in sent)])
        receivers = sorted({a for s in sent if s[1] in RECEIVING for a in json.loads(s[2])})
        return {"id": row[0], "decision": row[1], "case": row[2], "flow": row[3], "to": receivers}


def disagreements(results) -> list[str]:
    """Each message whose plan and the daemon's deed differ, with how."""
    out = []
    for name, want, got in results:
        diffs = []
        if want["decision"] != got["decision"]:
            diffs.append(f"decision {want['decision']} != {got['decision']}")
        if want["decision"] == "relay" and want.get("flow") != got["flow"]:
            diffs.append(f"flow {want.get('flow')} != {got['flow']}")
        if want.get("case") and want["case"] != got["case"]:
            diffs.append(f"case {want.get('case')} != {got['case']}")
        if want["decision"] in ("relay", "thread", "triage", "hold"):
            planned = sorted({*want.get("to", []), *want.get("cc", [])})
            if planned != got["to"]:
                diffs.append(f"to {planned} != {got['to']}")
        if diffs:
            out.append(f"{name}: {'; '.join(diffs)}")
    return out


def corpus_sample() -> list[Path]:
    rows = [line.split("\t") for line in (CORPUS / "index.tsv").read_text().splitlines()[1:]]
    paths = sorted(CORPUS / r[0] for r in rows if r[4] == "eml")
    step = max(1, len(paths) // SAMPLE)
    return paths[::step][:SAMPLE]


@pytest.fixture
def run(dovecot, smtp_sink, gateway_process, monkeypatch, tmp_path):
    monkeypatch.setenv("TEST_IMAP_PASSWORD", dovecot.users["support"])
    port = free_port()
    text = settings_toml(tmp_path / "var", port, smtp_sink.port, dovecot)
    text = text.replace("retry_base_seconds", f"max_message_bytes = {LIMIT}\nretry_base_seconds")
    gateway = gateway_process(text)
    gateway.start()
    settings = settings_mod.load(gateway.settings_file)
    state = Run(gateway, dovecot, load_rules(settings.rules_file), settings)
    state.smtp_port = port
    state.db = open_db(tmp_path / "var" / "gateway.db")
    yield state
    gateway.stop()


def _reference(run: Run, got: dict) -> str:
    assert got["case"], got
    return got["case"]


def test_classify_agrees_with_the_daemon(run):
    for eml in sorted(EXAMPLES.glob("*.eml")):
        want = json.loads(eml.with_suffix(".expected.json").read_text())
        run.send(f"example {eml.name}", eml.read_bytes(), want.get("mailbox", "support"), "imap")
    for path in corpus_sample():
        run.send(f"corpus {path.relative_to(CORPUS)}", path.read_bytes())
    _threads_and_commands(run)
    _triage_answers(run)
    _safety(run)
    assert len(run.results) >= 20 + 200 + 12, run.refused
    problems = disagreements(run.results)
    assert not problems, "\n".join(problems)


def _threads_and_commands(run: Run) -> None:
    report = make_mail(frm="kari@vennesla.kommune.example", subject="Alarm uten lyd")
    ref = _reference(run, run.send("report for the threads", report))
    answer = make_mail(frm="tekniker@leverandor.example", to="support@trygghet-agder.example",
                       subject=f"SV: [{ref}] Alarm uten lyd", body="Vi ser på det.")  # fmt: skip
    run.send("reply from the receiving party", answer)
    outsider = make_mail(frm="noen@gmail.example", subject=f"SV: [{ref}] Alarm uten lyd")
    run.send("reply from an outsider", outsider)
    _helpdesk(run, ref)
    missing = make_mail(frm="kari@vennesla.kommune.example", subject="SV: [AVVIK-2020-9999] x")
    run.send("reply naming a case that does not exist", missing)
    command = make_mail(frm="beredskap@trygghet-agder.example", subject=f"SV: [{ref}] x",
                        body=f"#vurdert {ref} ok, følges opp i morgen")  # fmt: skip
    run.send("on-call command", command)
    wrong = make_mail(frm="beredskap@trygghet-agder.example", subject="Hei", body="#tull")
    run.send("on-call mistyped command", wrong)


def _helpdesk(run: Run, ref: str) -> None:
    """The supplier's helpdesk (issue 18): its number, a notice, threading by the number."""
    desk = "agent@tellu.zendesk.example"
    answer = make_mail(frm=desk, subject=f"SV: [Tellu #4242] [{ref}] Alarm", body="Vi ser.")
    run.send("helpdesk answer with its ticket number", answer)
    ack = make_mail(frm="no-reply@leverandor.example", subject="[Tellu #4242] Alarm",
                    body="We have received your request.")  # fmt: skip
    run.send("helpdesk acknowledgement", ack)
    lone = make_mail(frm=desk, subject="Re: [Tellu #4242] update", body="Ny versjon ute.")
    run.send("helpdesk answer with only its ticket number", lone)
    unknown = make_mail(frm=desk, subject="Re: [Tellu #1] x", body="Svar.")
    run.send("helpdesk answer naming an unknown ticket", unknown)
    marked = {"Auto-Submitted": "auto-generated", "Precedence": "bulk",
              "X-RT-Loop-Prevention": "rt.leverandor.example"}  # fmt: skip
    subject = "[Tellu #4300] Plattformen svarer sakte"
    new = make_mail(frm=desk, to="responssenter@trygghet-agder.example", headers=marked,
                    subject=subject, body="Treg respons.")  # fmt: skip
    got = run.send("a new ticket from the helpdesk, marked automatic", new, "responssenter")
    assert got["decision"] == "triage"  # the rules decide it (the shipped rules: triage)


def _triage_answers(run: Run) -> None:
    stranger = make_mail(frm="ny.ansatt@gmail.example", subject="Alarm hos bruker")
    first = run.send("stranger's report (triaged)", stranger)["id"]
    second = run.send("another stranger's report", make_mail(frm="a@b.example"))["id"]

    def answer(who: str, number: int, body: str) -> bytes:
        subject = f"SV: [Til vurdering #{number}] Alarm hos bruker"
        return make_mail(frm=who, to=GATEWAY, subject=subject, body=body)

    admin = "admin@trygghet-agder.example"
    run.send("triage answer from a non-administrator", answer("x@gmail.example", first, "#flyt a"))
    run.send("malformed triage answer", answer(admin, first, "send den til leverandøren"))
    run.send("triage answer for a message that does not exist", answer(admin, 99999, "#flyt a"))
    run.send("valid triage answer", answer(admin, first, "#flyt a"))
    run.send("triage answer for a decided message", answer(admin, first, "#flyt a"))
    run.send("triage answer: ignore", answer(admin, second, "#ignorer test"))


def _safety(run: Run) -> None:
    original = (EXAMPLES / "001.eml").read_bytes()
    run.send("duplicate of example 001", original, "support", "smtp")
    big = make_mail(attachments=[("logg.bin", b"x" * (LIMIT + 1000), "application/octet-stream")])
    run.send("over max_message_bytes", big)
    forged = make_mail(frm="kari@vennesla.kommune.example", subject="Alarm uten lyd")
    forged = (
        b"Authentication-Results: mx.trygghet-agder.example; dmarc=fail "
        b"header.from=vennesla.kommune.example\r\n" + forged
    )
    run.send("forged sender", forged)
