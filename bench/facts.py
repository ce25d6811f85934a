"""What a benchmark run records beside its timings: the machine, the gateway code
measured, and what the gateway wrote in its case log."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from pathlib import Path


def database_counts(path: Path) -> dict:
    """What the gateway recorded, read straight from its SQLite file (read-only)."""
    if not path.exists():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        states = conn.execute(
            "SELECT state, COUNT(*) FROM messages WHERE direction = 'in' GROUP BY state"
        ).fetchall()
        cases = conn.execute("SELECT flow, COUNT(*) FROM cases GROUP BY flow").fetchall()
        outbox = conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall()
    finally:
        conn.close()
    return {
        "incoming_by_state": dict(states),
        "cases_by_flow": {str(k): v for k, v in cases},
        "outbox_by_state": dict(outbox),
    }


def revision(src: Path) -> dict:
    """The gateway code measured: git commit, and whether gateway/ had local changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--", "gateway", "templates"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {"src": str(src), "commit": None, "local_changes": None}
    if head.returncode != 0:
        return {"src": str(src), "commit": None, "local_changes": None}
    return {"src": str(src), "commit": head.stdout.strip(), "local_changes": bool(dirty.stdout)}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "cpu": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
