"""Follow-up with a moved clock: review digests, reminders, escalation, the on-call duty's
commands and post-incident reviews. No sleeps: the clock is set by time-machine and the
scheduler is ticked with it, as APScheduler ticks it in ``gateway serve``."""

from __future__ import annotations

import datetime as dt
import email
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from conftest import ROOT, make_mail
from test_outbox import settings_for
from test_threads import ADMIN, REPORTER, SUPPLIER, Conversation, reply

from gateway.outbox.sender import Sender
from gateway.render import Renderer
from gateway.rules.loader import RulesError, load_rules
from gateway.scheduler.runner import Runner
from gateway.settings import Settings
from gateway.store import open_db

OSLO = ZoneInfo("Europe/Oslo")
ON_CALL = "beredskap@trygghet-agder.example"
RENDERER = Renderer("avviksgateway@trygghet-agder.example", "Avviksgatewayen")


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)


def runner_for(db, ruleset) -> Runner:
    return Runner(db, lambda: ruleset, RENDERER, Settings())


def at(talk: Conversation, when: dt.datetime, raw: bytes, mailbox: str = "support") -> dict:
    """Deliver a message at a given moment (arrival time decides service hours)."""
    with time_machine.travel(when, tick=False):
        return talk.send(raw, mailbox)


def report_at(talk: Conversation, when: dt.datetime, **mail) -> tuple[str, email.message.Message]:
    """A new report at ``when``: its reference and its relay."""
    at(talk, when, make_mail(**({"frm": REPORTER} | mail)))
    ((_, relay),) = mails(talk, "relay")
    return relay["X-Avviksgateway"], relay


def run(runner: Runner, job: str, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        assert runner.run(job, when)


def mails(talk: Conversation, purpose: str) -> list[tuple[list[str], email.message.Message]]:
    return [(to, msg) for p, to, msg in talk.outgoing() if p == purpose]


def text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def digest_runs(db) -> list[str]:
    rows = db.query("SELECT due_at FROM job_runs WHERE job = 'review-digest' ORDER BY due_at")
    return [
        dt.datetime.fromisoformat(r["due_at"]).astimezone(OSLO).strftime("%a %d %H:%M")
        for r in rows
    ]


def test_a_week_of_digests_across_a_holiday_a_weekend_and_a_restart(
    db_path, ruleset, smtp_sink, tmp_path
):
    db = open_db(db_path)
    talk = Conversation(db, ruleset)
    runner = runner_for(db, ruleset)
    sender = Sender(db, settings_for(smtp_sink.port, tmp_path))
    reports = {
        local(2026, 5, 11, 10, 0): ("Alarm 1 uten lyd", ""),
        local(2026, 5, 13, 20, 30): ("Alarm 2 med feil tid", ""),
        local(2026, 5, 16, 12, 0): ("Alarm 3 ute av drift", ""),
        local(2026, 5, 16, 13, 0): ("Alarm 4 haster", "Dette haster."),
    }
    down = (local(2026, 5, 15, 18, 0), local(2026, 5, 15, 21, 0))  # stopped over 19:00
    now = local(2026, 5, 11, 2, 0)  # after Sunday's 19:00 + catch_up_hours
    while now < local(2026, 5, 18, 0, 0):
        if now in reports:
            subject, body = reports[now]
            at(talk, now, make_mail(frm=REPORTER, subject=subject, body=body or "Hei"))
        if down[0] <= now < down[1]:
            runner = runner_for(db, ruleset)  # a new process after the stop
        else:
            with time_machine.travel(now, tick=False):
                if runner.tick(now) or now in reports:
                    sender.deliver_due()  # as the sender thread does, woken by the tick
        now += dt.timedelta(minutes=5)

    # Weekdays at 19:00; Ascension Day (Thu 14 May), Saturday and Sunday (also 17 May)
    # at 09:00 and 19:00; Friday's 19:00, missed while stopped, made up once at 21:00.
    assert digest_runs(db) == [
        "Mon 11 19:00",
        "Tue 12 19:00",
        "Wed 13 19:00",
        "Thu 14 09:00",
        "Thu 14 19:00",
        "Fri 15 19:00",
        "Sat 16 09:00",
        "Sat 16 19:00",
        "Sun 17 09:00",
        "Sun 17 19:00",
    ]
    (friday,) = db.query(
        "SELECT started_at FROM job_runs WHERE job = 'review-digest' AND due_at LIKE ?",
        ["2026-05-15%"],
    )
    assert friday["started_at"].startswith("2026-05-15T19:00")  # 21:00 local, in UTC

    # Each digest went out once, through the outbox, to the on-call duty.
    received = smtp_sink.wait_for(len(list(db["outbox"].rows)))
    assert {r["state"] for r in db["outbox"].rows} == {"sent"}
    digests = [m for m in received if m.message["Subject"].startswith("Til gjennomgang")]
    assert len(digests) == 10 and all(m.rcpt_tos == [ON_CALL] for m in digests)
    bodies = [text(m.message) for m in digests]
    assert "Alarm 1" in bodies[0] and "Alarm 1" not in bodies[1]
    subjects = [str(m.message["Subject"]) for m in digests]
    assert subjects[0].startswith("Til gjennomgang: 1 ny sak siden")  # singular, not "1 nye"
    assert subjects[2].startswith("Til gjennomgang: 0 nye saker siden")
    assert "Ingen nye saker" in bodies[2]  # Wednesday 19:00: alarm 2 came at 20:30
    assert "Alarm 2" in bodies[3]  # ... so it is in Thursday morning's
    assert "Alarm 3" in bodies[7] and "Alarm 4" not in "".join(bodies)  # urgent: not here


def race(runners: list[Runner], job: str, due: dt.datetime) -> list[bool]:
    """Each runner (a gateway of its own) runs ``job`` at ``due`` at the same time; what
    each run returned, sorted."""
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda r=r: results.append(r.run(job, due))) for r in runners
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_two_gateways_on_one_database_send_one_digest(db_path, ruleset):
    open_db(db_path).close()
    due = local(2026, 5, 11, 19, 0)
    runners = [runner_for(open_db(db_path), ruleset) for _ in range(2)]
    assert race(runners, "review-digest", due) == [False, True]
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM outbox WHERE purpose = 'digest'").fetchone()[0] == 1


