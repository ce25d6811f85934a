"""The deviation record (issue 19): fields set by e-mail, the short form, closing as TQM."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner
from conftest import make_mail
from hypothesis import given
from hypothesis import strategies as st
from test_threads import REPORTER, SUPPLIER, Conversation, open_case, reply

from gateway.cli import cli
from gateway.rules.record import Closing, RecordRules
from gateway.threads.commands import parse_commands
from gateway.threads.record_commands import parse_date

CATEGORIES = {"alarm": {"sv": "larm", "en": "alarm"}, "nett": {"sv": "nät", "en": "network"}}


def record_rules(**closing) -> RecordRules:
    words = {"alarm": "alarm", "larm": "alarm", "nett": "nett", "nät": "nett", "network": "nett"}
    return RecordRules(categories=words, category_keys=("alarm", "nett"),
                       closing=Closing(**closing))  # fmt: skip


@pytest.fixture
def tqm(fresh_db, ruleset):
    """A deployment that closes as TQM does: cause and done measures, the reporter confirms."""
    rules = record_rules(require_cause=True, require_measures_done=True, confirm_by="reporter")
    return Conversation(fresh_db, dataclasses.replace(ruleset, record=rules))


def body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def sent(talk) -> dict:
    return {p: (to, m) for p, to, m in talk.outgoing()}


def test_fields_are_set_by_commands_with_events_and_the_reporter_is_told(tqm):
    ref, relay = open_case(tqm)
    tqm.send(reply(relay, SUPPLIER, "#hendelsesdato 28.11.2026\n#kategori larm\n"
                   "#årsak Batteriet var utladet\n#strakstiltak Ringte brukeren\n"))  # fmt: skip
    case = tqm.case(ref)
    assert (case["event_date"], case["category"], case["cause"], case["immediate_measure"]) == (
        "2026-11-28",
        "alarm",
        "Batteriet var utladet",
        "Ringte brukeren",
    )
    assert len(tqm.events("record")) == 4
    to, notice = sent(tqm)["status"]
    assert to == [REPORTER]
    text = body(notice)
    assert "Årsak: Batteriet var utladet" in text and "Hendelsesdato: 2026-11-28" in text


def test_a_malformed_or_refused_field_gets_the_command_error_with_the_valid_forms(tqm):
    ref, relay = open_case(tqm)
    tqm.send(reply(relay, SUPPLIER, "#hendelsesdato 31.02.2026\n#kategori vær\nTekst."))
    to, error = sent(tqm)["command-error"]
    text = body(error)
    assert to == [SUPPLIER] and "er ikke en dato" in text and "ukjent kategori" in text
    assert "#tiltak utført <nummer>" in text and "alarm, nett" in text
    assert tqm.case(ref)["event_date"] is None
    # the reporter may set the date of the event, not the cause
    tqm.send(make_mail(frm=REPORTER, subject=f"SV: [{ref}] x",
                       body="#hendelsesdato 2026-11-27\n#årsak Noe annet\n"))  # fmt: skip
    case = tqm.case(ref)
    assert (case["event_date"], case["cause"]) == ("2026-11-27", None)
    assert "du kan ikke sette årsak" in body(sent(tqm)["command-error"][1])


def test_the_life_cycle_form_measures_refused_close_til_lukking_and_confirmation(tqm):
    ref, relay = open_case(tqm)
    assert "Årsak:" in body(relay) and "Strakstiltak:" in body(relay)
    form = (
        "Hei, vi har sett på saken.\n\nÅrsak: Gammel firmware\nStrakstiltak: Restartet "
        "sentralen\nTiltak: Oppdatere firmware frist 2026-12-15 ansvarlig drift@leverandor."
        "example\nTiltak: Kontrollere alle sentraler, frist 15.01.2027\n\n> Årsak: sitert\n"
    )
    tqm.send(reply(relay, SUPPLIER, form))
    case = tqm.case(ref)
    assert (case["cause"], case["immediate_measure"]) == ("Gammel firmware", "Restartet sentralen")
    measures = list(tqm.db.query("SELECT * FROM case_measures ORDER BY number"))
    assert [(m["text"], m["due"], m["owner"], m["state"]) for m in measures] == [
        ("Oppdatere firmware", "2026-12-15", "drift@leverandor.example", "planned"),
        ("Kontrollere alle sentraler", "2027-01-15", None, "planned"),
    ]
    (_, relayed) = sent(tqm)["reply"]
    assert "Tiltak 2:" in body(relayed) and "Årsak:         Gammel firmware" in body(relayed)
    tqm.send(reply(relay, SUPPLIER, "#tiltak utført 1\n#lukk\n"))
    assert tqm.case(ref)["status"] == "under behandling"
    assert "før tiltak 2 er utført" in body(sent(tqm)["command-error"][1])
    tqm.send(reply(relay, SUPPLIER, "#tiltak utført 2\n#lukk\n"))
    case = tqm.case(ref)
    assert (case["status"], case["close_requested_by"]) == ("til lukking", SUPPLIER)
    assert case["closed_at"] is None
    to, request = sent(tqm)["closing-request"]
    assert to == [REPORTER] and "#bekreft" in body(request)
    tqm.send(reply(request, REPORTER, "#bekreft\n"))
    case = tqm.case(ref)
    assert case["status"] == "lukket" and case["closed_at"]
    assert tqm.events("close-confirmed")


def test_avvis_sends_the_case_back_and_only_the_confirmer_may(tqm):
    ref, relay = open_case(tqm)
    tqm.send(reply(relay, SUPPLIER, "#årsak Feil\n#lukk Byttet boks\n"))
    assert tqm.case(ref)["status"] == "til lukking"
    tqm.send(reply(relay, SUPPLIER, "#bekreft\n"))
    assert "bare " + REPORTER in body(sent(tqm)["command-error"][1])
    tqm.send(make_mail(frm=REPORTER, subject=f"SV: [{ref}] x", body="#avvis Alarmen er rød\n"))
    assert tqm.case(ref)["status"] == "under behandling"
    assert "Alarmen er rød" in tqm.events("close-rejected")[0]["detail"]


def test_closing_needs_a_cause_or_says_so_and_uten_tiltak_is_explicit(tqm):
    ref, relay = open_case(tqm)
    tqm.send(reply(relay, SUPPLIER, "#lukk uten tiltak Ingen feil funnet\n"))
    assert "før årsaken er satt" in body(sent(tqm)["command-error"][1])
    tqm.send(reply(relay, SUPPLIER, "#årsak Brukerfeil\n#lukk uten tiltak Ingen feil funnet\n"))
    case = tqm.case(ref)
    assert (case["status"], case["closed_without_measures"]) == ("til lukking", "Ingen feil funnet")


def test_requirements_switched_off_and_no_confirmer_close_at_once(fresh_db, ruleset):
    talk = Conversation(fresh_db, dataclasses.replace(ruleset, record=record_rules()))
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#tiltak Bytte batteri\n#tiltak utført 1\n#lukk\n"))
    case = talk.case(ref)
    assert (case["status"], case["measure"]) == ("lukket", "Bytte batteri")


def test_the_reference_deployment_closes_with_lukk_and_a_measure_as_before(talk):
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Nytt batteri.\n"))
    case = talk.case(ref)
    assert (case["status"], case["measure"]) == ("lukket", "Nytt batteri.")
    row = next(talk.db.query("SELECT text, state FROM case_measures"))
    assert (row["text"], row["state"]) == ("Nytt batteri.", "done")


@pytest.fixture
def talk(fresh_db, ruleset):
    return Conversation(fresh_db, ruleset)


def test_swedish_and_english_forms():
    commands, errors = parse_commands("#orsak Gammal\n#åtgärd Byta senast 2026-12-01\n"
                                      "#category network\n#confirm\nCause: old\n")  # fmt: skip
    assert not errors
    assert [(c.verb, c.value) for c in commands] == [
        ("cause", "Gammal"), ("measure", "Byta"), ("category", "network"), ("confirm", ""),
        ("cause", "old")]  # fmt: skip
    assert commands[1].due == "2026-12-01"


@given(st.dates())
def test_both_date_forms_read_as_the_same_day(day):
    assert parse_date(day.isoformat()) == day.isoformat()
    assert parse_date(f"{day.day}.{day.month}.{day.year:04d}") == day.isoformat()


def test_cases_show_lists_the_record(tqm, tmp_path):
    ref, relay = open_case(tqm)
    tqm.send(reply(relay, SUPPLIER, "#årsak Feil\n#tiltak Bytte frist 2026-12-15\n"))
    from gateway.cli.record import record_lines

    case_id = tqm.case(ref)["id"]
    lines = record_lines(tqm.db, case_id)
    assert "cause             Feil" in lines
    assert "measure 1 planned  Bytte, due 2026-12-15" in lines


def test_a_case_log_from_before_the_record_is_upgraded_in_place(db_path, ruleset):
    """A case log made by the code before issue 19 (migrations up to m011, a case opened
    and answered through the pipeline, one closed as #lukk closed it) gets the record's
    columns and table; its rows stay as they were and its cases go on."""
    from sqlite_utils import Database

    from gateway.store import migrations, open_db

    old = Database(db_path)
    migrations.apply(old, stop_before="m012_i19_record_fields")
    # today's pipeline makes the old log's cases: its duplicate check names this index
    old.execute("CREATE INDEX idx_messages_sha256_in ON messages (sha256) WHERE direction = 'in'")
    before = Conversation(old, ruleset)
    ref, relay = open_case(before)
    closed, _ = open_case(before)
    old.execute("UPDATE cases SET status = 'lukket', measure = 'Byttet', closed_at = "
                "'2026-05-01T10:00:00.000+00:00' WHERE reference = ?", [closed])  # fmt: skip
    old.conn.commit()
    rows = {r["reference"]: r for r in old.query("SELECT * FROM cases")}
    old.close()

    db = open_db(db_path)
    assert {
        "event_date",
        "category",
        "cause",
        "immediate_measure",
        "close_requested_at",
        "closed_without_measures",
        "escalation_step",
    } <= set(db["cases"].columns_dict)
    assert db["case_measures"].count == 0
    for reference, row in rows.items():
        after = next(db.query("SELECT * FROM cases WHERE reference = ?", [reference]))
        assert {k: after[k] for k in row} == row and after["cause"] is None
    talk = Conversation(db, ruleset)
    talk.send(reply(relay, SUPPLIER, "#årsak Gammel ruter\n#tiltak Ny ruter\n"))
    assert talk.case(ref)["cause"] == "Gammel ruter"
    assert db["case_measures"].count == 1


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("    confirm_by: none", "    confirm_by: boss", "confirm_by: one of"),
        ("    require_cause: false", "    require_cause: maybe", "require_cause: true or false"),
        (
            "    require_measures_done: false",
            "    closing_owners: {suplier: a@b.example}",
            "unknown party 'suplier'",
        ),
        ("  closing:\n", "  set_by:\n    cause: [melder]\n  closing:\n", "unknown side(s)"),
    ],
)
def test_the_record_section_is_checked_with_lines(tmp_path, old, new, message):
    from test_rules_loader import broken, problems

    path, _ = broken(tmp_path, old, new)
    assert any(message in p for p in problems(path)), problems(path)


def test_the_shipped_record_section_keeps_closing_as_before(ruleset):
    record = ruleset.record
    assert not record.closing.two_step and not record.closing.require_cause
    assert record.categories["larm"] == "alarm" and record.categories["software"] == "programvare"
    assert record.may_set("event_date", "reporter") and not record.may_set("cause", "reporter")


def test_cases_show_and_stats_on_the_command_line(ruleset, tmp_path):
    from conftest import ROOT

    from gateway.store import open_db

    path = tmp_path / "gateway.db"
    talk = Conversation(open_db(path), dataclasses.replace(ruleset, record=record_rules()))
    ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#årsak Feil\n#tiltak Bytte frist 2026-12-15\n"
                    "#tiltak Teste\n#tiltak utført 2\n#kategori alarm\n"))  # fmt: skip
    talk.db.close()
    shown = CliRunner().invoke(cli, ["cases", "show", ref, "--database", str(path)])
    assert shown.exit_code == 0, shown.output
    shown_lines = (
        "cause             Feil",
        "category          alarm",
        "measure 1 planned  Bytte, due 2026-12-15",
        "measure 2 done     Teste",
    )
    for line in shown_lines:
        assert line in shown.output
    assert "measure-done" in shown.output  # the events
    rules = ["--rules", str(ROOT / "rules.yaml")]
    stats = CliRunner().invoke(cli, ["stats", "--database", str(path), *rules])
    assert stats.exit_code == 0, stats.output
    assert "Measures: 1 planned, 1 done" in stats.output and "Feil" not in stats.output


def test_oversikt_lists_a_participants_open_cases_and_tells_an_outsider_nothing(talk):
    ref, relay = open_case(talk)
    other, _ = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Byttet\n"))  # the first one is closed
    talk.outgoing()
    msg = talk.send(make_mail(frm=REPORTER, subject="Hva er åpent?", body="#oversikt\n"))
    assert msg["outcome"] == "overview" and msg["case_id"] is None
    ((purpose, to, answer),) = talk.outgoing()
    assert (purpose, to) == ("overview", [REPORTER])
    text = body(answer)
    assert other in text and ref not in text and "Leverandøren" in text
    assert "Trygghetsalarm" not in text  # no subject, no text
    # one of the supplier's own addresses (the receiving party) sees it too, in English
    talk.send(make_mail(frm="tekniker@leverandor.example", subject="x", body="#overview\n"))
    ((_, to, answer),) = talk.outgoing()
    assert to == ["tekniker@leverandor.example"] and other in body(answer)
    before = talk.db["cases"].count
    msg = talk.send(make_mail(frm="ukjent@gmail.example", subject="x", body="#oversikt\n"))
    assert msg["outcome"] == "overview" and talk.outgoing() == []
    assert talk.db["cases"].count == before  # no case, no triage note, nothing sent


def test_a_party_copied_by_an_informed_rule_gets_answers_and_the_closing(fresh_db, ruleset):
    """The operations dialogue group, copied on flow a of common interest, on the side
    "informed": answers and the closing as information, no commands, no deadlines."""
    group = "driftsdialog@kristiansand.kommune.example"
    rules = tuple(
        dataclasses.replace(r, actions=dataclasses.replace(r.actions, informed=True))
        if r.name == "common-interest" else r
        for r in ruleset.rules
    )  # fmt: skip
    talk = Conversation(fresh_db, dataclasses.replace(ruleset, rules=rules))
    talk.send(make_mail(frm=REPORTER, subject="Alarmer faller ut, av felles interesse"))
    relay = next(m for p, to, m in talk.outgoing() if p == "relay")
    ref = relay["X-Avviksgateway"]
    side = next(fresh_db.query("SELECT side FROM participants WHERE address = ?", [group]))
    assert side["side"] == "informed", "the rule must copy the group"
    talk.send(reply(relay, SUPPLIER, "Vi ser på det."))
    sent = {p: to for p, to, _ in talk.outgoing()}
    assert sent["reply"] == [REPORTER] and sent["information"] == [group]
    talk.send(make_mail(frm=group, subject=f"SV: [{ref}] x", body="#lukk Ferdig\n"))
    assert talk.case(ref)["status"] != "lukket"
    errors = {p: (to, m) for p, to, m in talk.outgoing()}
    assert "til orientering" in body(errors["command-error"][1])
    talk.send(reply(relay, SUPPLIER, "#lukk Byttet sentral\n"))
    sent = {p: to for p, to, _ in talk.outgoing()}
    assert sent["information"] == [group] and talk.case(ref)["status"] == "lukket"
    assert talk.case(ref)["first_answer_at"]


def test_stats_by_severity_category_and_cause_given_never_read_the_cause(tqm):
    import datetime as dt

    from gateway.stats import figures

    ref, relay = open_case(tqm)
    open_case(tqm)
    tqm.send(reply(relay, SUPPLIER, "#alvorlighet høy\n#kategori alarm\n#årsak Hemmelig årsak\n"))
    statements: list[str] = []
    tqm.db.conn.set_trace_callback(statements.append)
    # the deployment's date, as the cases' local days count (UTC's is a day behind
    # from midnight in Oslo until midnight UTC)
    today = tqm.ruleset.hours.local(dt.datetime.now(dt.UTC)).date()
    rows = figures(tqm.db, tqm.ruleset, today.replace(month=1, day=1), today,
                   ["severity", "category", "cause-given"])  # fmt: skip
    tqm.db.conn.set_trace_callback(None)
    assert {tuple(r.key.values()): r.opened for r in rows} == {
        ("høy", "alarm", "yes"): 1, ("-", "-", "no"): 1}  # fmt: skip
    read = " ".join(statements)
    assert "cause IS NOT NULL" in read and "subject" not in read and "SELECT cause" not in read


def test_a_measure_without_text_is_refused_in_the_writers_own_word():
    from gateway.threads.record_commands import record_command

    assert record_command("åtgärd", "senast 2026-12-15", "#åtgärd senast 2026-12-15") == (
        "needs_text",
        "åtgärd",
    )
    assert record_command("tiltak", "", "#tiltak")[0] == "needs_text"


def test_a_closing_measure_is_listed_once_in_the_status_notice(talk):

    _ref, relay = open_case(talk)
    talk.send(reply(relay, SUPPLIER, "#lukk Byttet batteri i alarmen"))
    (notice,) = [m for p, _, m in talk.outgoing() if p == "status"]
    body = notice.get_body(("plain",)).get_content()
    assert "Tiltak 1:      Byttet batteri i alarmen (utført)" in body
    assert "Tiltak:        Byttet batteri" not in body  # not again as the old measure line
