"""``gateway quarantine``: messages parked for a human; list, show, release or drop them."""

from __future__ import annotations

import re

import click

from gateway import quarantine
from gateway.cli.base import cli, database_option, load_settings, open_case_log, settings_option
from gateway.cli.output import cell, local_time, table
from gateway.store import get_raw
from gateway.store.quarantine import get_quarantined, list_quarantined

SHOWN = ("id", "received_at", "mailbox", "source", "from_addr", "subject", "size", "reason")


@cli.group(name="quarantine")
def quarantine_group() -> None:
    """Messages parked for a human: list, show, release or drop them."""


@quarantine_group.command(name="list")
@database_option
@settings_option
def quarantine_list(database, settings_file) -> None:
    """List quarantined messages with their reasons.

    \b
    Example:
        gateway quarantine list
    """
    rows = list_quarantined(open_case_log(database, settings_file))
    zone = load_settings(settings_file).timezone
    lines = table(
        ("id", "received", "mailbox", "from", "reason"),
        [(r.id, local_time(r.received_at, zone), r.mailbox, r.from_addr, r.reason) for r in rows],
        (6, 21, 13, 40),
    )
    for line in lines:
        click.echo(line)
    click.echo(f"{len(rows)} message(s) in quarantine")


@quarantine_group.command(name="show")
@click.argument("message_id", type=int)
@click.option("--raw", is_flag=True, help="Print the whole raw message, body included.")
@database_option
@settings_option
def quarantine_show(message_id: int, raw: bool, database, settings_file) -> None:
    """Show one quarantined message: where it came from, why, and its header; the
    body (which may hold personal data) only with --raw.

    \b
    Example:
        gateway quarantine show 42 --raw
    """
    db = open_case_log(database, settings_file)
    row = get_quarantined(db, message_id)
    if row is None:
        raise click.ClickException(f"message {message_id} is not in quarantine")
    zone = load_settings(settings_file).timezone
    for key in SHOWN:
        value = getattr(row, key)
        click.echo(f"{key:12} {local_time(value, zone) if key == 'received_at' else cell(value)}")
    data = get_raw(db, message_id) or b""
    click.echo("")
    if not data:
        click.echo("(the raw message is purged)")
    elif raw:
        click.echo(data.decode("utf-8", "replace"))
    else:  # the header block alone, whether the lines end in CRLF or LF
        header = re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0][:8000]
        click.echo(header.decode("utf-8", "replace").replace("\r\n", "\n"))
        click.echo("\n(the body is not shown: --raw shows the whole message)")


@quarantine_group.command(name="release")
@click.argument("message_id", type=int)
@database_option
@settings_option
def quarantine_release(message_id: int, database, settings_file) -> None:
    """Give a message back to the pipeline, to be decided again.

    \b
    Example:
        gateway quarantine release 42
    """
    try:
        quarantine.release(open_case_log(database, settings_file), message_id)
    except quarantine.NotQuarantined as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"message {message_id} released: the running gateway decides it again")


@quarantine_group.command(name="drop")
@click.argument("message_id", type=int)
@click.option("--why", required=True, help="Why it is dropped (kept in the case log).")
@database_option
@settings_option
def quarantine_drop(message_id: int, why: str, database, settings_file) -> None:
    """Drop a message for good: the record and the reason stay, the bytes go.

    \b
    Example:
        gateway quarantine drop 42 --why "spam"
    """
    try:
        quarantine.drop(open_case_log(database, settings_file), message_id, why)
    except quarantine.NotQuarantined as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"message {message_id} dropped")
