"""Each reference deployment end to end (issue 21): ``gateway serve`` as a real process
with the profile's rules.yaml, reports appended to its mailboxes in Dovecot, mail out
through the aiosmtpd sink: a report relayed in the profile's language, the receiver's
answer that closes it, and the reporter told. Moments that hang on the calendar
(Saturday night, Midsummer) run the same pipeline in-process under time_machine."""

from __future__ import annotations

import datetime as dt
import email
import time
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
import time_machine
from conftest import ROOT, dovecot_available, make_mail
from servers import free_port
from test_end_to_end import wait_for_log

from gateway.intake import accept
from gateway.pipeline import Pipeline
from gateway.render import Renderer
from gateway.rules.loader import load_rules
from gateway.scheduler.runner import Runner
from gateway.settings import Settings
from gateway.store import open_db

# profile: (gateway address, reporter, mailbox, subject, body, receiver, words of the
# relay in its language, the closing answer, the word the status notice starts with)
CASES = {
    "nordhordland": (
        "avviksgateway@iktnh.example", "kari.nordmann@alver.kommune.example", "brukarstotte",
        "Skrivaren på rådhuset skriv ikkje ut",
        "Hei,\n\nSkrivaren har ikkje skrive ut sidan i går.\n\nMed venleg helsing\nKari\n",
        "servicedesk@iktnh.example", ("Motteke:", "Mottakar:", "vidaresendt"),
        "#lukk Skrivaren er bytt ut.", "Endra:",
    ),
    "hoglandet": (
        "avvikelsetjansten@hoglandet-samordning.example", "anna.svensson@eksjo.kommun.example",
        "avvikelse", "Uppföljning uteblev",
        "Hej,\n\nDeltagaren 19121212-1212 fick ingen uppföljning.\n\nMed vänlig hälsning\nAnna\n",
        "samverkanskoordinator@eksjo.kommun.example", ("Mottaget:", "Anmäld av:", "Referens:"),
        "#orsak Ingen hade ansvar för överlämningen.\n#avsluta Rutinen för överlämning är ändrad.",
        "Ändrat:",
    ),
    "nav-lillehammer": (
        "avviksgateway@nav-lg.example", "kari.nordmann@nav.example", "avvik",
        "Vedtak med personopplysninger sendt feil",
        "Hei,\n\nEt brev gikk til feil bruker.\n\nMed vennlig hilsen\nKari\n",
        "asys@nav-lg.example", ("Mottatt:", "Meldt av:", "ASYS"),
        "#lukk Rutinen for konvolutter er endret.", "Endret:",
    ),
    "agder": (
        "avviksgateway@trygghet-agder.example", "kari.nordmann@vennesla.kommune.example",
        "support", "Trygghetsalarm uten kontakt",
        "Hei,\n\nAlarmen virker ikke.\n\nMed vennlig hilsen\nKari\n",
        "support@leverandor.example", ("Mottatt:", "Meldt av:", "kommune til leverandør"),
        "#lukk Batteriet er byttet.", "Endret:",
    ),
}  # fmt: skip


def _settings(profile: str, address: str, data_dir, sink: int, dovecot, boxes) -> str:
    text = f"""
rules_file = "{ROOT / "profiles" / profile / "rules.yaml"}"
gateway_address = "{address}"
data_dir = "{data_dir}"
smtp_intake_port = {free_port()}
retry_base_seconds = 0.2
retry_max_seconds = 0.5

[smarthost]
host = "127.0.0.1"
port = {sink}
security = "none"
timeout = 5
"""
    for box in boxes:
        text += f"""
[[imap]]
mailbox = "{box}"
host = "127.0.0.1"
port = {dovecot.port}
user = "{box}"
password_env = "TEST_IMAP_PASSWORD"
security = "none"
idle = false
poll_interval = 0.5
"""
    return text


def _one(got, to: str):
    found = [m for m in got if m.rcpt_tos == [to]]
    assert found, [(m.rcpt_tos, m.message["Subject"]) for m in got]
    return found[-1].message


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


