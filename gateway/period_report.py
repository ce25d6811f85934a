"""``gateway report --period``: the figures of any period beside the previous one.

A period is a year (``2026``), a half (``2026-H1``), a quarter (``2026-Q3``) or a month
(``2026-10``); the comparison is the period of the same length just before it (Q3
against Q2, 2026 against 2025). Figures come from ``gateway.stats`` (never a subject,
text or address), in total and per municipality, with the change in per cent and a
trend arrow; times are shown in days when they are long. The measures and the
post-incident reviews (counts from gateway/store/period.py) follow the totals.

A scheduled report (``follow_up: period_reports``) names its period relative to the day
it runs (``scheduled``): ``year-to-date`` on 15 September is January to August, against
the same months a year before; ``previous-year`` on 15 January is the year just ended.
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
from gateway.rules.period_reports import PERIODS
from gateway.store.db import Database
from gateway.store.period import RECORD_FIGURES, record_figures

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


def _values(counter: stats.Counter, start: dt.date, end: dt.date) -> dict:
    total = counter.figures(start, end, [])  # added up from the municipalities' pass
    each = counter.figures(start, end, ["municipality"])
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
    return between(db, ruleset, (start, end), (before_start, start - dt.timedelta(days=1)))


Span = tuple[dt.date, dt.date]


def between(db: Database, ruleset: RuleSet, span: Span, before_span: Span,
            counter: stats.Counter | None = None) -> list[Line]:  # fmt: skip
    """The lines for ``span`` against ``before_span``: the totals, the measures and
    reviews (in total only: a measure has no municipality of its own), then each
    municipality. ``counter``: a report's own, to count each period's cases once."""
    counter = counter or stats.Counter(db, ruleset, dims=["municipality"])
    now, before = _values(counter, *span), _values(counter, *before_span)
    lines = [
        Line(place, figure, _get(now, place, figure), _get(before, place, figure))
        for place in sorted(set(now) | set(before))
        for figure in FIGURES
    ]
    record_now = record_figures(db, *(f"{d:%Y-%m-%d}" for d in span))
    record_before = record_figures(db, *(f"{d:%Y-%m-%d}" for d in before_span))
    record = [Line("", f, record_now[f], record_before[f]) for f in RECORD_FIGURES]
    return lines[: len(FIGURES)] + record + lines[len(FIGURES) :]


SCHEDULED = PERIODS


def scheduled(kind: str, today: dt.date) -> tuple[str, Span, Span]:
    """A scheduled report's label, period and comparison period, seen from ``today``."""
    this_month = today.replace(day=1)
    if kind == "year-to-date":  # up to the month before, against the same months a year ago
        end = this_month - dt.timedelta(days=1)
        start = end.replace(month=1, day=1)
        year_ago = (start.replace(year=start.year - 1), _add_months(this_month, -12))
        label = f"{start:%Y-%m}" if start.month == end.month else f"{start:%Y-%m}–{end:%Y-%m}"
        return label, (start, end), (year_ago[0], year_ago[1] - dt.timedelta(days=1))
    if kind not in SCHEDULED:
        raise ValueError(f"not a scheduled period ({', '.join(SCHEDULED)}): {kind}")
    months = {"previous-year": 12, "previous-half": 6, "previous-quarter": 3}.get(kind, 1)
    first = this_month.replace(month=1 + (today.month - 1) // months * months)
    before = _add_months(first, -months)
    text = {
        12: f"{before.year}",
        6: f"{before.year}-H{1 + (before.month - 1) // 6}",
        3: f"{before.year}-Q{1 + (before.month - 1) // 3}",
        1: f"{before:%Y-%m}",
    }[months]
    start, end, _ = period(text)
    previous = _add_months(start, -months)
    return text, (start, end), (previous, start - dt.timedelta(days=1))


def _get(rows: dict, place: str, figure: str) -> float | None:
    """A municipality with no case in a period has counts of 0 and no times."""
    return rows.get(place, {}).get(figure, None if "days" in figure else 0)


def to_csv(lines: list[Line], style: str = "comma") -> str:
    """The lines as CSV: ``comma`` for programs (the CLI's default), ``semicolon`` with
    decimal commas for a Norwegian or Swedish Excel (the mailed reports, ``csv_style``)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if style == "semicolon" else ",")
    writer.writerow(["municipality", "figure", "period", "previous", "change_percent", "trend"])
    for x in lines:
        values = [x.now, x.before, x.change]
        if style == "semicolon":
            values = [str(v).replace(".", ",") if isinstance(v, float) else v for v in values]
        writer.writerow([x.municipality or "total", x.figure, *values, x.arrow])
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
