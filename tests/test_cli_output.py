"""What the command line prints for people (issue 17, point 14): local times with their
zone, header rows and stable columns, no None or False, quarantine show without the body
unless --raw, and cases search."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import ROOT, make_mail
from test_threads import REPORTER, SUPPLIER, Conversation, reply

from gateway.cli import cli
from gateway.intake import accept
from gateway.safety import quarantine
from gateway.store import open_db, write

SECRET_BODY = "Innholdet som ikke skal vises uten --raw."
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")  # a stored UTC time, printed as it is
LOCAL = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T")


@pytest.fixture(scope="module")
def case_log(tmp_path_factory, ruleset):
    """A populated case log: two cases (one answered), a triaged message, and one in
    quarantine, all through the pipeline but the last."""
    path = tmp_path_factory.mktemp("cli") / "gateway.db"
    db = open_db(path)
    talk = Conversation(db, ruleset)
    talk.send(make_mail(frm=REPORTER, subject="Trygghetsalarm uten kontakt"))
    (_, _, relay), _receipt = talk.outgoing()
    talk.send(reply(relay, SUPPLIER, "Vi ser på det."))
    talk.send(make_mail(frm=REPORTER, subject="HASTER: alarm i Risør og Valle"), "responssenter")
    talk.send(make_mail(frm="ukjent@annet.example", subject="Hei", body="Hvem er dere?"))
    row = accept(db, b"Subject: broken\r\n\r\n" + SECRET_BODY.encode(), "support", "test")
    with write(db):
        quarantine(db, row, "could not be parsed")
    db.close()
    return path, row


def run(case_log, *words: str) -> str:
    path, _row = case_log
    where = ["--database", str(path)]
    if words[0] in ("cases", "triage", "quarantine"):
        words = (words[0], words[1], *where, *words[2:])
    result = CliRunner().invoke(cli, list(words))
    assert result.exit_code == 0, result.output
    return result.output


def all_outputs(case_log) -> dict[str, str]:
    _path, row = case_log
    return {
        "cases list": run(case_log, "cases", "list"),
        "cases show": run(case_log, "cases", "show", "AVVIK-2026-0001"),
        "cases search": run(case_log, "cases", "search", "kontakt"),
        "triage list": run(case_log, "triage", "list"),
        "quarantine list": run(case_log, "quarantine", "list"),
        "quarantine show": run(case_log, "quarantine", "show", str(row)),
    }


def test_no_none_false_or_utc_times_in_human_output(case_log):
    for name, output in all_outputs(case_log).items():
        assert "None" not in output and "False" not in output, (name, output)
        assert not ISO.search(output), (name, output)
        assert LOCAL.search(output), (name, output)  # every one shows a time, with its zone


def test_lists_have_header_rows_and_stable_columns(case_log):
    cases = run(case_log, "cases", "list").splitlines()
    assert cases[0].split() == ["reference", "flow", "kind", "status", "urgent", "municipality",
                                "receiving", "party", "received", "close", "due", "their",
                                "ticket"]  # fmt: skip
    starts = {line.index(LOCAL.search(line).group()) for line in cases[1:-1]}
    assert len(starts) == 1 and cases[0].index("received") in starts  # one column
    triage = run(case_log, "triage", "list").splitlines()
    assert triage[0].split() == ["id", "received", "outcome", "from", "subject", "reason"]
    assert any("Hei" in line for line in triage[1:]), triage  # the subject is there
    assert triage[-1] == "1 message(s) waiting"


def test_quarantine_show_prints_headers_and_reason_the_body_only_with_raw(case_log):
    _path, row = case_log
    shown = run(case_log, "quarantine", "show", str(row))
    assert "reason       could not be parsed" in shown and "Subject: broken" in shown
    assert SECRET_BODY not in shown and "--raw" in shown
    assert SECRET_BODY in run(case_log, "quarantine", "show", str(row), "--raw")


@pytest.mark.parametrize(
    ("words", "found"),
    [
        (["--reference", "2026-0001"], ["AVVIK-2026-0001"]),
        (["--party", "supplier"], ["AVVIK-2026-0001"]),
        (["--municipality", "Vennesla"], ["AVVIK-2026-0002", "AVVIK-2026-0001"]),
        (["--municipality", "Vennesla", "--party", "response_centre"], ["AVVIK-2026-0002"]),
        (["--municipality", "Valle"], []),
        (["--status", "registrert", "--reference", "AVVIK-2026-0001"], []),
        (["Vi ser på det"], ["AVVIK-2026-0001"]),  # the answer's text, through case_text
        (["finnes ikke"], []),
    ],
)
def test_cases_search(case_log, words, found):
    lines = run(case_log, "cases", "search", *words).splitlines()
    assert lines[0].startswith("reference")
    assert [line.split()[0] for line in lines[1:-1]] == found
    assert lines[-1] == f"{len(found)} case(s)"


def test_jobs_show_local_times_with_the_zone(case_log):
    path, _row = case_log
    rules = str(ROOT / "rules.yaml")
    output = CliRunner().invoke(cli, ["jobs", "--database", str(path), "--rules", rules]).output
    assert LOCAL.search(output) and "None" not in output


def test_local_times_name_summer_and_winter_time_and_fit_their_column():
    from gateway.cli.cases import CASE_HEADER, CASE_WIDTHS
    from gateway.cli.output import local_time

    assert local_time("2026-07-01T08:00:00.000+00:00") == "2026-07-01 10:00 CEST"
    assert local_time("2026-12-03T09:15:00") == "2026-12-03 10:15 CET"  # stored UTC, no zone
    assert local_time(None) == "-"
    assert CASE_WIDTHS[CASE_HEADER.index("received")] >= len("2026-07-01 10:00 CEST")
