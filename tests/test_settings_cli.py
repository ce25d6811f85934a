"""Settings (TOML + environment, secrets never in the file) and the CLI's help and errors."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT

from gateway.cli import cli
from gateway.settings import Settings, SettingsError, load


def test_defaults_need_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load(environ={})
    assert s == Settings()
    assert str(s.database_path) == "var/gateway.db"
    assert str(s.outbox_path) == "var/outbox-sent"
    assert s.smtp_intake_host == "127.0.0.1" and s.smarthost is None


def test_toml_with_secret_from_environment(tmp_path):
    path = tmp_path / "gateway.toml"
    path.write_text(
        'data_dir = "/srv/avvik"\n[smarthost]\nhost = "smtp.example"\nuser = "gw"\n'
        'password_env = "SMTP_PW"\n[[imap]]\nmailbox = "support"\nhost = "imap.example"\n'
        'user = "support"\npassword_file = "' + str(tmp_path / "pw") + '"\n'
    )
    (tmp_path / "pw").write_text("hemmelig\n")
    s = load(path, environ={"SMTP_PW": "s3cret", "AVVIK_SMTP_PORT": "2626"})
    assert s.smarthost.password == "s3cret" and s.smarthost.security == "starttls"
    assert s.imap[0].password == "hemmelig" and s.imap[0].port == 993
    assert s.smtp_intake_port == 2626
    assert "s3cret" not in repr(s) and "hemmelig" not in repr(s)


@pytest.mark.parametrize("text, message", [
    ('colour = "red"\n', "gateway.toml: colour: unknown setting"),
    ('[smarthost]\nhost = "x"\npassword = "pw"\n', "'password' is not allowed"),
    ('[smarthost]\nhost = "x"\npassword_env = "NOPE"\n', "NOPE (password_env) is not set"),
    ('[smarthost]\nhost = "x"\nsecurity = "tls"\n', "security must be one of"),
    ("data_dir = \n", "gateway.toml"),
    ('[smarthost]\nhost = "x"\nconnections = 0\n', "[smarthost]: connections must be 1 to 20"),
])  # fmt: skip
def test_bad_settings_are_named(tmp_path, text, message):
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load(path, environ={})
    assert message in str(err.value)


def all_commands(group=cli, prefix=()):
    """Every leaf command, as its words: ("rules", "test"), ("quarantine", "list") ...
    Asked as click asks (``list_commands``, ``get_command``): the top group imports a
    command's module only when it is asked for (gateway/cli/base.py), so its
    ``commands`` holds only those that some earlier test happened to load."""
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def test_every_command_has_help_with_an_example():
    runner = CliRunner()
    commands = list(all_commands())
    assert ("rules", "test") in commands and ("quarantine", "release") in commands
    for words in commands:
        result = runner.invoke(cli, [*words, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output, words


def test_readme_documents_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for words in all_commands():
        assert "gateway " + " ".join(words) in readme, words


@pytest.mark.skipif(not EXAMPLES.exists(), reason="examples not beside the repo")
def test_classify_guesses_the_mailbox_from_the_recipient_and_prints_text():
    eml = EXAMPLES / "006.eml"
    result = CliRunner().invoke(cli, ["classify", str(eml), "--at", "2026-02-03T11:45:00+01:00",
                                      "--rules", str(ROOT / "rules.yaml"), "--json"])  # fmt: skip
    got = json.loads(result.output)
    assert (got["mailbox"], got["flow"], got["external_ref"]) == (
        "responssenter",
        "b",
        "Asys-12345",
    )
    text = CliRunner().invoke(cli, ["classify", str(eml), "--rules", str(ROOT / "rules.yaml")])
    assert "decision      relay" in text.output


def test_classify_rejects_a_bad_time():
    eml = next(EXAMPLES.glob("*.eml"), None) or ROOT / "rules.yaml"
    result = CliRunner().invoke(cli, ["classify", str(eml), "--at", "yesterday"])
    assert result.exit_code == 2 and "not an ISO 8601 time" in result.output