def test_a_crash_in_the_middle_of_a_job_is_made_up_once_after_the_restart(fresh_db, ruleset):
    runner = runner_for(fresh_db, ruleset)
    real = runner.jobs["review-digest"]

    def dies(ctx):
        real(ctx)  # the digest is queued ...
        raise KeyboardInterrupt  # ... and the process dies before the run is recorded

    runner.jobs["review-digest"] = dies
    now = local(2026, 5, 11, 19, 0)
    with pytest.raises(KeyboardInterrupt):
        runner.tick(now)
    assert fresh_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # rolled back
    restarted = runner_for(fresh_db, ruleset)
    later = now + dt.timedelta(minutes=10)
    assert "review-digest" in restarted.tick(later)
    assert restarted.tick(later + dt.timedelta(minutes=1)) == []
    assert fresh_db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
    # Tuesday's run, two hours late, is made up; after a stop longer than
    # catch_up_hours it is not, and Wednesday's is the one due.
    tuesday, wednesday = local(2026, 5, 12, 19, 0), local(2026, 5, 13, 19, 0)
    assert restarted.due("review-digest", tuesday + dt.timedelta(hours=2)) == tuesday
    assert restarted.due("review-digest", wednesday + dt.timedelta(hours=2)) == wednesday


def test_reminders_before_the_deadline_then_the_overdue_list(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm uten lyd")
    assert talk.case(ref)["measures_due"] == "2026-03-16"  # 10 working days (flow a)
    runner = runner_for(fresh_db, ruleset)
    sent = {}
    day = dt.date(2026, 3, 2)
    while day <= dt.date(2026, 3, 20):
        run(runner, "reminders", local(day.year, day.month, day.day, 7, 0))
        run(runner, "overdue-list", local(day.year, day.month, day.day, 7, 15))
        for purpose, to, msg in talk.outgoing():
            sent.setdefault(purpose, []).append((day, to, text(msg)))
        day += dt.timedelta(days=1)
    # One reminder, two working days before the measures deadline, to the supplier.
    ((day, to, body),) = sent["reminder"]
    assert (day, to) == (dt.date(2026, 3, 12), [SUPPLIER])
    assert "Tiltaksfristen er 16.03.2026" in body
    # The administrators get the case on the overdue list each day after the deadline.
    days = [d for d, _, _ in sent["overdue-list"]]
    assert days == [dt.date(2026, 3, d) for d in (17, 18, 19, 20)]
    assert all(
        to == [ADMIN] and ref in b and "tiltaksfrist" in b for _, to, b in sent["overdue-list"]
    )
    # Measures reported done: no longer overdue.
    at(talk, local(2026, 3, 20, 9, 0), reply(relay, SUPPLIER, "#status til lukking"))
    talk.outgoing()
    run(runner, "overdue-list", local(2026, 3, 23, 7, 15))
    assert mails(talk, "overdue-list") == []


def test_cooperation_is_escalated_after_ten_working_days_across_easter(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(
        talk, local(2026, 3, 25, 10, 0), frm=REPORTER, subject="Samarbeidsproblem med leverandøren"
    )
    # Wed 25 March + 10 working days, skipping Maundy Thursday, Good Friday and Easter
    # Monday (2, 3 and 6 April) and the weekends: Monday 13 April.
    assert talk.case(ref)["escalate_due"] == "2026-04-13"
    runner = runner_for(fresh_db, ruleset)
    for day in (10, 13):
        run(runner, "escalation", local(2026, 4, day, 7, 30))
        assert mails(talk, "escalation") == []
    run(runner, "escalation", local(2026, 4, 14, 7, 30))
    ((to, msg),) = mails(talk, "escalation")
    assert to == ["ledelse@trygghet-agder.example"]  # flow a: escalate_to management
    assert ref in msg["Subject"] and "13.04.2026" in text(msg)
    run(runner, "escalation", local(2026, 4, 15, 7, 30))
    assert mails(talk, "escalation") == []  # once
    assert [e["kind"] for e in talk.events("escalated")] == ["escalated"]


def digest_with_one_case(talk, runner) -> tuple[str, email.message.Message]:
    at(talk, local(2026, 5, 11, 16, 0), make_mail(frm=REPORTER, subject="Alarm uten lyd"))
    ((_, relay),) = mails(talk, "relay")
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, digest),) = mails(talk, "digest")
    return relay["X-Avviksgateway"], digest


