"""A command that reads the case log starts without the libraries of the mail path:
``gateway status`` is an interpreter's start, and the IMAP and SMTP clients alone added a
fifth to it (issue 22: the status command within 200 ms of a million cases); nor does
it look for sqlite-utils plugins among the installed packages."""

from __future__ import annotations

import subprocess
import sys

from gateway.store import open_db

HEAVY = ("imapclient", "smtplib", "msal", "google.auth", "matplotlib", "aiosmtpd", "apscheduler",
         "importlib.metadata")  # fmt: skip  # (the last: sqlite-utils' plugin search)


def test_the_status_command_loads_none_of_the_mail_path_s_libraries(tmp_path):
    open_db(tmp_path / "log.db").close()  # a case log to show (else it stops before)
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
    assert "outbox:" in done.stdout  # it showed the log
    assert done.stdout.strip().splitlines()[-1] == "[]"
