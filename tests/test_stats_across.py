"""``gateway stats --across DB ...`` (issue 21): several deployments' figures side by
side, each case log opened read-only and read for its figures only."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
import time_machine
from click.testing import CliRunner
from conftest import ROOT
from test_stats import AFTER, SECRET, add_case, seed

from gateway.cli.stats import stats as stats_command
from gateway.stats import figures
from gateway.stats_across import across, deployment_name
from gateway.store import open_db, write
from gateway.store.stats import open_figures_only


def _log(folder, cases: int):
    folder.mkdir(parents=True)
    db = open_db(folder / "gateway.db")
    with write(db):
        if cases == 8:
            seed(db)
        else:
            add_case(db, 1, "a", "2026-03-10T10:00", "2026-03-10T12:00")
    db.close()
    return folder / "gateway.db"


def test_figures_side_by_side_with_the_deployment_first(tmp_path, ruleset):
    logs = [_log(tmp_path / "hoglandet", 8), _log(tmp_path / "nordhordland", 1)]
    period = (dt.date(2026, 3, 1), dt.date(2026, 4, 30), ["flow"], AFTER)
    rows = across(logs, ruleset, *period)
    alone = []
    for name, path in (("hoglandet", logs[0]), ("nordhordland", logs[1])):
        db = open_db(path)
        alone += [(name, r.key["flow"], r.as_dict()) for r in figures(db, ruleset, *period)]
        db.close()
    got = [(r.key["deployment"], r.key["flow"], r.as_dict()) for r in rows]
    assert [(n, f, {k: v for k, v in d.items() if k != "deployment"}) for n, f, d in got] == alone
    assert [n for n, _f, _d in got].count("nordhordland") == 1
    assert list(rows[0].key) == ["deployment", "flow"]


def test_the_cli_reads_only_figures_and_writes_nothing(tmp_path):
    logs = [_log(tmp_path / "a", 8), _log(tmp_path / "b", 1)]
    before = [p.read_bytes() for p in logs]
    args = ["--rules", str(ROOT / "rules.yaml"), "--from", "2026-03-01", "--to", "2026-04-30"]
    across_args = [x for p in logs for x in ("--across", str(p))]
    with time_machine.travel(AFTER, tick=False):
        result = CliRunner().invoke(stats_command, [*args, *across_args, "--format", "json"])
        table = CliRunner().invoke(stats_command, [*args, *across_args])
    assert result.exit_code == 0, result.output
    assert [(r["deployment"], r["opened"]) for r in json.loads(result.output)] == [
        ("a", 5),
        ("b", 1),
    ]
    assert table.output.splitlines()[-2].split()[0] == "a"
    for output in (result.output, table.output):
        for secret in ("Kari", "01017012345", "@", "AVVIK-"):
            assert secret not in output
    assert [p.read_bytes() for p in logs] == before  # no migration, no write


def test_a_log_is_opened_read_only(tmp_path):
    path = _log(tmp_path / "x", 1)
    db = open_figures_only(path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM cases")
    assert SECRET  # the seeded secret is in the log, and only figures leave it (above)


def test_a_missing_log_is_an_error_and_names_are_folders(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_figures_only(tmp_path / "none.db")
    assert deployment_name(tmp_path / "nav" / "gateway.db") == "nav"
    assert deployment_name(tmp_path / "hoglandet-2025.db") == "hoglandet-2025"