def test_haster_from_the_on_call_duty_upgrades_and_relays_at_once(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, digest = digest_with_one_case(talk, runner_for(fresh_db, ruleset))
    assert ref in text(digest)
    msg = at(talk, local(2026, 5, 11, 19, 20), reply(digest, ON_CALL, "#haster\n"))
    assert msg["outcome"] == "command"
    assert talk.case(ref)["urgent"] == 1
    out = {p: (to, m) for p, to, m in talk.outgoing()}
    to, urgent = out["urgent"]
    assert to == [SUPPLIER] and urgent["Subject"].startswith(f"HASTER: [{ref}]")
    assert out["status"][0] == [REPORTER]  # the reporter is told
    assert "oppgradert til hastesak" in text(out["command-answer"][1])
    assert talk.events("urgent")[0]["detail"] == f"upgraded to urgent by {ON_CALL}"


@pytest.mark.parametrize("sender", [SUPPLIER, REPORTER])
def test_haster_from_anyone_else_is_refused(fresh_db, ruleset, sender):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 5, 11, 10, 0), subject="Alarm uten lyd")
    talk.outgoing()
    at(talk, local(2026, 5, 11, 10, 30), reply(relay, sender, "#haster\n"))
    assert talk.case(ref)["urgent"] == 0
    out = [(p, to, m) for p, to, m in talk.outgoing()]
    assert not [p for p, _, _ in out if p == "urgent"]
    ((to, error),) = [(to, m) for p, to, m in out if p == "command-error"]
    assert to == [sender] and "beredskapsvakten og administratorene" in text(error)


