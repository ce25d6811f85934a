"""Settings are checked at start like rules.yaml (issue 17, point 15): every problem
with its file, key and what is wrong, an exit code, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def serve(tmp_path, text: str) -> subprocess.CompletedProcess:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVVIK_")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--settings", str(path)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=env,
    )  # fmt: skip


def test_every_wrong_key_is_named_at_once(tmp_path):
    result = serve(
        tmp_path,
        'smtp_intake_port = "25x"\nsend_receipts = "ja"\ncolour = "red"\n'
        '[[imap]]\nmailbox = "support"\nhost = "imap.example"\nuser = "u"\nport = "993"\n',
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    where = f"{tmp_path / 'gateway.toml'}: "
    for problem in (
        "smtp_intake_port: must be a whole number, not '25x'",
        "send_receipts: must be true or false, not 'ja'",
        "colour: unknown setting",
        "[[imap]] #1: port: must be a whole number, not '993'",
    ):
        assert where + problem in result.stderr


def test_a_port_out_of_range(tmp_path):
    result = serve(tmp_path, "web_port = 70000\n")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "gateway.toml: web_port: 70000 is not a port (1 to 65535)" in result.stderr


def test_unusable_data_dir_and_unknown_mailbox_are_both_named(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = serve(
        tmp_path,
        f'data_dir = "{tmp_path / "a-file" / "var"}"\nrules_file = "{ROOT / "rules.yaml"}"\n'
        '[[imap]]\nmailbox = "supprt"\nhost = "imap.example"\nuser = "u"\n',
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"data_dir: {tmp_path / 'a-file' / 'var'} cannot be created" in result.stderr
    assert (
        "[[imap]] #1: mailbox 'supprt' is not named in rules.yaml "
        "(mailboxes: responssenter, support)" in result.stderr
    )
    assert "2 problem(s) in the settings; not started" in result.stderr
