"""The ``gateway`` command: run the daemon, check rules and messages, read the case log.

The group and the options its commands share live in ``gateway.cli.base``; each module
here adds its commands to the group when imported. The group imports a command's module
only when that command runs (``base.COMMANDS``), so ``gateway status`` does not wait for
the imports of the daemon and the web view.
"""

from __future__ import annotations

from gateway.cli.base import cli

__all__ = ["cli", "main"]


def main() -> None:  # pragma: no cover - console entry point
    cli()
