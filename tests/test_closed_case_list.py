"""Issue 22: the interim and annual reports list at most ``follow_up:
closed_case_list_max`` closed cases, the most recently closed, de-identifying only
those; past the bound the mail says how many more and how to get them all, which
``gateway report --closed-cases`` writes, de-identified, as CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re

import pytest
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_loader import broken, problems

from gateway import period_mail
from gateway.cli import cli
from gateway.render import Renderer
from gateway.rules.follow_up import parse_follow_up
from gateway.store import insert, open_db
from gateway.store.period import closed_cases

YEAR = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
BEFORE = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
PHONE = "912 34 567"


def _log(db, closed: int) -> list[str]:
    """``closed`` cases closed in 2026, a day apart, each with its own cause (holding a
    phone number) and measure; one open case and one closed the year before. Their
    references, oldest closing first."""
    refs = []
    for n in range(closed):
        day = dt.date(2026, 1, 1) + dt.timedelta(days=n % 365)
        ref = f"AVVIK-2026-{n:04d}"
        case_id = insert(db, "cases", {
            "reference": ref, "status": "lukket", "category": "alarm",
            "received_at": "2025-12-01T10:00:00.000+00:00",
            "closed_at": f"{day}T{n // 365:02d}:00:00.000+00:00",
            "cause": f"Feil {n}, ring {PHONE}"})  # fmt: skip
        insert(db, "case_measures", {"case_id": case_id, "number": 1, "text": f"Tiltak {n}"})
        refs.append(ref)
    insert(db, "cases", {"reference": "AVVIK-2026-OPEN", "status": "registrert",
                         "received_at": "2026-02-01T10:00:00.000+00:00"})  # fmt: skip
    insert(db, "cases", {"reference": "AVVIK-2025-OLD", "status": "lukket",
                         "received_at": "2025-02-01T10:00:00.000+00:00",
                         "closed_at": "2025-06-01T10:00:00.000+00:00"})  # fmt: skip
    return sorted(refs, key=lambda r: (int(r[-4:]) % 365, int(r[-4:]) // 365))


def _bounded(ruleset, most: int, language: str = "nb"):
    follow_up = dataclasses.replace(ruleset.follow_up, closed_case_list_max=most)
    return dataclasses.replace(ruleset, follow_up=follow_up, language=language)


def _html(db, ruleset) -> tuple[dict, str]:
    values = period_mail.context(db, ruleset, YEAR, BEFORE, closed=True)
    renderer = Renderer("gw@x.example", "GW", rules=lambda: ruleset)
    return values, period_mail.table_html(renderer, values)


def _listed(html: str) -> list[str]:
    return re.findall(r">(AVVIK-[0-9A-Z-]+)</td>", html)


def test_past_the_bound_the_newest_are_listed_and_the_rest_counted(ruleset, monkeypatch):
    db = open_db(None)
    refs = _log(db, 7)
    asked: list[str] = []
    real = period_mail.redacted
    monkeypatch.setattr(period_mail, "redacted",
                        lambda rs, text: asked.append(text) or real(rs, text))  # fmt: skip
    values, html = _html(db, _bounded(ruleset, 3))
    assert _listed(html) == refs[-3:]  # the most recently closed, oldest of them first
    assert values["closed_more"] == 4
    assert "Listen viser de 3 sist lukkede sakene." in html
    assert "4 andre saker ble også lukket i perioden." in html
    assert "gateway report --closed-cases --period 2026-01-01..2026-12-31" in html
    assert PHONE not in html and "AVVIK-2026-OPEN" not in html and "AVVIK-2025-OLD" not in html
    assert len(asked) == 6  # three causes, three measures: only what is shown


def test_one_more_is_said_in_the_singular(ruleset):
    db = open_db(None)
    _log(db, 4)
    _, html = _html(db, _bounded(ruleset, 3))
    assert "Én sak til ble lukket i perioden." in html and "andre saker" not in html


@pytest.mark.parametrize("closed", [0, 2, 3])
def test_up_to_the_bound_every_closed_case_is_listed_as_before(ruleset, closed):
    db = open_db(None)
    refs = _log(db, closed)
    values, html = _html(db, _bounded(ruleset, 3))
    assert _listed(html) == refs and values["closed_more"] == 0
    assert "sist lukkede" not in html and "--closed-cases" not in html


@settings(max_examples=25, deadline=None, derandomize=True)
@given(closed=st.integers(0, 12), most=st.integers(1, 12))
def test_the_bounded_read_is_the_tail_of_the_whole_list(closed, most):
    db = open_db(None)
    _log(db, closed)
    whole = closed_cases(db, "2026-01-01", "2026-12-31")
    assert closed_cases(db, "2026-01-01", "2026-12-31", newest=most) == whole[-most:]


@pytest.mark.parametrize(
    ("language", "shown", "more"),
    [("nb", "Listen viser de 2 sist lukkede sakene.", "Hele listen"),
     ("nn", "Lista viser dei 2 sist lukka sakene.", "3 andre saker vart òg lukka"),
     ("sv", "Listan visar de 2 senast avslutade ärendena.",
      "Ytterligare 3 ärenden avslutades under perioden.")],
)  # fmt: skip
def test_the_bound_is_said_in_every_language(ruleset, language, shown, more):
    db = open_db(None)
    _log(db, 5)
    _, html = _html(db, _bounded(ruleset, 2, language))
    assert shown in html and more in html and "--closed-cases" in html


def test_a_large_count_is_grouped_in_thousands(ruleset):
    db = open_db(None)
    _log(db, 1203)
    _, html = _html(db, _bounded(ruleset, 2))
    assert "1\u00a0201 andre saker" in html


def test_the_default_bound_is_200(ruleset):
    assert ruleset.follow_up.closed_case_list_max == 200


@pytest.mark.parametrize("value", ["0", "-5", "lots", "true", "2.5", "5001"])
def test_a_bad_bound_is_refused(value):
    problems: list[str] = []
    spec = {"closed_case_list_max": __import__("yaml").safe_load(value)}
    parse_follow_up(spec, set(), lambda *_: 7, lambda line, text: problems.append(text))
    assert problems and "closed_case_list_max" in problems[0]


def test_a_bad_bound_in_rules_yaml_is_named_with_file_and_line(tmp_path):
    old = "  catch_up_hours: 6\n  schedules:"
    path, line = broken(
        tmp_path, old, old.replace("schedules", "closed_case_list_max: lots\n  schedules")
    )
    (hit,) = [p for p in problems(path) if "closed_case_list_max" in p]
    assert hit.startswith(f"{path}:{line}:"), hit  # the setting's own line
    assert "1 to 5000" in hit


def test_the_command_writes_every_closed_case_de_identified(ruleset, tmp_path):
    path = tmp_path / "gateway.db"
    db = open_db(path)
    refs = _log(db, 7)
    db.conn.commit()
    db.close()
    common = ["--database", str(path), "--rules", str(ROOT / "rules.yaml")]
    for period in ("2026", "2026-01-01..2026-12-31"):
        out = CliRunner().invoke(cli, ["report", "--period", period, "--closed-cases", *common])
        assert out.exit_code == 0, out.output
        rows = list(csv.reader(io.StringIO(out.output)))
        assert rows[0] == ["reference", "category", "cause", "measures"]
        assert [r[0] for r in rows[1:]] == refs  # all of them, beyond any mail's bound
        assert PHONE not in out.output and all(r[2].startswith("Feil") for r in rows[1:])
        assert rows[1][3].startswith("Tiltak")
    part = CliRunner().invoke(cli, ["report", "--period", "2026-01-01..2026-01-03",
                                    "--closed-cases", *common])  # fmt: skip
    assert [r[0] for r in csv.reader(io.StringIO(part.output))][1:] == refs[:3]
    for bad in ("2026-05-01..2026-01-01", "2026-13-01..2026-12-31"):
        out = CliRunner().invoke(cli, ["report", "--period", bad, "--closed-cases", *common])
        assert out.exit_code == 2 and "--period" in out.output
    # a span of dates is for the closed cases: the figures compare named periods
    out = CliRunner().invoke(cli, ["report", "--period", "2026-01-01..2026-12-31", *common])
    assert out.exit_code == 2
