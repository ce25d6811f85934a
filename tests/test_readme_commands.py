"""The README's first-message commands work as written (issue 17, point 13): the Python
one-liner, run against a real gateway with no settings but its port, is relayed and
receipted as the README says; and the README says how to run ``gateway`` after make."""

from __future__ import annotations

import email
import re
import subprocess
import sys
import time
from email.policy import default

from conftest import ROOT
from servers import free_port

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_python_one_liner_is_relayed_as_the_readme_says(gateway_process, tmp_path):
    [line] = re.findall(r'`(python3 -c "import smtplib;.*?")`', README)
    assert "From: kari.nordmann@vennesla.kommune.example" in line  # decides the sender
    port = free_port()
    gateway = gateway_process(f'data_dir = "{tmp_path / "var"}"\nsmtp_intake_port = {port}\n')
    gateway.start()
    code = line.removeprefix("python3 -c ").strip('"').replace("2525", str(port))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
    outbox = tmp_path / "var" / "outbox-sent"
    deadline = time.monotonic() + 20
    while len(list(outbox.glob("*.eml"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(p.name for p in outbox.glob("*.eml")) == [
        "000001-relay.eml",
        "000002-receipt.eml",
    ]
    relay = email.message_from_bytes((outbox / "000001-relay.eml").read_bytes(), policy=default)
    assert relay["To"] == "support@leverandor.example"
    assert relay["Subject"] == "[AVVIK-2026-0001] Test"
    assert relay["Reply-To"] == "support@trygghet-agder.example"
    assert "relay AVVIK-2026-0001 flow a to supplier" in gateway.log.read_text()


def test_the_readme_says_how_to_run_gateway_after_make():
    assert "`.venv/bin/gateway …`" in README and ". .venv/bin/activate" in README
    assert "\t$(BIN)/gateway serve" in (ROOT / "Makefile").read_text()  # make run
