"""Calendars per deployment (issue 21): holidays from the holidays package with its
categories, so Sweden's de-facto days off (julafton, midsommarafton, nyårsafton) count
as days off in hoglandet, and Norway's calendar stays as it was."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import ROOT

from gateway.rules.loader import RulesError, load_rules

HOGLANDET = load_rules(ROOT / "profiles" / "hoglandet" / "rules.yaml").hours
AGDER = load_rules(ROOT / "rules.yaml").hours


@pytest.mark.parametrize("day", ["2026-06-19", "2026-12-24", "2026-12-31", "2026-06-06"])
def test_swedens_de_facto_days_off_are_days_off(day):
    assert not HOGLANDET.is_working_day(dt.date.fromisoformat(day))


def test_without_the_category_midsummer_eve_would_be_a_working_day(tmp_path):
    text = (ROOT / "profiles" / "hoglandet" / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("  holiday_categories: [public, de_facto]\n", ""), "utf-8")
    assert load_rules(path).hours.is_working_day(dt.date(2026, 6, 19))


def test_ten_working_days_across_midsummer():
    """A case arriving on Monday 15 June 2026 has its tenth working day on 30 June:
    Midsummer Eve (Friday 19) is not counted."""
    assert HOGLANDET.add_working_days(dt.date(2026, 6, 15), 10) == dt.date(2026, 6, 30)
    assert AGDER.add_working_days(dt.date(2026, 6, 15), 10) == dt.date(2026, 6, 29)


def test_norways_calendar_is_unchanged():
    assert AGDER.is_working_day(dt.date(2026, 12, 24))  # not a public holiday in Norway
    assert not AGDER.is_working_day(dt.date(2026, 5, 17))


def test_the_time_zone_and_hours_are_the_deployments():
    assert (HOGLANDET.timezone, HOGLANDET.end) == ("Europe/Stockholm", dt.time(16, 30))
    nordhordland = load_rules(ROOT / "profiles" / "nordhordland" / "rules.yaml").hours
    saturday_night = dt.datetime(2026, 3, 14, 22, 40, tzinfo=dt.UTC)
    assert nordhordland.start == dt.time(7, 30) and not nordhordland.is_open(saturday_night)


def test_an_unknown_category_is_refused_with_its_line(tmp_path):
    text = (ROOT / "profiles" / "hoglandet" / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("[public, de_facto]", "[public, fun]"), "utf-8")
    line = text[: text.index("holiday_categories")].count("\n") + 1
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert any(p.startswith(f"{path}:{line}: service_hours:") and "fun" in p
               for p in caught.value.problems), caught.value.problems  # fmt: skip