@pytest.mark.skipif(not dovecot_available(), reason="dovecot is not installed")
@pytest.mark.parametrize("profile", sorted(CASES))
def test_a_report_is_relayed_in_the_profiles_language_answered_and_closed(
    profile, smtp_sink, gateway_process, monkeypatch, tmp_path
):
    from servers import Dovecot

    address, reporter, box, subject, body, receiver, words, answer, changed = CASES[profile]
    rules = load_rules(ROOT / "profiles" / profile / "rules.yaml")
    intake = rules.mailboxes[box]
    with Dovecot(tmp_path / "dovecot", users={b: "secret" for b in rules.mailboxes}) as dovecot:
        monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
        gateway = gateway_process(
            _settings(profile, address, tmp_path / "var", smtp_sink.port, dovecot, rules.mailboxes)
        )
        gateway.start()
        for name in rules.mailboxes:
            wait_for_log(gateway, f"{name}: connected")
        dovecot.append(box, make_mail(reporter, intake, subject, body))
        got = smtp_sink.wait_for(2, timeout=30)
        relay = _one(got, receiver)
        reference = relay["Subject"][1 : relay["Subject"].index("]")]
        assert reference.startswith(rules.reference_prefix + "-")
        assert all(word in _text(relay) for word in words), _text(relay)
        receipt = _one(got, reporter)
        assert reference in receipt["Subject"]
        if profile == "hoglandet":  # de-identified for the coordinator; the receipt says so
            raw = next(m for m in got if m.rcpt_tos == [receiver]).data
            assert b"19121212" not in raw and b"121212-1212" not in raw
            assert "[personnummer borttaget]" in _text(relay)
            assert "Personuppgifter togs bort" in _text(receipt)

        reply = email.message.EmailMessage()
        reply["From"], reply["To"] = receiver, intake
        reply["Subject"] = "SV: " + relay["Subject"]
        reply["In-Reply-To"] = relay["Message-ID"]
        reply["Message-ID"] = f"<{time.monotonic_ns()}@answer.example>"
        reply.set_content(f"Hei,\n\n{answer}\n")
        dovecot.append(box, reply.as_bytes())
        got = smtp_sink.wait_for(3, timeout=30)
        told = _one(got, reporter)
        assert reference in told["Subject"] and changed in _text(told), _text(told)
        closed = {"nordhordland": "lukka", "hoglandet": "avslutad"}.get(profile, "lukket")
        assert f"Status: {closed}" in _text(told)  # the stored value, in the language
        case = next(gateway.db().query("SELECT * FROM cases WHERE reference = ?", [reference]))
        assert case["status"] == "lukket"
        assert gateway.stop() == 0


def _pipeline(profile: str):
    rules = load_rules(ROOT / "profiles" / profile / "rules.yaml")
    db = open_db(None)
    renderer = Renderer(CASES[profile][0], "Avviksgatewayen", rules=lambda: rules)
    return db, rules, renderer, Pipeline(db, lambda: rules, renderer, Settings())


def _queued(db, since: int = 0) -> list[tuple[str, list[str], email.message.Message]]:
    rows = db.query(
        "SELECT o.id, o.purpose, o.recipients, r.raw FROM outbox o JOIN raw_messages r "
        "ON r.id = o.message_id WHERE o.id > ? ORDER BY o.id",
        [since],
    )
    import json

    return [(r["purpose"], json.loads(r["recipients"]),
             email.message_from_bytes(r["raw"], policy=default)) for r in rows]  # fmt: skip


def test_nordhordland_an_urgent_case_on_a_saturday_night_reaches_the_on_call_duty():
    db, _rules, _renderer, pipeline = _pipeline("nordhordland")
    saturday_night = dt.datetime(2026, 3, 14, 22, 40, tzinfo=ZoneInfo("Europe/Oslo"))
    body = "Hei,\n\nHeile heimetenesta manglar tilgang.\n"
    raw = make_mail("ola.vik@osteroy.kommune.example", "brukarstotte@iktnh.example",
                    "Fagsystemet er nede", body)  # fmt: skip
    with time_machine.travel(saturday_night, tick=False):
        accept(db, raw, "brukarstotte", "test")
        pipeline.process_batch()
    relays = [(to, m) for p, to, m in _queued(db) if p == "relay"]
    recipients = {a for to, _m in relays for a in to}
    assert {"servicedesk@iktnh.example", "beredskap@iktnh.example"} <= recipients
    (_to, relay), *_ = relays
    assert relay["Subject"].startswith("[AVVIK-2026-") and "HASTAR:" in relay["Subject"]
    assert "Hastesak:      JA" in _text(relay)


