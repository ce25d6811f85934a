"""The benchmark (bench/) still runs: a quick smoke run through the real Dovecot, gateway
and sink, in which every report must be relayed and the JSON must have its keys.

No timing is asserted: how fast this machine is says nothing about the code.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest
from conftest import ROOT, dovecot_available

pytestmark = pytest.mark.skipif(
    not dovecot_available(), reason="dovecot is not installed (make test installs it)"
)

SMALL, LARGE, TRIALS = 20, 5, 5  # what --quick runs


def test_quick_benchmark_relays_every_report(tmp_path):
    output = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "reports/s" in proc.stdout  # the table
    result = json.loads(output.read_text())
    assert set(result) >= {
        "date",
        "machine",
        "config",
        "gateway",
        "throughput",
        "pickup",
        "memory",
        "targets",
        "seconds",
    }
    assert result["machine"]["cores"] >= 1

    for key, n in (("small", SMALL), ("large", LARGE)):
        case = result["throughput"][key]
        ceiling, gateway = case["ceiling"], case["gateway"]
        assert case["n"] == n and "ratio" in case
        # --quick measures one round; a full run alternates three and reports the median.
        (only,) = case["rounds"]
        assert only["ratio"] == case["ratio"]
        assert only["gateway_reports_per_s"] == case["gateway"]["reports_per_s"]
        for side in (ceiling, gateway):
            assert set(side) >= {"n", "mb", "seconds", "reports_per_s", "mb_per_s"}
        # The bare loop forwards each report once; the gateway relays it and sends a receipt.
        assert (ceiling["sink_messages"], ceiling["relays"]) == (n, n)
        assert (gateway["sink_messages"], gateway["relays"], gateway["receipts"]) == (2 * n, n, n)
        assert (gateway["processed"], gateway["inbox_left"]) == (n, 0)
        assert gateway["database"]["cases_by_flow"] == {"a": n}
        assert gateway["database"]["outbox_by_state"] == {"sent": 2 * n}
        assert set(gateway) >= {"idle_rss_mb", "peak_rss_mb"}
        # CPU by the gateway's named threads: the pipeline did the work, and the parts
        # add up to the total (the sink's own cost per message beside them).
        cpu = gateway["cpu_ms"]
        assert cpu["pipeline"] > 0 and "sink_per_message" in cpu
        parts = sum(v for k, v in cpu.items() if k not in ("total", "sink_per_message"))
        assert abs(parts - cpu["total"]) < 0.1
        assert set(ceiling["cpu_ms"]) == {"bare", "sink_per_message"}
        # The whole machine over each phase: cores busy, and Dovecot's share per report.
        for side in (ceiling, gateway):
            busy = side["machine"]
            assert 0 < busy["cores_busy"] <= result["machine"]["cores"]
            assert busy["dovecot_ms_per_report"] >= 0
        # The sink alone, given what the gateway sent (relay and receipt of every report):
        # the bound no gateway passes with this sink, per round and for the median one.
        alone = gateway["sink_alone"]
        assert alone["reports_per_s"] > 0 and alone["messages_per_s"] > alone["reports_per_s"]
        assert case["sink_bound_ratio"] == round(
            alone["reports_per_s"] / ceiling["reports_per_s"], 3
        )
        assert only["sink_bound_ratio"] == case["sink_bound_ratio"]
        # The machine's CPU per report (all its processes) over the gateway's phase, and
        # the ratio it allows with every core busy: at least the ratio reached, as the
        # phase cannot have kept more than every core busy.
        used = gateway["machine"]["cpu_ms_per_report"]
        assert used > 0
        cores = result["machine"]["cores"]
        assert case["cores_bound_ratio"] == round(cores * 1e3 / used / ceiling["reports_per_s"], 3)
        assert case["cores_bound_ratio"] >= case["ratio"] * 0.9  # ticks of 10 ms: slack
        assert only["cores_bound_ratio"] == case["cores_bound_ratio"]

    for side in ("bare", "gateway"):
        pickup = result["pickup"][side]
        assert pickup["trials"] == len(pickup["samples_ms"]) == TRIALS
        assert set(pickup) >= {"p50_ms", "p95_ms"}
    assert result["pickup"]["gateway"]["processed"] == TRIALS

    assert set(result["memory"]) >= {"idle_rss_mb", "large_run_peak_rss_mb"}  # no big in --quick

    names = {t["name"] for t in result["targets"]}
    assert {"ratio 5-20 KB", "ratio 1 MB", "pickup p95 ms", "pickup p50 - bare p50 ms"} <= names
    assert all(set(t) == {"name", "target", "value", "met"} for t in result["targets"])


def test_machine_cpu_counts_this_process_busy(monkeypatch):
    """The cores-busy reading comes from /proc/stat: CPU this process burns shows in it."""
    monkeypatch.syspath_prepend(str(ROOT))
    from bench.procs import machine_cpu

    busy_before, all_before = machine_cpu()
    spent = time.process_time()
    while time.process_time() - spent < 0.3:
        pass
    busy_after, all_after = machine_cpu()
    assert busy_after - busy_before >= 0.2  # clock ticks of 10 ms: some slack
    # all time >= busy time; the readings are sums of 10 ms ticks in floats: allow one tick
    assert all_after - all_before >= busy_after - busy_before - 0.011


def test_the_same_seed_gives_the_same_reports_whatever_ran_before(monkeypatch):
    """The reports are padded to their size by a ratio learned as they are built: learned
    per process, another call before changed the bytes of the next (and the mail the
    rendered-examples test holds to its digests, when a test before it made reports)."""
    import email.utils

    from bench.reports import small_reports

    monkeypatch.setattr(email.utils, "formatdate", lambda **_: "Tue, 10 Mar 2026 09:30:00 +0000")
    random.seed(1)  # the MIME boundaries the email package draws
    first = small_reports(10, seed=3)
    small_reports(40, seed=11, tag="other")
    random.seed(1)
    assert small_reports(10, seed=3) == first
