"""Trying the gateway out (issue 17, point 16): the monthly report for any month, and a
demo case log that shows the report, the statistics and the digest at once."""

from __future__ import annotations

import email
import json
from email.policy import default
from pathlib import Path

from click.testing import CliRunner
from test_stats import seed

from gateway.cli import cli
from gateway.store import merges, open_db, write

ROOT = Path(__file__).resolve().parents[1]


def queued(db, purpose: str) -> list[tuple[list[str], email.message.EmailMessage]]:
    rows = db.query(
        "SELECT o.recipients, r.raw FROM outbox o JOIN raw_messages r "
        "ON r.id = o.message_id WHERE o.purpose = ? ORDER BY o.id",
        [purpose],
    )
    return [
        (json.loads(r["recipients"]), email.message_from_bytes(r["raw"], policy=default))
        for r in rows
    ]


def test_monthly_report_for_any_month(tmp_path):
    path = tmp_path / "gateway.db"
    db = open_db(path)
    with write(db):
        seed(db)
    common = ["jobs", "--database", str(path), "--rules", str(ROOT / "rules.yaml"), "run"]
    result = CliRunner().invoke(cli, [*common, "monthly-report", "--month", "2026-03"])
    assert result.exit_code == 0, result.output
    assert "report for 2026-03 to ledelse@trygghet-agder.example" in result.output
    ((to, report),) = queued(db, "report")
    assert to == ["ledelse@trygghet-agder.example"]
    assert report["Subject"] == "Avviksstatistikk for mars 2026"
    assert db["job_runs"].count == 0  # apart from the schedule: its record is untouched

    for wrong, why in (("2026-13", "is not YYYY-MM"), ("2999-01", "has not begun yet")):
        result = CliRunner().invoke(cli, [*common, "monthly-report", "--month", wrong])
        assert result.exit_code != 0 and why in result.output
    result = CliRunner().invoke(cli, [*common, "reminders", "--month", "2026-03"])
    assert result.exit_code != 0 and "only monthly-report takes a month" in result.output


def test_demo_fills_a_case_log_that_shows_report_stats_and_digest(tmp_path):
    folder = tmp_path / "demo"
    rules = ["--rules", str(ROOT / "rules.yaml")]
    result = CliRunner().invoke(cli, ["demo", str(folder), "--today", "2026-12-03", *rules])
    assert result.exit_code == 0, result.output
    assert "--from 2026-09-01 --to 2026-11-30" in result.output
    db = open_db(folder / "gateway.db")
    cases = list(db.query("SELECT reference, kind, status, received_at FROM cases ORDER BY id"))
    assert len(cases) == 10 and cases[0]["received_at"].startswith("2026-09-03T")  # fixed clock
    assert {c["received_at"][:7] for c in cases} == {"2026-09", "2026-10", "2026-11"}
    assert "FORSLAG-2026-0001" in {c["reference"] for c in cases}
    assert {c["status"] for c in cases} >= {"lukket", "under behandling", "registrert"}
    assert merges.owed(db) == 0  # the search indexes merged, as an idle gateway leaves them

    period = ["--from", "2026-09-01", "--to", "2026-11-30", "--by", "month"]
    stats = CliRunner().invoke(
        cli, ["stats", "--database", str(folder / "gateway.db"), *rules, *period]
    )
    table = stats.output.split("\n\n")[1]  # the notes, the table, the record's figures
    lines = table.splitlines()[1:]  # after the header
    months = {line.split()[0]: line.split()[1] for line in lines}
    assert months == {"2026-09": "4", "2026-10": "4", "2026-11": "1"}  # opened (deviations)

    mails = {p.name: email.message_from_bytes(p.read_bytes(), policy=default)
             for p in sorted((folder / "outbox-sent").glob("*.eml"))}  # fmt: skip
    reports = [m for name, m in mails.items() if name.endswith("-report.eml")]
    assert [m["Subject"] for m in reports] == ["Avviksstatistikk for november 2026"]
    digests = [m for name, m in mails.items() if name.endswith("-digest.eml")]
    assert any("AVVIK-2026-0001" in d.get_body(("plain",)).get_content() for d in digests)
    assert any(name.endswith("-triage.eml") for name in mails)  # the unknown sender

    again = CliRunner().invoke(cli, ["demo", str(folder), *rules])
    assert again.exit_code != 0 and "is not empty" in again.output
