"""``gateway cases`` and ``gateway purge``: reading the case log, and purging it by hand."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import click

from gateway.caselog import original_text, record_original_view
from gateway.cli.base import (
    cli,
    database_option,
    load_ruleset,
    load_settings,
    open_case_log,
    rules_option,
    say,
    settings_option,
)
from gateway.cli.output import cell, local_time, table
from gateway.cli.record import record_lines
from gateway.privacy import confidential
from gateway.retention import forget_terms, purge
from gateway.store import tickets
from gateway.store.caselog import (
    CaseRow,
    CaseSummary,
    case_by_reference,
    events_of,
    messages_of,
    newest_cases,
)
from gateway.store.db import Database
from gateway.store.search import search_cases
from gateway.store.states import CaseStatus, Direction
from gateway.store.web import CaseFilter

CASE_FIELDS = (
    "reference",
    "flow",
    "kind",
    "status",
    "severity",
    "urgent",
    "reporting_party",
    "receiving_party",
    "municipality",
    "subject",
    "received_at",
    "measures_due",
    "close_due",
    "external_ref",
    "measure",
    "related_reference",
)


@cli.group(name="cases")
def cases_group() -> None:
    """Read the case log: list cases, show one with its messages and events."""


CASE_HEADER = ("reference", "flow", "kind", "status", "urgent", "municipality",
               "receiving party", "received", "close due", "ticket")  # fmt: skip
CASE_WIDTHS = (17, 4, 18, 16, 6, 16, 26, 21, 10)  # a time: 2026-10-23 10:10 CEST


def _values(r: CaseSummary, zone: str, their: dict[str, str]) -> tuple:
    return (
        r.reference, r.flow, r.kind, r.status, say("urgent") if r.urgent else "",
        r.municipality, r.receiving_party, local_time(r.received_at, zone), r.close_due,
        their.get(r.reference, ""),
    )  # fmt: skip


def case_rows(rows: list[CaseSummary], zone: str, their: dict[str, str]) -> list[str]:
    """The header and one line per case, in columns (cases list and cases search);
    ``their``: a party helpdesk's own number by reference (store/tickets.py)."""
    return table(CASE_HEADER, [_values(r, zone, their) for r in rows], CASE_WIDTHS)


def case_csv(rows: list[CaseSummary], zone: str, their: dict[str, str], style: str) -> str:
    """The same columns as CSV, for a spreadsheet: semicolons for Excel with Norwegian
    settings unless ``style`` is ``comma`` (settings ``csv_style``, as for the stats)."""
    buffer = io.StringIO()
    out = csv.writer(buffer, delimiter=";" if style == "semicolon" else ",", lineterminator="\r\n")
    out.writerow(CASE_HEADER)
    out.writerows(_values(r, zone, their) for r in rows)
    return buffer.getvalue()


@cases_group.command(name="list")
@click.option("--status", help=f"Only cases with this status ({', '.join(CaseStatus)}).")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv"]),
    default="table",
    show_default=True,
    help="csv: for a spreadsheet, in the settings' csv_style (semicolons by default).",
)
@database_option
@settings_option
def cases_list(status, limit, fmt, database, settings_file) -> None:
    """List the newest cases, with the parties' own ticket numbers (their helpdesks').

    \b
    Example:
        gateway cases list --status "under behandling"
        gateway cases list --limit 1000 --format csv > saker.csv
    """
    db = open_case_log(database, settings_file)
    rows = newest_cases(db, status, limit)
    their = tickets.shown_by_reference(db, [r.reference for r in rows])  # helpdesks' numbers
    settings = load_settings(settings_file)
    if fmt == "csv":
        click.echo(case_csv(rows, settings.timezone, their, settings.csv_style), nl=False)
        return
    for line in case_rows(rows, settings.timezone, their):
        click.echo(line)
    click.echo(f"{len(rows)} case(s)")


