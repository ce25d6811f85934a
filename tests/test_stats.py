"""``gateway stats`` on a case log seeded with known cases, against figures worked out by hand.

Service hours in rules.yaml: Monday to Friday 08:00-15:30 Europe/Oslo (7.5 hours a day),
Norwegian public holidays closed. Easter 2026: 2, 3 and 6 April are holidays. Summer time
starts on Sunday 29 March 2026 (UTC+1 before, UTC+2 after).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
import time_machine
from click.testing import CliRunner
from conftest import ROOT

from gateway.cli.stats import stats as stats_command
from gateway.stats import figures, percentile, to_csv, to_json, working_hours
from gateway.store import insert, open_db, write

OSLO = ZoneInfo("Europe/Oslo")
AFTER = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)  # "now": every period below is over
SECRET = "Kari Nordmann 01017012345 kari@vennesla.kommune.example"
PARTIES = {"a": "supplier", "b": "response_centre", "d": "supplier"}


def at(text: str | None) -> str | None:
    """A local Oslo time as the case log stores it: ISO 8601 in UTC."""
    if text is None:
        return None
    local = dt.datetime.fromisoformat(text).replace(tzinfo=OSLO)
    return local.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def add_case(db, n, flow, received, answered=None, closed=None, due="2026-12-31", **extra):
    municipality = extra.pop("municipality", "Vennesla")
    insert(db, "cases", {
        "reference": f"AVVIK-2026-{n:04d}", "flow": flow, "kind": extra.pop("kind", "avvik"),
        "status": "lukket" if closed else extra.pop("status", "under behandling"),
        "urgent": extra.pop("urgent", 0),
        "reporting_party": "municipality:Vennesla",
        "receiving_party": PARTIES.get(flow, f"municipality:{municipality}"),
        "municipality": municipality, "subject": SECRET, "reporter_address": SECRET,
        "received_at": at(received), "first_answer_at": at(answered), "closed_at": at(closed),
        "close_due": due, "measures_due": due,
    })  # fmt: skip


def seed(db) -> None:
    """Eight cases around March and April 2026; the comments give the hand-worked times."""
    # 1: Fri 14:00 -> Mon 09:00 answer: 1.5 + 1.0 = 2.5 working h, 67 calendar h.
    #    Closed Wed 10:00: 1.5 + 7.5 + 7.5 + 2.0 = 18.5 working h, 116 calendar h. On time.
    add_case(db, 1, "a", "2026-03-06T14:00", "2026-03-09T09:00", "2026-03-11T10:00", "2026-03-20")
    # 2: answered after 2 h (both clocks). Closed 26 March 15:00, after its deadline:
    #    5.5 + 3*7.5 + 5*7.5 + 3*7.5 + 7.0 = 95 working h; 16 days 5 h = 389 calendar h.
    add_case(db, 2, "a", "2026-03-10T10:00", "2026-03-10T12:00", "2026-03-26T15:00", "2026-03-24",
             municipality="Arendal")  # fmt: skip
    # 3: Wed before Easter 15:00 -> Tue after Easter 08:30: 0.5 + 0.5 = 1.0 working h
    #    (Thu, Fri, weekend and Mon are closed), 137.5 calendar h. Open, due 29 April.
    add_case(db, 3, "b", "2026-04-01T15:00", "2026-04-07T08:30", None, "2026-04-29")
    # 4: across the change to summer time: Fri 15:00 (14:00Z) -> Mon 08:15 (06:15Z) answer
    #    0.5 + 0.25 = 0.75 working h, 64.25 calendar h; closed Mon 09:00 (07:00Z):
    #    1.5 working h, 65 calendar h. On time.
    add_case(db, 4, "b", "2026-03-27T15:00", "2026-03-30T08:15", "2026-03-30T09:00", "2026-04-10",
             municipality="Kristiansand")  # fmt: skip
    # 5: received before the period, never answered, overdue since 20 March.
    add_case(db, 5, "c", "2026-02-20T10:00", None, None, "2026-03-20", status="registrert")
    # 6: an improvement suggestion, open and past its date: never a deviation figure.
    add_case(db, 6, "a", "2026-03-12T10:00", None, None, "2026-04-09", kind="forbedringsforslag")
    # 7: urgent; answered after 1.5 h; closed next day 10:00: 5.5 + 2.0 = 7.5 working h, 24 h.
    add_case(db, 7, "d", "2026-04-20T10:00", "2026-04-20T11:30", "2026-04-21T10:00", "2026-05-05",
             urgent=1, municipality=None)  # fmt: skip
    # 8 and 9: outside the period (after it; closed before it).
    add_case(db, 8, "a", "2026-05-04T10:00")
    add_case(db, 9, "a", "2026-01-05T10:00", "2026-01-05T11:00", "2026-02-10T10:00")
    insert(db, "messages", {"direction": "in", "subject": SECRET, "new_text": SECRET})


@pytest.fixture
def db():
    database = open_db(None)
    seed(database)
    yield database
    database.close()


def spring(db, ruleset, by=(), now=AFTER):
    return figures(db, ruleset, dt.date(2026, 3, 1), dt.date(2026, 4, 30), list(by), now)


def test_percentiles_interpolate_between_ranks_like_excel():
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], 0.5) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.9) == pytest.approx(4.6)
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None


def test_working_hours_skip_nights_weekends_and_holidays(ruleset):
    def hours(a, b):
        return working_hours(ruleset.hours, *(dt.datetime.fromisoformat(at(x)) for x in (a, b)))

    assert hours("2026-03-06T14:00", "2026-03-09T09:00") == 2.5  # Friday to Monday
    assert hours("2026-04-01T15:00", "2026-04-07T08:30") == 1.0  # across Easter
    assert hours("2026-03-07T10:00", "2026-03-08T18:00") == 0.0  # a weekend
    assert hours("2026-03-09T06:00", "2026-03-09T20:00") == 7.5  # one whole day
    assert hours("2026-12-23T08:00", "2026-12-28T08:00") == 15.0  # 23rd, 24th; 25th, 26th out


def test_totals_for_the_period(db, ruleset):
    [row] = spring(db, ruleset)
    assert row.key == {}
    assert (row.opened, row.suggestions, row.closed, row.closed_on_time) == (5, 1, 4, 3)
    assert row.on_time_share == 0.75
    assert (row.open_at_end, row.overdue) == (2, 2)  # 3 and 5; the suggestion is not counted
    # answers (working): 0.75, 1.0, 1.5, 2.0, 2.5; (calendar): 1.5, 2, 64.25, 67, 137.5
    assert row.answer.count == 5
    assert row.answer.working_median == 1.5
    assert row.answer.working_p90 == pytest.approx(2.3)
    assert row.answer.calendar_median == 64.25
    assert row.answer.calendar_p90 == pytest.approx(109.3)
    # closing (working): 1.5, 7.5, 18.5, 95; (calendar): 24, 65, 116, 389
    assert row.close.count == 4
    assert row.close.working_median == 13.0
    assert row.close.working_p90 == pytest.approx(72.05)
    assert row.close.calendar_median == 90.5
    assert row.close.calendar_p90 == pytest.approx(307.1)


def test_by_month_and_flow(db, ruleset):
    rows = {tuple(r.key.values()): r for r in spring(db, ruleset, ["month", "flow"])}
    assert list(rows) == [
        ("2026-03", "a"), ("2026-03", "b"), ("2026-03", "c"),
        ("2026-04", "b"), ("2026-04", "c"), ("2026-04", "d"),
    ]  # fmt: skip
    march_a = rows["2026-03", "a"]
    assert (march_a.opened, march_a.suggestions, march_a.closed, march_a.closed_on_time) == (
        2, 1, 2, 1,
    )  # fmt: skip
    assert (march_a.open_at_end, march_a.overdue) == (0, 0)
    assert march_a.answer.working_median == 2.25 and march_a.answer.calendar_median == 34.5
    assert march_a.close.working_median == 56.75
    assert march_a.close.working_p90 == pytest.approx(87.35)
    assert march_a.close.calendar_p90 == pytest.approx(361.7)
    march_b = rows["2026-03", "b"]  # case 4: calendar hours across the change of clock
    assert (march_b.answer.calendar_median, march_b.close.calendar_median) == (64.25, 65.0)
    assert (march_b.answer.working_median, march_b.close.working_median) == (0.75, 1.5)
    # case 5 is open and overdue at the end of both months without being opened in either
    for month in ("2026-03", "2026-04"):
        c = rows[month, "c"]
        assert (c.opened, c.open_at_end, c.overdue, c.answer.count) == (0, 1, 1, 0)
    april_b = rows["2026-04", "b"]  # case 3: answered over Easter, overdue on 30 April
    assert (april_b.opened, april_b.closed, april_b.open_at_end, april_b.overdue) == (1, 0, 1, 1)
    assert (april_b.answer.working_median, april_b.answer.calendar_median) == (1.0, 137.5)
    assert april_b.on_time_share is None


def test_by_party_names_the_receiving_party(db, ruleset):
    rows = {r.key["party"]: r for r in spring(db, ruleset, ["party"])}
    assert sorted(rows) == ["Kommunalt responssenter i Agder", "Leverandøren", "Vennesla kommune"]
    supplier = rows["Leverandøren"]
    assert (supplier.opened, supplier.suggestions, supplier.closed, supplier.closed_on_time) == (
        3, 1, 3, 2,
    )  # fmt: skip
    assert supplier.close.working_median == 18.5 and supplier.close.calendar_median == 116.0
    centre = rows["Kommunalt responssenter i Agder"]
    assert (centre.opened, centre.closed, centre.open_at_end, centre.overdue) == (2, 1, 1, 1)


def test_by_kind_gives_the_suggestions_their_own_figures(db, ruleset):
    rows = {r.key["kind"]: r for r in spring(db, ruleset, ["kind"])}
    suggestion = rows["forbedringsforslag"]
    assert (suggestion.opened, suggestion.open_at_end, suggestion.overdue) == (1, 1, 1)
    assert (rows["avvik"].opened, rows["avvik"].suggestions) == (5, 0)


def test_by_urgent_municipality_and_status(db, ruleset):
    urgent = {r.key["urgent"]: r.opened for r in spring(db, ruleset, ["urgent"])}
    assert urgent == {"no": 4, "yes": 1}
    places = {r.key["municipality"]: r.opened for r in spring(db, ruleset, ["municipality"])}
    assert places == {"-": 1, "Arendal": 1, "Kristiansand": 1, "Vennesla": 2}
    status = {r.key["status"]: r.open_at_end for r in spring(db, ruleset, ["status"])}
    assert status == {"lukket": 0, "registrert": 1, "under behandling": 1}


def test_a_period_not_yet_over_ends_now(db, ruleset):
    mid_april = dt.datetime(2026, 4, 15, 12, tzinfo=OSLO)
    rows = {r.key["flow"]: r for r in spring(db, ruleset, ["flow"], now=mid_april)}
    assert (rows["b"].open_at_end, rows["b"].overdue) == (1, 0)  # case 3 is due on the 29th
    assert (rows["c"].open_at_end, rows["c"].overdue) == (1, 1)


def test_every_month_shows_even_without_cases(db, ruleset):
    rows = figures(db, ruleset, dt.date(2026, 1, 1), dt.date(2026, 6, 30), ["month"], AFTER)
    assert [r.key["month"] for r in rows] == [f"2026-0{m}" for m in range(1, 7)]
    assert [r.opened for r in rows] == [1, 1, 3, 2, 1, 0]


def test_unknown_dimension_is_refused(db, ruleset):
    with pytest.raises(ValueError, match="colour"):
        spring(db, ruleset, ["colour"])


def test_csv_and_json_carry_the_figures_and_label_both_clocks(db, ruleset):
    rows = spring(db, ruleset, ["month", "flow"])
    plain = to_csv(rows, ["month", "flow"], "comma")
    parsed = list(csv.DictReader(io.StringIO(plain)))
    march_a = next(r for r in parsed if (r["month"], r["flow"]) == ("2026-03", "a"))
    assert march_a["opened"] == "2" and march_a["closed_on_time_share"] == "0.5"
    assert float(march_a["close_working_hours_median"]) == pytest.approx(56.75, abs=0.05)
    assert float(march_a["close_calendar_hours_median"]) == 252.5
    assert march_a["answer_calendar_hours_p90"] == "60.5"
    assert [d["opened"] for d in json.loads(to_json(rows))] == [2, 1, 0, 1, 0, 1]


def test_cli_table_csv_json_and_html(db, ruleset, tmp_path):
    path = tmp_path / "gateway.db"
    target = open_db(path)
    with write(target):
        seed(target)
    target.close()
    common = ["--database", str(path), "--rules", str(ROOT / "rules.yaml")]
    period = ["--from", "2026-03-01", "--to", "2026-04-30", "--by", "month,flow"]
    outputs = {}
    with time_machine.travel(AFTER, tick=False):
        for fmt in ("table", "csv", "json", "html"):
            result = CliRunner().invoke(stats_command, [*common, *period, "--format", fmt])
            assert result.exit_code == 0, result.output
            outputs[fmt] = result.output
    table = outputs["table"]
    assert "shown as working / calendar. Working hours: only service hours" in table
    assert "Calendar hours: every hour" in table
    line = next(s for s in table.splitlines() if s.startswith("2026-04  d"))
    assert line.split() == ["2026-04", "d", "1", "0", "1", "100%", "0", "0",
                            "1.5", "/", "1.5", "1.5", "/", "1.5",
                            "7.5", "/", "24.0", "7.5", "/", "24.0"]  # fmt: skip
    assert outputs["csv"].splitlines()[0].startswith("month;flow;opened;suggestions;closed")
    assert len(json.loads(outputs["json"])) == 6
    assert (
        outputs["html"].count("<tr>") == 7
        and "<th>answer_working_hours_median</th>" in (outputs["html"])
    )
    for output in outputs.values():  # no subject, text, address or reference, ever
        for secret in ("Kari", "01017012345", "@", "AVVIK-"):
            assert secret not in output


def test_cli_refuses_an_unknown_dimension(tmp_path):
    path = tmp_path / "gateway.db"
    open_db(path).close()
    result = CliRunner().invoke(
        stats_command, ["--database", str(path), "--rules", str(ROOT / "rules.yaml"), "--by", "x"]
    )
    assert result.exit_code == 2 and "unknown x" in result.output


def test_flows_are_ordered_as_the_rules_declare_them(db, ruleset):
    from dataclasses import replace

    rules = replace(ruleset, flows=dict.fromkeys(("d", "c", "b", "a")))
    rows = figures(db, rules, dt.date(2026, 3, 1), dt.date(2026, 4, 30), ["flow"], AFTER)
    assert [r.key["flow"] for r in rows] == ["d", "c", "b", "a"]


def test_csv_is_for_excel_with_norwegian_settings_by_default(db, ruleset):
    """Semicolons between cells and decimal commas (issue 17, point 17): what Excel
    with Norwegian settings splits into columns and reads as numbers."""
    rows = spring(db, ruleset, ["month", "flow"])
    text = to_csv(rows, ["month", "flow"])
    parsed = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    march_a = next(r for r in parsed if (r["month"], r["flow"]) == ("2026-03", "a"))
    assert march_a["opened"] == "2" and march_a["closed_on_time_share"] == "0,5"
    assert march_a["answer_calendar_hours_p90"] == "60,5"
    assert "," not in text.replace(",5", "").splitlines()[0]  # no comma between header cells
    plain = list(csv.DictReader(io.StringIO(to_csv(rows, ["month", "flow"], "comma"))))
    assert [r["answer_calendar_hours_p90"] for r in plain] == [
        r["answer_calendar_hours_p90"].replace(",", ".") for r in parsed
    ]
    with pytest.raises(ValueError, match="tab"):
        to_csv(rows, ["month"], "tab")


def test_cli_csv_style_flag_and_setting(db, ruleset, tmp_path):
    path = tmp_path / "gateway.db"
    target = open_db(path)
    with write(target):
        seed(target)
    target.close()
    common = ["--database", str(path), "--rules", str(ROOT / "rules.yaml"), "--format", "csv"]
    period = ["--from", "2026-03-01", "--to", "2026-04-30", "--by", "month"]
    settings = tmp_path / "gateway.toml"
    settings.write_text('csv_style = "comma"\n')
    with time_machine.travel(AFTER, tick=False):
        default = CliRunner().invoke(stats_command, [*common, *period])
        flag = CliRunner().invoke(stats_command, [*common, *period, "--csv-style", "comma"])
        setting = CliRunner().invoke(stats_command, [*common, *period, "--settings", settings])
    assert default.output.startswith("month;opened;")
    assert flag.output.startswith("month,opened,") and setting.output == flag.output
