"""``gateway report --period`` (issue 19, point 8): a period against the one before."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner
from conftest import ROOT, make_mail
from test_threads import REPORTER, Conversation

from gateway.cli import cli
from gateway.period_report import period, report
from gateway.store import open_db

OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize("text, first, last, months", [
    ("2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31), 12),
    ("2026-H1", dt.date(2026, 1, 1), dt.date(2026, 6, 30), 6),
    ("2026-Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30), 3),
    ("2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31), 1),
])  # fmt: skip
def test_periods(text, first, last, months):
    assert period(text) == (first, last, months)


def test_q3_against_q2_by_hand(ruleset, tmp_path):
    path = tmp_path / "gateway.db"
    talk = Conversation(open_db(path), ruleset)
    # Q2: two reports from Vennesla; Q3: three (one from Arendal)
    for day, sender in [((2026, 4, 14), REPORTER), ((2026, 5, 5), REPORTER),
                        ((2026, 7, 7), REPORTER), ((2026, 8, 11), REPORTER),
                        ((2026, 9, 8), "ola@arendal.kommune.example")]:  # fmt: skip
        with time_machine.travel(dt.datetime(*day, 10, 0, tzinfo=OSLO), tick=False):
            talk.send(make_mail(frm=sender, subject="Alarmen virker ikke"))
    with time_machine.travel(dt.datetime(2026, 10, 5, 9, 0, tzinfo=OSLO), tick=False):
        lines = {(x.municipality, x.figure): x for x in report(talk.db, ruleset, "2026-Q3")}
        total = lines[("", "opened")]
        assert (total.now, total.before, total.change, total.arrow) == (3, 2, 50.0, "↑")
        vennesla = lines[("Vennesla", "opened")]
        assert (vennesla.now, vennesla.before, vennesla.change, vennesla.arrow) == (2, 2, 0.0, "→")
        assert lines[("Arendal", "opened")].before == 0
        talk.db.close()
        common = ["--database", str(path), "--rules", str(ROOT / "rules.yaml")]
        out = CliRunner().invoke(cli, ["report", "--period", "2026-Q3", *common])
        html = CliRunner().invoke(cli, ["report", "--period", "2026-Q3", "--format", "html",
                                        *common])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "total,opened,3,2,50.0,↑" in out.output and "<h1>2026-Q3</h1>" in html.output
    for secret in ("Alarmen", "@", "AVVIK-"):
        assert secret not in out.output and secret not in html.output
    bad = CliRunner().invoke(cli, ["report", "--period", "2026-Q5", *common])
    assert bad.exit_code == 2 and "not a period" in bad.output
