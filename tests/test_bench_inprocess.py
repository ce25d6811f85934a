"""bench.inprocess (the pipeline alone, with and without workers) and bench.procs (the
gateway's processes from /proc) still run. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT

from bench import procs


def test_inprocess_measures_the_pipeline_with_and_without_workers():
    argv = [sys.executable, "-m", "bench.inprocess", "-n", "6", "--workers", "1", "2"]
    proc = subprocess.run(
        [*argv, "--rounds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    alone, together = result["pipeline_workers=1"], result["pipeline_workers=2"]
    assert alone["worker_processes_ms"] == 0 and alone["pipeline_thread_ms"] > 0
    assert together["worker_processes_ms"] >= 0 and together["reports_per_s"] > 0


def test_the_process_tree_is_read_from_proc():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in procs.descendants(os.getpid())
        tree = procs.tree_memory(os.getpid())
        mine = {p["pid"]: p for p in tree["processes"]}
        assert mine[os.getpid()]["rss_mb"] > 0 and child.pid in mine
        assert tree["total_rss_mb"] >= mine[os.getpid()]["rss_mb"]
        assert procs.cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