def test_vurdert_on_a_digest_notes_every_case_it_lists(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    runner = runner_for(fresh_db, ruleset)
    for hour in (16, 17):
        at(talk, local(2026, 5, 11, hour, 0), make_mail(frm=REPORTER, subject=f"Alarm {hour}"))
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, digest),) = mails(talk, "digest")
    at(talk, local(2026, 5, 11, 19, 30), reply(digest, ON_CALL, "#vurdert Kan vente til i morgen"))
    notes = talk.events("assessment")
    assert len(notes) == 2 and all("Kan vente til i morgen" in n["detail"] for n in notes)
    assert all(c["assessed_at"] for c in talk.db["cases"].rows)
    # #haster on a digest of two cases must name one.
    at(talk, local(2026, 5, 11, 19, 40), reply(digest, ON_CALL, "#haster"))
    (answer,) = [m for p, _, m in talk.outgoing() if p == "command-answer"][-1:]
    assert "skriv referansen" in text(answer)
    assert all(c["urgent"] == 0 for c in talk.db["cases"].rows)


def test_closing_an_urgent_case_opens_a_confidential_review(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(
        talk, local(2026, 5, 12, 10, 0), frm=REPORTER, subject="Alarmsentral nede, haster"
    )
    at(talk, local(2026, 5, 12, 12, 0), reply(relay, SUPPLIER, "#lukk Byttet ruter."))
    ((to, notice),) = mails(talk, "review-due")
    assert sorted(to) == sorted([ADMIN, ON_CALL, REPORTER, SUPPLIER])
    assert "#gjennomgått" in text(notice)
    summary = "Gjennomgått med Vennesla: rutinen for reservestrøm endres."
    at(talk, local(2026, 5, 20, 9, 0), reply(notice, ADMIN, f"#gjennomgått {summary}"))
    case = talk.case(ref)
    assert case["review_done_at"] and summary in talk.events("review-done")[0]["detail"]
    out = talk.outgoing()
    assert [p for p, _, _ in out] == ["command-answer"]  # nothing relayed to the parties
    raws = [
        r["raw"]
        for r in talk.db.query(
            "SELECT r.raw FROM messages m JOIN raw_messages r ON r.id = m.id "
            "WHERE m.direction = 'out'"
        )
    ]
    assert not any(b"reservestr" in r for r in raws)


def test_schedules_with_mistakes_are_reported_with_their_lines(tmp_path):
    source = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    broken = source.replace("reminders: {days: working-days", "reminders: {days: weekdayz")
    broken = broken.replace("escalate_to: response_centre_lead\n  c:", "escalate_to: nobody\n  c:")
    path = tmp_path / "rules.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    problems = "\n".join(caught.value.problems)
    lines = broken.splitlines()
    days_line = next(i for i, line in enumerate(lines, 1) if "weekdayz" in line)
    nobody_line = next(i for i, line in enumerate(lines, 1) if "escalate_to: nobody" in line)
    assert f"rules.yaml:{days_line}: follow_up: schedules: reminders: days" in problems
    assert f"rules.yaml:{nobody_line}: flows: b: escalate_to: unknown party 'nobody'" in problems


def test_the_monthly_report_job_sends_last_month_to_management(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    at(talk, local(2026, 5, 12, 10, 0), make_mail(frm=REPORTER, subject="Alarm uten lyd"))
    talk.outgoing()
    runner = runner_for(fresh_db, ruleset)
    with time_machine.travel(local(2026, 6, 1, 6, 0), tick=False):
        assert runner.tick(local(2026, 6, 1, 6, 0)) == ["monthly-report", "retention"]
    ((to, report),) = mails(talk, "report")
    assert to == ["ledelse@trygghet-agder.example"]
    assert "2026" in report["Subject"] and report.get_content_type() == "multipart/mixed"
    assert runner.last_run("monthly-report")["detail"].startswith("report for 2026-05")


def test_the_monthly_report_is_worked_out_before_the_write_transaction(
    fresh_db, ruleset, monkeypatch
):
    """The report's figures and chart are made with no write held, so that intake does
    not wait for them; only queuing it takes the write, with the claim of the run."""
    import gateway.report

    made = gateway.report.monthly_report
    holding: list[bool] = []

    def watched(db, *args, **kwargs):
        holding.append(db.conn.in_transaction)
        return made(db, *args, **kwargs)

    monkeypatch.setattr(gateway.report, "monthly_report", watched)
    runner = runner_for(fresh_db, ruleset)
    assert runner.run("monthly-report", local(2026, 6, 1, 6, 0))
    assert holding == [False]
    assert runner.last_run("monthly-report")["result"] == "ok"
    assert not runner.run("monthly-report", local(2026, 6, 1, 6, 0))  # once
    assert holding == [False]  # and not even worked out again


def test_gateway_serve_runs_the_scheduler_and_makes_up_a_missed_run(
    gateway_process, smtp_sink, tmp_path
):
    """The daemon: a first start sends nothing that fell due before it; after a stop, a
    digest that fell due meanwhile (five minutes ago) is sent once at the start."""
    from servers import free_port
    from test_end_to_end import settings_toml

    due = (dt.datetime.now(OSLO) - dt.timedelta(minutes=5)).strftime("%H:%M")
    source = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        source.replace(
            '      - {days: working-days, at: "19:00"}\n'
            '      - {days: days-off, at: ["09:00", "19:00"]}',
            f'      - {{days: every-day, at: "{due}"}}',
        ),
        encoding="utf-8",
    )
    settings = settings_toml(tmp_path / "var", free_port(), smtp_sink.port)
    gateway = gateway_process(f'rules_file = "{rules}"\n' + settings)
    gateway.start()  # the first start: "gateway ready" comes after the scheduler's start
    assert gateway.stop() == 0
    db = gateway.db()
    (first,) = db.query("SELECT due_at, result FROM job_runs WHERE job = 'review-digest'")
    assert first["result"] == "start" and smtp_sink.messages == []
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0  # nothing queued
    # As if that start had been yesterday, and the gateway stopped since.
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    db.execute(
        "UPDATE job_runs SET due_at = ?, started_at = ? WHERE job = 'review-digest'",
        [yesterday.isoformat(timespec="seconds")] * 2,
    )
    db.conn.commit()
    gateway.start()
    (got,) = smtp_sink.wait_for(1)
    assert got.rcpt_tos == [ON_CALL] and got.message["Subject"].startswith("Til gjennomgang")
    assert gateway.stop() == 0
    gateway.start()  # a restart does not send it again
    assert gateway.stop() == 0
    runs = [r["result"] for r in db.query(
        "SELECT result FROM job_runs WHERE job = 'review-digest' ORDER BY due_at")]  # fmt: skip
    assert runs == ["start", "ok"] and len(smtp_sink.messages) == 1


def test_a_forged_on_call_address_gives_no_commands(fresh_db, ruleset):
    """From: the on-call duty, but the domain failed DMARC at our mail server."""
    talk = Conversation(fresh_db, ruleset)
    ref, digest = digest_with_one_case(talk, runner_for(fresh_db, ruleset))
    forged = {"Authentication-Results": "mx.trygghet-agder.example; dmarc=fail "
              "header.from=trygghet-agder.example"}  # fmt: skip
    msg = at(talk, local(2026, 5, 11, 19, 20), reply(digest, ON_CALL, "#haster\n", headers=forged))
    assert msg["outcome"] == "triage" and talk.case(ref)["urgent"] == 0
    assert [p for p, _, _ in talk.outgoing()] == ["triage"]


def test_the_closing_deadline_gets_its_own_reminder(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(
        talk,
        local(2026, 3, 2, 10, 0),
        frm="operator.responssenter@kristiansand.kommune.example",
        subject="Plattform",
    )  # flow d: measures 5, close 20 working days
    assert talk.case(ref)["close_due"] == "2026-03-30"
    at(talk, local(2026, 3, 3, 9, 0), reply(relay, SUPPLIER, "#status til lukking"))
    talk.outgoing()
    runner = runner_for(fresh_db, ruleset)
    reminded = []
    for day in range(4, 31):
        run(runner, "reminders", local(2026, 3, day, 7, 0))
        reminded += [(day, text(m)) for _, m in mails(talk, "reminder")]
    # Measures reported done: no measures reminder; the closing one, two working days
    # before Monday 30 March, on Thursday 26 March, once.
    ((day, body),) = reminded
    assert day == 26 and "Lukkefristen er 30.03.2026" in body and "Tiltaksfristen" not in body


def test_a_reply_about_the_review_does_not_reopen_the_closed_case(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 5, 12, 10, 0), subject="Alarmsentral nede, haster")
    at(talk, local(2026, 5, 12, 12, 0), reply(relay, SUPPLIER, "#lukk Byttet ruter."))
    ((_, notice),) = mails(talk, "review-due")
    msg = at(talk, local(2026, 5, 13, 9, 0), reply(notice, REPORTER, "Passer tirsdag kl. 10."))
    assert msg["outcome"] == "thread" and talk.case(ref)["status"] == "lukket"
    assert [to for p, to, _ in talk.outgoing() if p == "reply"] == [[SUPPLIER]]


def test_a_case_decided_after_the_digest_comes_in_the_next_one(fresh_db, ruleset):
    """Triaged at 16:00, decided by an administrator at 20:00, after the 19:00 digest: it
    arrived before that digest, and must still reach the on-call duty's next one."""
    talk = Conversation(fresh_db, ruleset)
    runner = runner_for(fresh_db, ruleset)
    raw = make_mail(frm="ukjent@gmail.example", subject="Alarm hos bruker")
    at(talk, local(2026, 5, 11, 16, 0), raw)
    ((_, note),) = mails(talk, "triage")
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, first),) = mails(talk, "digest")
    assert "Ingen nye saker" in text(first)
    at(talk, local(2026, 5, 11, 20, 0), reply(note, ADMIN, "#send support@leverandor.example a"))
    run(runner, "review-digest", local(2026, 5, 12, 19, 0))
    ((_, second),) = mails(talk, "digest")
    assert "Alarm hos bruker" in text(second)


