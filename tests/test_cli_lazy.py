"""The ``gateway`` group imports a command's module only when that command runs, and
still knows every command: ``gateway status`` on a large log is a quick look."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

from conftest import ROOT

from gateway.cli.base import COMMANDS, cli


def test_every_command_is_in_the_map_and_every_entry_is_a_command():
    for module in set(COMMANDS.values()):
        importlib.import_module(f"gateway.cli.{module}")
    assert set(cli.commands) == set(COMMANDS)


def test_status_does_not_import_the_daemon_the_web_view_or_the_renderer(tmp_path):
    database = tmp_path / "caselog.db"
    code = (
        "import sys, json\n"
        "from gateway.store import open_db\n"
        f"open_db({str(database)!r})\n"
        "from gateway.cli import cli\n"
        f"try: cli(['status', '--database', {str(database)!r}])\n"
        "except SystemExit as exit: assert not exit.code, exit.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert "gateway.cli.status" in loaded
    heavy = {"gateway.render", "gateway.web.app", "gateway.daemon", "flask", "gateway.cli.web"}
    assert not heavy & loaded