def test_hoglandet_escalation_counts_working_days_across_midsummer():
    db, rules, renderer, pipeline = _pipeline("hoglandet")
    stockholm = ZoneInfo("Europe/Stockholm")
    monday = dt.datetime(2026, 6, 15, 10, 0, tzinfo=stockholm)
    raw = make_mail("anna.svensson@eksjo.kommun.example", "avvikelse@hoglandet-samordning.example",
                    "Samverkan kring en deltagare", "Hej,\n\nIngen återkoppling.\n")  # fmt: skip
    with time_machine.travel(monday, tick=False):
        accept(db, raw, "avvikelse", "test")
        pipeline.process_batch()
    (case,) = db.query("SELECT * FROM cases")
    assert case["escalate_due"] == "2026-06-30"  # 29 June without Midsummer Eve
    runner = Runner(db, lambda: rules, renderer, Settings())
    seen = max(o["id"] for o in db.query("SELECT id FROM outbox"))
    for day, escalated in ((30, False), (1, True)):
        when = dt.datetime(2026, 6 if day == 30 else 7, day, 7, 30, tzinfo=stockholm)
        with time_machine.travel(when, tick=False):
            runner.run("escalation", when)
        sent = [(to, m) for p, to, m in _queued(db, seen) if p == "escalation"]
        assert bool(sent) == escalated, day
    ((to, message),) = sent
    assert to == ["lsg@hoglandet-samordning.example"]
    assert message["Subject"].startswith("Eskalerat: [AVVIKELSE-2026-")
    assert "arbetsdagar" in _text(message)


def test_a_swedish_deployment_writes_no_bokmal_of_its_own(monkeypatch):
    """Everything the hoglandet deployment writes in a case's life (receipt, relay,
    triage note, a refused command, a closing) is Swedish: text made in Python included."""
    import re

    from test_languages_nn_sv import BOKMAL_ONLY

    db, _rules, _renderer, pipeline = _pipeline("hoglandet")
    intake = "avvikelse@hoglandet-samordning.example"
    coordinator = "samverkanskoordinator@eksjo.kommun.example"
    when = dt.datetime(2026, 3, 10, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))
    with time_machine.travel(when, tick=False):
        for raw in (
            make_mail("anna@eksjo.kommun.example", intake, "Uppföljning", "Hej,\n\nX.\n"),
            make_mail("lars@forsakringskassan.example", intake, "Aneby och Tranås", "Hej.\n"),
            make_mail("okand@mail.example", intake, "Hej", "Hej.\n"),
        ):
            accept(db, raw, "avvikelse", "test")
            pipeline.process_batch()
        relay = next(m for p, _to, m in _queued(db) if p == "relay")
        for answer in ("#stäng", "#allvarlighetsgrad enorm", "#avsluta Rutinen är ändrad."):
            reply = make_mail(coordinator, intake, "SV: " + relay["Subject"], f"{answer}\n",
                              headers={"In-Reply-To": relay["Message-ID"]})  # fmt: skip
            accept(db, reply, "avvikelse", "test")
            pipeline.process_batch()
    words = re.compile(rf"\b({BOKMAL_ONLY['sv']})\b", re.IGNORECASE)
    leaks = {}
    for purpose, _to, message in _queued(db):
        text = message["Subject"] + "\n" + _text(message)
        shown = "\n".join(line for line in text.splitlines() if "@" not in line)
        if found := sorted({m.group(0) for m in words.finditer(shown)}):
            leaks[purpose] = found
    assert {p for p, _to, _m in _queued(db)} >= {"relay", "receipt", "triage", "command-error"}
    assert not leaks, leaks


