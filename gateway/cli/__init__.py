"""The ``gateway`` command: run the daemon, check rules and messages, read the case log.

The group and the options its commands share live in ``gateway.cli.base``; each module
here adds its commands to it when imported, which this package does below.
"""

from __future__ import annotations

# Importing a command module adds its commands to the group.
from gateway.cli import (  # noqa: F401
    attachments,
    cases,
    demo,
    jobs,
    quarantine,
    report,
    rules,
    stats,
    status,
    triage,
    web,
)
from gateway.cli import init as _init  # noqa: F401  (gateway init --profile)
from gateway.cli.base import cli
from gateway.decide.classify import COMPARED

__all__ = ["COMPARED", "cli", "main"]


def main() -> None:  # pragma: no cover - console entry point
    cli()
