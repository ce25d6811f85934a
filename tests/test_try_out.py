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
from gateway.store import open_db, write

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
