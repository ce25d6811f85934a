"""``gateway attachments``: attachments held back from a party that must not see personal
data; list them, or release one after looking at it."""

from __future__ import annotations

import getpass

import click

from gateway.cli.base import (
    cli,
    database_option,
    load_ruleset,
    load_settings,
    make_renderer,
    open_case_log,
    rules_option,
    settings_option,
)
from gateway.outbox.queue import enqueue
from gateway.parse import parse
from gateway.privacy.release import held_back, release_message
from gateway.store import event, get_raw, write
from gateway.store.attachments import incoming
from gateway.store.cases import by_reference, participant_addresses


@cli.group(name="attachments")
def attachments_group() -> None:
    """Attachments held back from a redacted party: list them, release one."""


def _case(db, reference: str):
    case = by_reference(db, reference)
    if case is None:
        raise click.ClickException(f"no case {reference}")
    return case


def _held(db, case_id: int, ruleset) -> list[tuple[int, object, object]]:
    """(message id, parsed message, Held) for every attachment held back in the case."""
    found = []
    for row_id in incoming(db, case_id):
        raw = get_raw(db, row_id)
        if raw is None:  # purged after retention: nothing left to release
            continue
        msg = parse(raw)
        found += [(row_id, msg, held) for held in held_back(msg, ruleset)]
    return found


@attachments_group.command(name="list")
@click.argument("reference")
@rules_option
@database_option
@settings_option
def attachments_list(reference: str, rules_file, database, settings_file) -> None:
    """List a case's held-back attachments as MESSAGE.NUMBER, name and why.

    \b
    Example:
        gateway attachments list AVVIK-2026-0042
    """
    db = open_case_log(database, settings_file)
    case = _case(db, reference)
    rows = _held(db, case.case_id, load_ruleset(rules_file, settings_file))
    for row_id, _msg, held in rows:
        why = f"{held.reason}: {held.why}" if held.why else held.reason
        click.echo(f"{row_id}.{held.number:<4} {held.name[:50]:50}  {why}")
    click.echo(f"{len(rows)} attachment(s) held back")


@attachments_group.command(name="release")
@click.argument("reference")
@click.argument("which")
@click.option("--to", "to", multiple=True, help="Send to this address (default: receivers).")
@click.option("--by", "by", default=None, help="Who releases it (default: your user name).")
@rules_option
@database_option
@settings_option
def attachments_release(reference, which, to, by, rules_file, database, settings_file) -> None:
    """Send one held-back attachment (MESSAGE.NUMBER from list) to the case's receivers.

    \b
    Example:
        gateway attachments release AVVIK-2026-0042 17.2
    """
    db = open_case_log(database, settings_file)
    case, ruleset = _case(db, reference), load_ruleset(rules_file, settings_file)
    chosen = [r for r in _held(db, case.case_id, ruleset) if f"{r[0]}.{r[2].number}" == which]
    if not chosen:
        raise click.ClickException(f"no held-back attachment {which} in {case.reference}")
    row_id, msg, held = chosen[0]
    to = list(to) or participant_addresses(db, case.case_id, "receiver")
    by = by or getpass.getuser()
    renderer = make_renderer(load_settings(settings_file))
    out = release_message(msg, held, reference=case.reference, to=to, by=by,
                          renderer=renderer, ruleset=ruleset, case_id=case.case_id)  # fmt: skip
    with write(db):
        enqueue(db, out)
        detail = f"{held.name or '-'} ({held.reason}) released by {by} to {', '.join(to)}"
        event(db, "attachment-released", detail, case_id=case.case_id, message_id=row_id)
    click.echo(f"{held.name} queued for {', '.join(to)}")
