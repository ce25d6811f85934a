"""``gateway report --period``: the figures of any period beside the previous one.

A period is a year (``2026``), a half (``2026-H1``), a quarter (``2026-Q3``) or a month
(``2026-10``); the comparison is the period of the same length just before it (Q3
against Q2, 2026 against 2025). Figures come from ``gateway.stats`` (never a subject,
text or address), in total and per municipality, with the change in per cent and a
trend arrow; times are shown in days when they are long.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from dataclasses import dataclass

from gateway import stats
from gateway.rules.base import RuleSet
from gateway.store.db import Database

_PERIOD = re.compile(r"^(\d{4})(?:-(?:H([12])|Q([1-4])|(\d{1,2})))?$")
FIGURES = ("opened", "closed", "overdue", "close_median_days")


def period(text: str) -> tuple[dt.date, dt.date, int]:
    """First and last day of a period, and its length in months; ValueError if unknown."""
    found = _PERIOD.match(text.strip())
    if not found:
        raise ValueError(f"not a period (2026, 2026-H1, 2026-Q3, 2026-10): {text}")
    year, half, quarter, month = found.groups()
    months, first = 12, 1
    if half:
        months, first = 6, 1 + 6 * (int(half) - 1)
    elif quarter:
        months, first = 3, 1 + 3 * (int(quarter) - 1)
    elif month:
        if not 1 <= int(month) <= 12:
            raise ValueError(f"no month {month}")
        months, first = 1, int(month)
    start = dt.date(int(year), first, 1)
    return start, _add_months(start, months) - dt.timedelta(days=1), months


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Line:
    """One row of the report: a figure now, before, and the change."""

    municipality: str
    figure: str
    now: float | None
    before: float | None

    @property
    def change(self) -> float | None:
        if self.now is None or not self.before:
            return None
        return round(100 * (self.now - self.before) / self.before, 1)

    @property
    def arrow(self) -> str:
        if self.now is None or self.before is None or self.now == self.before:
            return "→"
        return "↑" if self.now > self.before else "↓"


def _values(db: Database, ruleset: RuleSet, start: dt.date, end: dt.date) -> dict:
    total = stats.figures(db, ruleset, start, end, [])
    each = stats.figures(db, ruleset, start, end, ["municipality"])
    rows = {"": total[0].as_dict() if total else {}}
    rows |= {r.key["municipality"]: r.as_dict() for r in each}
    for row in rows.values():  # long times in days
        hours = row.get("close_calendar_hours_median")
        row["close_median_days"] = None if hours is None else round(hours / 24, 1)
    return rows


def report(db: Database, ruleset: RuleSet, text: str) -> list[Line]:
    """The lines of the report for a period, against the previous one."""
    start, end, months = period(text)
    before_start = _add_months(start, -months)
    now = _values(db, ruleset, start, end)
    before = _values(db, ruleset, before_start, start - dt.timedelta(days=1))
    return [
        Line(place, figure, _get(now, place, figure), _get(before, place, figure))
        for place in sorted(set(now) | set(before))
        for figure in FIGURES
    ]


def _get(rows: dict, place: str, figure: str) -> float | None:
    """A municipality with no case in a period has counts of 0 and no times."""
    return rows.get(place, {}).get(figure, None if "days" in figure else 0)


def to_csv(lines: list[Line]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["municipality", "figure", "period", "previous", "change_percent", "trend"])
    for x in lines:
        writer.writerow([x.municipality or "total", x.figure, x.now, x.before, x.change, x.arrow])
    return out.getvalue()


def to_html(lines: list[Line], text: str) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in (
            x.municipality or "total", x.figure, x.now, x.before, x.change, x.arrow)) + "</tr>\n"
        for x in lines
    )  # fmt: skip
    return (f"<h1>{html.escape(text)}</h1>\n<table border=\"1\">\n<thead><tr><th>municipality"
            "</th><th>figure</th><th>period</th><th>previous</th><th>change %</th><th>trend"
            f"</th></tr></thead>\n<tbody>\n{cells}</tbody>\n</table>\n")  # fmt: skip
