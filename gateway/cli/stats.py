"""``gateway stats``: figures for management from the case log, as a table, CSV, JSON or HTML."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path

import click

from gateway import stats as case_stats
from gateway import stats_across
from gateway.cli.base import (
    cli,
    database_option,
    load_ruleset,
    load_settings,
    open_case_log,
    rules_option,
    settings_option,
)
from gateway.cli.record import record_line
from gateway.hours import ServiceHours

COUNTS = (
    ("opened", "opened"),
    ("suggestions", "suggestions"),
    ("closed", "closed"),
    ("on time", "closed_on_time_share"),
    ("open at end", "open_at_end"),
    ("overdue", "overdue"),
)
TIMES = (
    ("answer median", "answer", "median"),
    ("answer p90", "answer", "p90"),
    ("close median", "close", "median"),
    ("close p90", "close", "p90"),
)


def hours_note(hours: ServiceHours) -> str:
    """The line that says which times are working hours and which calendar time."""
    days = f"{hours.days[0]}-{hours.days[-1]}"
    return (
        "Times in hours, shown as working / calendar. Working hours: only service hours "
        f"({days} {hours.start:%H:%M}-{hours.end:%H:%M} {hours.timezone}, public holidays "
        f"({hours.country}) excluded).\nCalendar hours: every hour. "
        "Median and 90th percentile (linear interpolation between ranks)."
    )


def _date(value: str | None, name: str, default: dt.date) -> dt.date:
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not a date (YYYY-MM-DD): {value}", param_hint=name) from None


def _dimensions(value: str) -> list[str]:
    by = [d.strip() for d in value.split(",") if d.strip()]
    unknown = [d for d in by if d not in case_stats.DIMENSIONS]
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(case_stats.DIMENSIONS)}",
            param_hint="--by",
        )
    return by


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _cells(row: case_stats.Row) -> list[str]:
    flat = row.as_dict()
    cells = [str(v) for v in row.key.values()]
    for _label, name in COUNTS:
        value = flat[name]
        if name == "closed_on_time_share":
            value = "-" if value is None else f"{value:.0%}"
        cells.append(str(value))
    for _label, part, stat in TIMES:
        times = getattr(row, part)
        working, calendar = (getattr(times, f"{c}_{stat}") for c in ("working", "calendar"))
        cells.append(f"{_hours(working)} / {_hours(calendar)}")
    return cells


def to_table(rows: Sequence[case_stats.Row], by: Sequence[str]) -> str:
    """Aligned columns: dimensions left, figures right."""
    header = [*by, *(c[0] for c in COUNTS), *(t[0] for t in TIMES)]
    body = [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = []
    for line in [header, *body]:
        lines.append(
            "  ".join(
                cell.ljust(w) if i < len(by) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
    return "\n".join(lines)


def to_html(rows: Sequence[case_stats.Row], by: Sequence[str], note: str) -> str:
    """A self-contained HTML table (no scripts, styles or links), columns as in the CSV."""
    names = list(case_stats.Row(dict.fromkeys(by, "")).as_dict())
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{'' if v is None else html.escape(str(v))}</td>" for v in r.as_dict().values()
        )
        + "</tr>\n"
        for r in rows
    )
    return (
        f'<table border="1">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n'
        f"<p>{html.escape(note)}</p>\n"
    )


@cli.command(name="stats")
@click.option("--from", "start", help="First day, YYYY-MM-DD (default: 1 January this year).")
@click.option("--to", "end", help="Last day, YYYY-MM-DD, inclusive (default: today).")
@click.option("--by", default="", help=f"Comma-separated: {', '.join(case_stats.DIMENSIONS)}.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html"]),
    default="table",
    show_default=True,
)
@click.option(
    "--csv-style",
    type=click.Choice(case_stats.CSV_STYLES),
    help="semicolon: semicolons and decimal commas, for Excel with Norwegian settings; "
    "comma: plain CSV. Default: the settings' csv_style (semicolon).",
)
@click.option(
    "--across",
    "across",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Another deployment's case log (repeat): figures side by side, read-only.",
)
@database_option
@rules_option
@settings_option
def stats(start, end, by, fmt, csv_style, across, database, rules_file, settings_file):
    """Figures for management: cases opened, closed, open, overdue, answer and closing times.

    Deviations only; improvement suggestions are counted apart (or use --by kind).
    No subject, text or address is ever part of a figure.

    \b
    Example:
        gateway stats --from 2026-01-01 --to 2026-06-30 --by month,flow
        gateway stats --by party --format csv > parties.csv
        gateway stats --format csv --csv-style comma > for-a-program.csv
        gateway stats --across /var/lib/avviksgateway/*/gateway.db --by municipality
    """
    today = dt.date.today()
    first = _date(start, "--from", today.replace(month=1, day=1))
    last = _date(end, "--to", today)
    if last < first:
        raise click.BadParameter("ends before --from", param_hint="--to")
    dims = _dimensions(by)
    ruleset = load_ruleset(rules_file, settings_file)
    if across:  # several deployments' figures, and nothing else of their case logs
        rows = stats_across.across(across, ruleset, first, last, dims)
        dims = [stats_across.DEPLOYMENT, *dims]
    else:
        db = open_case_log(database, settings_file)
        rows = case_stats.figures(db, ruleset, first, last, dims)
    note = hours_note(ruleset.hours)
    if fmt == "csv":
        style = csv_style or load_settings(settings_file).csv_style
        click.echo(case_stats.to_csv(rows, dims, style), nl=False)
    elif fmt == "json":
        click.echo(case_stats.to_json(rows))
    elif fmt == "html":
        click.echo(to_html(rows, dims, note), nl=False)
    else:
        click.echo(f"Deviations from {first} to {last}; improvement suggestions counted apart.")
        click.echo(note)
        click.echo("")
        click.echo(to_table(rows, dims))
        if not across:  # measures and reviews: of this deployment's own case log
            click.echo(record_line(db, today))
