"""Issue 19, points 7 and 8: the weekly list of open cases to each receiving party,
the monthly report with the period comparison, and the interim and annual reports
scheduled like any job."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
import time_machine
from conftest import make_mail
from hypothesis import given
from hypothesis import strategies as st
from test_followup import at, local, mails, report_at, run, runner_for, text
from test_threads import REPORTER, SUPPLIER, Conversation, reply

from gateway.rules.follow_up import Entry
from gateway.rules.period_reports import PERIODS


def test_the_weekly_list_sends_each_receiving_party_its_open_cases(fresh_db, ruleset):
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    first, _ = report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm uten lyd")
    second, relay = report_at(talk, local(2026, 3, 2, 11, 0), subject="Alarm med feil tid")
    at(talk, local(2026, 3, 3, 10, 0), reply(relay, SUPPLIER, "#lukk Byttet ruter\n"))
    talk.outgoing()
    # Off unless scheduled: the default schedules do not run it.
    assert "open-cases" not in ruleset.follow_up.schedules
    with time_machine.travel(local(2026, 3, 9, 7, 0), tick=False):
        assert "open-cases" not in runner.tick(local(2026, 3, 9, 7, 0))
    talk.outgoing()
    run(runner, "open-cases", local(2026, 3, 9, 7, 0))
    ((to, listed),) = mails(talk, "open-cases")
    assert to == [SUPPLIER]
    body = text(listed)
    assert first in body and second not in body  # the closed one is not open
    assert "kari" not in body.lower() and "Alarm" not in body  # no address, no subject
    assert "Vennesla" in body or "vennesla" in body  # the other party, by name


def test_the_weekly_list_runs_when_scheduled(fresh_db, ruleset):
    weekly = {"open-cases": (Entry(days=("mon",), times=(dt.time(7, 0),)),)}
    follow_up = dataclasses.replace(
        ruleset.follow_up, schedules=ruleset.follow_up.schedules | weekly
    )
    ruleset = dataclasses.replace(ruleset, follow_up=follow_up)
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm uten lyd")
    talk.outgoing()
    runner.baseline(local(2026, 3, 2, 12, 0))
    with time_machine.travel(local(2026, 3, 9, 7, 1), tick=False):
        assert "open-cases" in runner.tick(local(2026, 3, 9, 7, 1))
    assert [to for to, _ in mails(talk, "open-cases")] == [[SUPPLIER]]


def _cells(html: str) -> list[list[str]]:
    """The rows of the HTML tables, as the text of their cells."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in rows]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in row] for row in cells]


def test_the_monthly_report_compares_the_month_with_the_one_before(fresh_db, ruleset):
    talk = Conversation(fresh_db, ruleset)
    for day in (7, 14):
        at(talk, local(2026, 4, day, 10, 0), make_mail(frm=REPORTER, subject="Alarm uten lyd"))
    at(talk, local(2026, 5, 12, 10, 0), make_mail(frm=REPORTER, subject="Alarm uten lyd"))
    at(talk, local(2026, 5, 13, 10, 0),
       make_mail(frm="ola@arendal.kommune.example", subject="Alarm uten lyd"))  # fmt: skip
    talk.outgoing()
    run(runner_for(fresh_db, ruleset), "monthly-report", local(2026, 6, 1, 6, 0))
    ((_, report),) = mails(talk, "report")
    html = report.get_body(("html",)).get_content()
    assert "Perioden 2026-05 mot 2026-04" in html
    rows = _cells(html)
    assert ["Alle", "Nye saker", "2", "2", "0,0 %", "→"] in rows
    assert ["Vennesla", "Nye saker", "1", "2", "-50,0 %", "↓"] in rows
    assert ["Arendal", "Nye saker", "1", "0", "–", "↑"] in rows
    assert any(r[1] == "Tid til lukking, median (dager)" for r in rows)
    assert any(r[:2] == ["Alle", "Tiltak utført"] for r in rows)
    assert "Lukkede saker" not in html and "AVVIK-" not in html  # figures only, as before
    assert len([p for p in report.walk() if p.get_content_type() == "text/csv"]) == 1


def _with(ruleset, **follow_up):
    return dataclasses.replace(ruleset, follow_up=dataclasses.replace(ruleset.follow_up,
                                                                      **follow_up))  # fmt: skip


def test_interim_and_annual_reports_run_on_their_days(fresh_db, ruleset):
    yearly = {
        "interim-report": (Entry(times=(dt.time(6, 0),), day_of_month=15, month=9),),
        "annual-report": (Entry(times=(dt.time(6, 0),), day_of_month=15, month=1),),
    }
    ruleset = _with(ruleset, schedules=ruleset.follow_up.schedules | yearly)
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    for when in (local(2025, 3, 3, 10, 0), local(2026, 3, 3, 10, 0), local(2026, 3, 4, 10, 0)):
        at(talk, when, make_mail(frm=REPORTER, subject="Alarm uten lyd"))
    talk.outgoing()
    runner.baseline(local(2026, 9, 1, 0, 0))
    with time_machine.travel(local(2026, 9, 14, 6, 0), tick=False):
        assert "interim-report" not in runner.tick(local(2026, 9, 14, 6, 0))
    with time_machine.travel(local(2026, 9, 15, 6, 0), tick=False):
        assert "interim-report" in runner.tick(local(2026, 9, 15, 6, 0))
    interim = [m for to, m in mails(talk, "report") if "perioden" in m["Subject"]]
    assert [m["Subject"] for m in interim] == ["Avviksrapport for perioden 2026-01–2026-08"]
    (csv_part,) = [p for p in interim[0].walk() if p.get_content_type() == "text/csv"]
    assert "total;opened;2;1;100,0;↑" in csv_part.get_content()
    assert "2025-01–2025-08" in text(interim[0])
    with time_machine.travel(local(2027, 1, 15, 6, 0), tick=False):
        assert "annual-report" in runner.tick(local(2027, 1, 15, 6, 0))
    (annual,) = [m for _, m in mails(talk, "report") if "perioden" in m["Subject"]]
    assert annual["Subject"] == "Avviksrapport for perioden 2026"
    assert annual["To"] == "ledelse@trygghet-agder.example"