@cases_group.command(name="search")
@click.argument("text", required=False, default="")
@click.option("--reference", default="", help="The reference, or a part of it (2026-004).")
@click.option("--party", default="", help="Reporting or receiving party key (supplier).")
@click.option("--municipality", default="", help="The case's municipality (Vennesla).")
@click.option("--status", default="", help=f"The status ({', '.join(CaseStatus)}).")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@database_option
@settings_option
def cases_search(text, reference, party, municipality, status, limit, database, settings_file):
    """Find cases by reference, party, municipality, status and text (the subject and
    the messages' texts, as stored: de-identified where the rules say so).

    \b
    Example:
        gateway cases search --municipality Vennesla --status registrert
        gateway cases search --party supplier "uten kontakt"
    """
    f = CaseFilter(status=status, party=party, municipality=municipality, text=text)
    db = open_case_log(database, settings_file)
    rows = search_cases(db, f, reference, limit)
    their = tickets.shown_by_reference(db, [r.reference for r in rows])
    for line in case_rows(rows, load_settings(settings_file).timezone, their):
        click.echo(line)
    click.echo(f"{len(rows)} case(s)")


def _show_messages(db: Database, case: CaseRow, original: bool, zone: str, hide=None) -> None:
    hide = hide or _same
    for m in messages_of(db, case.id):
        click.echo(
            f"\n--- message {m.id} ({m.direction}, {cell(m.outcome)}) "
            f"{local_time(m.received_at, zone)} {cell(hide(m.from_addr))} -> "
            f"{cell(hide(m.to_addrs))}"
        )
        if original and m.direction == Direction.IN:
            record_original_view(db, case.id, m.id)
            click.echo(original_text(db, m.id) or "(the original is purged)")
        elif m.new_text:
            click.echo(hide(m.new_text))


def _reporter_mask(case: CaseRow, original: bool, rules_file, settings_file):
    """A confidential reporter (issue 21) shows as the profile's label, unless
    --original (each original viewed is logged) or the case is not confidential."""
    if not case.confidential:
        return _same
    rules = load_ruleset(rules_file, settings_file)
    found = confidential.mask(rules, True, case.reporter_address, case.reporter_name,
                              None, original)  # fmt: skip
    if found is None:
        click.echo(f"{'reporter':17} {case.reporter_name or ''} <{case.reporter_address}>")
    return found or _same


def _same(text):
    return text


@cases_group.command(name="show")
@click.argument("reference")
@click.option(
    "--original",
    is_flag=True,
    help="Show the messages as they arrived, personal data included (logged).",
)
@rules_option
@database_option
@settings_option
def cases_show(reference, original, rules_file, database, settings_file) -> None:
    """Show a case: its fields, messages and events. Text is shown de-identified as
    stored, unless --original is given.

    \b
    Example:
        gateway cases show AVVIK-2026-0042
    """
    db = open_case_log(database, settings_file)
    case = case_by_reference(db, reference.upper())
    if case is None:
        raise click.ClickException(f"no case {reference}")
    zone = load_settings(settings_file).timezone
    for key in CASE_FIELDS:
        value = getattr(case, key)
        if key == "urgent":
            value = bool(value)
        elif key == "received_at":
            value = local_time(value, zone)
        if value not in (None, ""):
            click.echo(f"{key:17} {cell(value)}")
    for line in record_lines(db, case.id):  # the deviation record
        click.echo(line)
    for ticket in tickets.of_case(db, case.id):  # a party's helpdesk's own number
        click.echo(f"{'ticket':17} {ticket.party}: {ticket.shown}")
    hide = _reporter_mask(case, original, rules_file, settings_file)
    _show_messages(db, case, original, zone, hide)
    click.echo("\n--- events")
    for e in events_of(db, case.id):
        click.echo(f"{local_time(e.at, zone)}  {e.kind:18} {cell(hide(e.detail))}")


@cli.command(name="purge")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@rules_option
@database_option
@settings_option
def purge_command(dry_run: bool, rules_file: Path | None, database, settings_file) -> None:
    """Purge raw messages and texts past retention (rules.yaml privacy: retention_days).

    The gateway does this by itself once a day; this runs it now.

    \b
    Example:
        gateway purge --dry-run
    """
    days = load_ruleset(rules_file, settings_file).privacy.retention_days
    db = open_case_log(database, settings_file)
    report = purge(db, days, dry_run=dry_run)
    if not dry_run:
        forget_terms(db)  # as the daemon does when idle: the purged words leave the terms
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb} {report.cases} closed case(s) and {report.messages} message(s), "
        f"{report.bytes / 2**20:.1f} MB, closed or received before {report.cutoff[:10]} "
        f"({days} days)"
    )