def test_a_mistyped_command_from_the_on_call_duty_gets_an_answer(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, digest = digest_with_one_case(talk, runner_for(fresh_db, ruleset))
    msg = at(talk, local(2026, 5, 11, 19, 20), reply(digest, ON_CALL, "#vurdret Kan vente"))
    assert msg["outcome"] == "command"
    ((to, answer),) = mails(talk, "command-answer")
    assert to == [ON_CALL] and "ukjent kommando #vurdret" in text(answer)
    assert "#vurdert" in text(answer)  # the valid ones are listed


def test_a_forged_administrator_cannot_write_into_a_case(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 5, 12, 10, 0), subject="Alarm uten lyd")
    forged = {"Authentication-Results": "mx.example; dmarc=fail header.from=trygghet-agder.example"}
    msg = at(talk, local(2026, 5, 12, 11, 0), reply(relay, ADMIN, "Hemmelig.", headers=forged))
    assert msg["outcome"] == "triage" and msg["case_id"] is None
    assert [p for p, _, _ in talk.outgoing()] == ["triage"]


def test_a_copy_answering_is_not_the_receivers_first_answer(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 5, 16, 12, 0), subject="Alarm, haster")
    assert ON_CALL in relay["Cc"]  # urgent on a Saturday: the on-call duty has a copy
    at(talk, local(2026, 5, 16, 12, 30), reply(relay, ON_CALL, "Mottatt."))
    assert talk.case(ref)["first_answer_at"] is None
    at(talk, local(2026, 5, 16, 13, 0), reply(relay, SUPPLIER, "Vi ser på det."))
    assert talk.case(ref)["first_answer_at"].startswith("2026-05-16T11:00")


