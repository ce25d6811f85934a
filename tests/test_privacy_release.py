"""An administrator releases a held-back attachment after looking at it: a message of its
own to the case's receivers, and an event (gateway attachments list/release)."""

from __future__ import annotations

import email
import json
from email.policy import default

from attachment_samples import docx
from click.testing import CliRunner
from conftest import ROOT, make_mail
from test_privacy import FNR
from test_privacy_flow import run

import gateway.cli.attachments  # noqa: F401  (the lead registers it in gateway/cli)
from gateway.cli import cli
from gateway.intake import accept
from gateway.store import open_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20


def test_list_and_release_a_held_back_attachment(db_path, ruleset):
    db = open_db(db_path)
    report = make_mail(
        attachments=[
            ("skjerm.png", PNG, "image/png"),
            ("journal.docx", docx(FNR, "comment"), "application/octet-stream"),
            ("logg.txt", b"Feilkode 42", "text/plain"),
        ]
    )
    accept(db, report, "support", "t")
    run(db, ruleset)
    reference = next(db.query("SELECT reference FROM cases"))["reference"]
    runner = CliRunner()
    opts = ["--database", str(db_path), "--rules", str(ROOT / "rules.yaml")]

    listed = runner.invoke(cli, ["attachments", "list", reference, *opts])
    assert listed.exit_code == 0, listed.output
    assert "2 attachment(s) held back" in listed.output
    lines = listed.output.splitlines()
    png = next(line for line in lines if "skjerm.png" in line)
    assert "unreadable: image" in png
    assert "personal" in next(line for line in lines if "journal.docx" in line)

    which = png.split()[0]
    released = runner.invoke(
        cli, ["attachments", "release", reference, which, "--by", "ola", *opts]
    )
    assert released.exit_code == 0, released.output
    row = next(db.query("SELECT o.recipients, r.raw FROM outbox o JOIN raw_messages r "
                        "ON r.id = o.message_id WHERE o.purpose = 'release'"))  # fmt: skip
    assert json.loads(row["recipients"]) == ["support@leverandor.example"]
    mail = email.message_from_bytes(row["raw"], policy=default)
    assert f"[{reference}]" in mail["Subject"] and "skjerm.png" in mail["Subject"]
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "skjerm.png" and attachment.get_content() == PNG
    text = mail.get_body(("plain",)).get_content()
    assert "innholdet ikke kunne leses" in text and "(ola)" in text
    (detail,) = [e["detail"] for e in db["events"].rows_where("kind = 'attachment-released'")]
    assert detail == "skjerm.png (unreadable) released by ola to support@leverandor.example"

    missing = runner.invoke(cli, ["attachments", "release", reference, "999.1", *opts])
    assert missing.exit_code == 1 and "no held-back attachment" in missing.output
    unknown = runner.invoke(cli, ["attachments", "list", "AVVIK-1999-0001", *opts])
    assert unknown.exit_code == 1 and "no case" in unknown.output