def test_hoglandet_sends_its_interim_and_annual_report_to_the_board():
    from pathlib import Path

    from gateway.rules.loader import load_rules
    from gateway.scheduler.config import trigger

    rules = load_rules(Path(__file__).parents[1] / "profiles" / "hoglandet" / "rules.yaml")
    board = ("styrelsen@hoglandet-samordning.example",)
    reports = rules.follow_up.period_reports
    assert (reports["interim-report"].period, reports["interim-report"].to) == (
        "year-to-date", board)  # fmt: skip
    assert (reports["annual-report"].period, reports["annual-report"].to) == (
        "previous-year", board)  # fmt: skip
    start = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
    interim = trigger(rules.follow_up, "interim-report", rules.hours)
    annual = trigger(rules.follow_up, "annual-report", rules.hours)
    assert interim.get_next_fire_time(None, start).isoformat() == "2026-09-15T06:00:00+02:00"
    assert annual.get_next_fire_time(None, start).isoformat() == "2027-01-15T06:00:00+01:00"


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        ("schedules: {annual-report: {month: 1, at: '06:00'}}", "month: 1 to 12, with a day"),
        ("period_reports: {annual-report: {period: last-decade}}", "period: one of"),
        ("period_reports: {weekly: {period: previous-year}}", "unknown report"),
        ("closed_case_list: maybe", "closed_case_list: true or false"),
    ],
)
def test_period_report_settings_with_mistakes_are_refused(yaml, problem):
    from gateway.rules.follow_up import parse_follow_up

    problems: list[str] = []
    spec = __import__("yaml").safe_load(yaml)
    parse_follow_up(spec, set(), lambda *_: 1, lambda _, text: problems.append(text))
    assert any(problem in p for p in problems), problems


def _interim(talk, ruleset, when) -> tuple[str, str]:
    """Run the interim report at ``when``: its HTML and its CSV."""
    run(runner_for(talk.db, ruleset), "interim-report", when)
    ((_, report),) = mails(talk, "report")
    (csv_part,) = [p for p in report.walk() if p.get_content_type() == "text/csv"]
    return report.get_body(("html",)).get_content(), csv_part.get_content()


def test_the_report_counts_measures_and_lists_closed_cases_de_identified(fresh_db, ruleset):
    from test_record import record_rules

    ruleset = dataclasses.replace(ruleset, record=record_rules())
    talk = Conversation(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 3, 2, 10, 0), subject="Alarm uten lyd")
    at(talk, local(2026, 3, 3, 10, 0), reply(relay, SUPPLIER,
       "#kategori alarm\n#årsak Batteriet var tomt, meldt av 912 34 567\n"
       "#tiltak Byttet batteri hos kari@example.org\n#tiltak Ny ruter frist 2026-03-05\n"
       "#tiltak utført 1\n#lukk\n"))  # fmt: skip
    open_ref, _ = report_at(talk, local(2026, 3, 9, 10, 0), subject="Alarm med feil tid")
    assert talk.case(ref)["status"] == "lukket"
    talk.outgoing()
    html, csv_text = _interim(talk, ruleset, local(2026, 4, 15, 6, 0))
    for figure in ("measures_planned;2;0", "measures_done;1;0", "measures_overdue;1;0"):
        assert f"total;{figure};" in csv_text  # semicolons for Excel, as the monthly CSV
    assert "total;reviews_due;0;0;" in csv_text
    rows = _cells(html)
    (listed,) = [r for r in rows if r and r[0] == ref]
    assert listed[1] == "alarm" and listed[2].startswith("Batteriet var tomt")
    assert "Byttet batteri" in listed[3] and "Ny ruter" in listed[3]
    assert "912 34 567" not in html and "kari@example.org" not in html  # de-identified
    assert open_ref not in html and "Alarm" not in html  # open cases, subjects: never
    quiet = _with(ruleset, closed_case_list=False)
    html, _ = _interim(talk, quiet, local(2026, 4, 16, 6, 0))
    assert ref not in html and "Lukkede saker" not in html


@given(st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.sampled_from(PERIODS))  # fmt: skip
def test_a_scheduled_period_is_over_and_compared_with_one_of_its_length(today, kind):
    from gateway.period_report import scheduled

    label, (start, end), (before_start, before_end) = scheduled(kind, today)
    after = end + dt.timedelta(days=1)  # the period is over, and the one after it is not
    assert start.day == 1 and after.day == 1 and before_start.day == 1
    months = (end.year - start.year) * 12 + end.month - start.month
    assert after <= today
    if kind == "year-to-date":
        assert after == today.replace(day=1)
    else:
        index = after.year * 12 + after.month - 1 + months + 1
        assert today < dt.date(index // 12, index % 12 + 1, 1)
    assert months == (before_end.year - before_start.year) * 12 + before_end.month - (
        before_start.month
    )
    if kind == "year-to-date":
        assert start.month == 1 and before_start == start.replace(year=start.year - 1)
    else:
        assert before_end + dt.timedelta(days=1) == start
    assert label