def test_a_reminder_that_would_carry_personal_data_is_not_sent(fresh_db, ruleset, monkeypatch):
    """Follow-up mail fails closed as relays do: should the follow-up's own redaction of
    the case subject miss (here: switched off), the final bytes are read before the
    reminder is queued, the job fails, and the supplier gets nothing."""
    import dataclasses

    import gateway.followup.common as common

    keeping = dataclasses.replace(
        ruleset, privacy=dataclasses.replace(ruleset.privacy, keep_original=True)
    )
    talk = Conversation(fresh_db, keeping)
    report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm for 15108695088 uten lyd")
    talk.outgoing()
    monkeypatch.setattr(common, "redacted", lambda ruleset, text: text or "")
    runner = runner_for(fresh_db, keeping)
    run(runner, "reminders", local(2026, 3, 12, 7, 0))
    assert runner.last_run("reminders")["result"] == "failed"
    assert [p for p, _, _ in talk.outgoing()] == []


def test_a_digest_marks_its_cases_in_short_writes_and_a_crash_lists_them_again(
    fresh_db, ruleset, monkeypatch
):
    """The marks follow the run's claim, ``MARKS`` cases to a write (a fortnight's backlog
    at a million cases was one write of 110 ms). Cut short after the first, the cases
    not marked come again in the next digest: listed twice, never left out."""
    from gateway.followup import digest

    monkeypatch.setattr(digest, "MARKS", 2)
    talk = Conversation(fresh_db, ruleset)
    runner = runner_for(fresh_db, ruleset)
    refs = [report_at(talk, local(2026, 5, 11, 10 + n, 0), subject=f"Alarm {n}")[0]
            for n in range(3)]  # fmt: skip
    marked = digest.events

    def cut_short(db, kind, detail, case_ids, row):
        if db.execute("SELECT COUNT(*) FROM events WHERE kind = 'in-digest'").fetchone()[0]:
            raise OSError("power cut")
        marked(db, kind, detail, case_ids, row)

    monkeypatch.setattr(digest, "events", cut_short)
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, first),) = mails(talk, "digest")
    assert all(ref in text(first) for ref in refs)
    assert fresh_db["events"].count_where("kind = 'in-digest'") == 2
    last = runner.last_run("review-digest")  # sent, and said that the marks broke off
    assert last["result"] == "failed" and "power cut" in last["detail"]
    monkeypatch.setattr(digest, "events", marked)
    run(runner, "review-digest", local(2026, 5, 12, 19, 0))
    ((_, second),) = mails(talk, "digest")
    assert refs[2] in text(second) and refs[0] not in text(second)
    assert fresh_db["events"].count_where("kind = 'in-digest'") == 3  # the third, now