def test_nordhordland_the_72_hour_clock_is_shown_and_reminded_24_and_4_hours_before():
    """A data deviation on Friday 10:00 has its clock on Monday 10:00 (the weekend
    counts); the relay shows it; information security and the data protection officer
    are reminded on Sunday 10:00 and Monday 06:00, once each; a case in the other flow has
    no clock."""
    db, rules, renderer, pipeline = _pipeline("nordhordland")
    oslo = ZoneInfo("Europe/Oslo")
    friday = dt.datetime(2026, 3, 13, 10, 0, tzinfo=oslo)
    with time_machine.travel(friday, tick=False):
        for box in ("dataavvik", "brukarstotte"):
            raw = make_mail("kari.nordmann@alver.kommune.example", f"{box}@iktnh.example",
                            "Brev til feil mottakar", "Hei,\n\nEit brev gjekk feil.\n")  # fmt: skip
            accept(db, raw, box, "test")
            pipeline.process_batch()
    relays = [m for p, _to, m in _queued(db) if p == "relay"]
    assert "Klokkefrist:   16.03.2026 kl. 10:00" in _text(relays[0])
    assert "Klokkefrist" not in _text(relays[1])
    runner = Runner(db, lambda: rules, renderer, Settings())
    seen = max(o["id"] for o in db.query("SELECT id FROM outbox"))
    sent = []
    for day, hour in ((15, 9), (15, 10), (15, 11), (16, 5), (16, 6), (16, 7), (16, 11)):
        when = dt.datetime(2026, 3, day, hour, 0, tzinfo=oslo)
        with time_machine.travel(when, tick=False):
            runner.run("clock-reminders", when)
        new = [(to, m) for p, to, m in _queued(db, seen) if p == "clock-reminder"]
        sent.append(len(new))
    assert sent == [0, 1, 1, 1, 2, 2, 2]
    reminders = [(to, m) for p, to, m in _queued(db, seen) if p == "clock-reminder"]
    side = {"informasjonstryggleik@iktnh.example", "personvernombod@alver.kommune.example"}
    assert all(set(to) == side for to, _m in reminders)
    assert "(om om lag 24 timar)" in _text(reminders[0][1])
    assert "(om om lag 4 timar)" in _text(reminders[1][1])


def test_a_clock_without_hours_or_with_bad_reminders_is_refused(tmp_path):
    from gateway.rules.loader import RulesError

    text = (ROOT / "profiles" / "nordhordland" / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("    clock_hours: 72\n", "").replace("[24, 4]", "[24, -4]"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    problems = "\n".join(caught.value.problems)
    assert "clock_reminders: a list of hours" in problems, problems
    path.write_text(text.replace("    clock_hours: 72\n", ""))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert any("clock_reminders: needs clock_hours" in p for p in caught.value.problems)


def test_nordhordland_ikkje_personopplysningar_stops_the_clock():
    """Information security says a data deviation is no personal-data breach: its
    72-hour clock stops, and no reminder follows. The reporter may not say so."""
    db, rules, renderer, pipeline = _pipeline("nordhordland")
    oslo = ZoneInfo("Europe/Oslo")
    intake = "dataavvik@iktnh.example"

    def deliver(when, raw):
        with time_machine.travel(when, tick=False):
            accept(db, raw, "dataavvik", "test")
            pipeline.process_batch()

    friday = dt.datetime(2026, 3, 13, 10, 0, tzinfo=oslo)
    report = "Hei,\n\nEit brev gjekk feil.\n"
    deliver(friday, make_mail("kari.nordmann@alver.kommune.example", intake,
                              "Brev til feil mottakar", report))  # fmt: skip
    relay = next(m for p, _to, m in _queued(db) if p == "relay")
    answer = {"In-Reply-To": relay["Message-ID"]}
    deliver(friday + dt.timedelta(hours=1), make_mail(
        "kari.nordmann@alver.kommune.example", intake, "SV: " + relay["Subject"],
        "#ikkje-personopplysningar\n", headers=answer))  # fmt: skip
    assert db.execute("SELECT clock_stopped_at FROM cases").fetchone()[0] is None
    assert any(p == "command-error" for p, _to, _m in _queued(db))  # the reporter: refused
    deliver(friday + dt.timedelta(hours=2), make_mail(
        "informasjonstryggleik@iktnh.example", intake, "SV: " + relay["Subject"],
        "Vi har sett på saka.\n\n#ikkje-personopplysningar\n", headers=answer))  # fmt: skip
    assert db.execute("SELECT clock_stopped_at FROM cases").fetchone()[0] is not None
    assert [e["kind"] for e in db.query("SELECT kind FROM events WHERE kind = 'clock-stopped'")]
    runner = Runner(db, lambda: rules, renderer, Settings())
    seen = max(o["id"] for o in db.query("SELECT id FROM outbox"))
    for when in (dt.datetime(2026, 3, 15, 11, 0, tzinfo=oslo),
                 dt.datetime(2026, 3, 16, 7, 0, tzinfo=oslo)):  # fmt: skip
        with time_machine.travel(when, tick=False):
            runner.run("clock-reminders", when)
    assert [p for p, _to, _m in _queued(db, seen) if p == "clock-reminder"] == []
