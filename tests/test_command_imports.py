"""A command that reads the case log starts without the libraries of the mail path:
``gateway status`` is an interpreter's start, and the IMAP and SMTP clients alone added a
fifth to it (issue 22: the status command within 200 ms of a million cases)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("imapclient", "smtplib", "msal", "google.auth", "matplotlib", "aiosmtpd", "apscheduler")


def test_the_status_command_loads_none_of_the_mail_path_s_libraries(tmp_path):
    probe = (
        "import sys\n"
        "from gateway.cli import cli\n"
        "try:\n"
        f"    cli(['status', '--database', {str(tmp_path / 'log.db')!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