def test_a_digest_marks_each_case_it_lists_once_with_its_mail(fresh_db, ruleset):
    """The marks (one statement for all the cases: a fortnight's backlog is thousands)
    say which digest listed each case, and keep it out of the next one."""
    talk = Conversation(fresh_db, ruleset)
    runner = runner_for(fresh_db, ruleset)
    refs = [report_at(talk, local(2026, 5, 11, 10 + n, 0), subject=f"Alarm {n}")[0]
            for n in range(3)]  # fmt: skip
    run(runner, "review-digest", local(2026, 5, 11, 19, 0))
    ((_, digest),) = mails(talk, "digest")
    assert all(ref in text(digest) for ref in refs)
    marks = fresh_db.execute(
        "SELECT c.reference, e.detail, m.message_id FROM events e JOIN cases c ON c.id = e.case_id "
        "JOIN messages m ON m.id = e.message_id WHERE e.kind = 'in-digest' ORDER BY c.id"
    ).fetchall()
    assert [ref for ref, _, _ in marks] == refs
    assert [mid for _, _, mid in marks] == [digest["Message-ID"]] * 3
    assert all(detail == f"in the review digest to {ON_CALL}" for _, detail, _ in marks)
    run(runner, "review-digest", local(2026, 5, 12, 19, 0))
    ((_, second),) = mails(talk, "digest")
    assert "Ingen nye saker" in text(second)
