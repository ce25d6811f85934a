"""``gateway init --profile NAME DIR``: a new deployment from a reference profile."""

from __future__ import annotations

from pathlib import Path

import click

from gateway import profiles
from gateway.cli.base import cli


@cli.command(name="init")
@click.option("--profile", "profile", required=True, help="agder, nordhordland, hoglandet, ...")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def init(profile: str, folder: Path) -> None:
    """Write a starting deployment into FOLDER: settings, rules, examples and a note of
    what to change first (FIRST-STEPS.md).

    \b
    Example:
        gateway init --profile hoglandet /etc/avviksgateway/hoglandet
    """
    try:
        written = profiles.init(profile, folder)
    except profiles.ProfileError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: read {folder / 'FIRST-STEPS.md'}")
