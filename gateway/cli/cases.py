"""``gateway cases`` and ``gateway purge``: reading the case log, and purging it by hand."""

from __future__ import annotations

from pathlib import Path

import click

from gateway.caselog import original_text, record_original_view
from gateway.cli.base import (
    cli,
    database_option,
    load_ruleset,
    open_case_log,
    rules_option,
    say,
    settings_option,
)
from gateway.retention import purge
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
from gateway.store.states import CaseStatus, Direction

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


def _case_line(r: CaseSummary) -> str:
    urgent = say("urgent") + " " if r.urgent else ""
    return (
        f"{r.reference}  {r.flow or '-'}  {r.status:16} {urgent}{r.municipality or '-':16} "
        f"{r.receiving_party or '-':20} {r.received_at[:16]}  " + say("close_due", date=r.close_due)
    )


@cases_group.command(name="list")
@click.option("--status", help=f"Only cases with this status ({', '.join(CaseStatus)}).")
@click.option("--limit", default=50, show_default=True, help="How many, newest first.")
@database_option
@settings_option
def cases_list(status, limit, database, settings_file) -> None:
    """List the newest cases.

    \b
    Example:
        gateway cases list --status "under behandling"
    """
    db = open_case_log(database, settings_file)
    rows = newest_cases(db, status, limit)
    their = tickets.shown_by_reference(db, [r.reference for r in rows])  # helpdesks' numbers
    for r in rows:
        click.echo(_case_line(r) + (f"  {their[r.reference]}" if r.reference in their else ""))
    click.echo(f"{len(rows)} case(s)")


def _show_messages(db: Database, case: CaseRow, original: bool) -> None:
    for m in messages_of(db, case.id):
        click.echo(
            f"\n--- message {m.id} ({m.direction}, {m.outcome}) "
            f"{m.received_at[:16]} {m.from_addr or ''} -> {m.to_addrs or ''}"
        )
        if original and m.direction == Direction.IN:
            record_original_view(db, case.id, m.id)
            click.echo(original_text(db, m.id) or "(the original is purged)")
        elif m.new_text:
            click.echo(m.new_text)


@cases_group.command(name="show")
@click.argument("reference")
@click.option(
    "--original",
    is_flag=True,
    help="Show the messages as they arrived, personal data included (logged).",
)
@database_option
@settings_option
def cases_show(reference, original, database, settings_file) -> None:
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
    for key in CASE_FIELDS:
        if getattr(case, key) not in (None, ""):
            click.echo(f"{key:17} {getattr(case, key)}")
    for ticket in tickets.of_case(db, case.id):  # a party's helpdesk's own number
        click.echo(f"{'ticket':17} {ticket.party}: {ticket.shown}")
    _show_messages(db, case, original)
    click.echo("\n--- events")
    for e in events_of(db, case.id):
        click.echo(f"{e.at[:19]}  {e.kind:18} {e.detail}")


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
    report = purge(open_case_log(database, settings_file), days, dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    click.echo(
        f"{verb} {report.cases} closed case(s) and {report.messages} message(s), "
        f"{report.bytes / 2**20:.1f} MB, closed or received before {report.cutoff[:10]} "
        f"({days} days)"
    )
