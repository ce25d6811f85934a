"""The gateway's processes, from /proc: the ``gateway serve`` process and every process
under it (with ``pipeline_workers`` above 1, while a backlog has them running: the
worker processes, ``avvik-prepare``, and nothing else), their CPU and their memory; and
the CPU readings a phase starts and ends with: per thread of a process, and the machine's.

Memory per process is VmRSS (resident now), VmHWM (its peak) and Pss (resident, with
each page shared between processes counted in shares: the workers share the
interpreter's and the libraries' code with the gateway, so the sum of their RSS
overstates the machine's cost and the sum of their Pss does not). MB = 10^6 bytes.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """Every live process under ``pid`` (children, their children ...), by /proc scan."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        todo += children
    return sorted(found)


def name(pid: int) -> str:
    """The process's name (``avvik-prepare`` for a pipeline worker), '' once gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of all the process's threads so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_mb(pid: int) -> dict[str, float]:
    """rss_mb, peak_rss_mb and pss_mb of one process (zeros once it is gone)."""
    values = {"VmRSS": 0, "VmHWM": 0, "Pss": 0}
    for path in (f"/proc/{pid}/status", f"/proc/{pid}/smaps_rollup"):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    to_mb = lambda kb: round(kb * 1024 / 1e6, 1)  # noqa: E731
    return {
        "rss_mb": to_mb(values["VmRSS"]),
        "peak_rss_mb": to_mb(values["VmHWM"]),
        "pss_mb": to_mb(values["Pss"]),
    }


def tree_memory(pid: int) -> dict:
    """Memory of ``pid`` and every process under it: each one, and the totals (the sum
    of the peaks is an upper bound of the tree's peak: they need not come at once)."""
    procs = [{"pid": p, "name": name(p), **memory_mb(p)} for p in [pid, *descendants(pid)]]
    return {
        "processes": procs,
        "total_rss_mb": round(sum(p["rss_mb"] for p in procs), 1),
        "total_peak_rss_mb": round(sum(p["peak_rss_mb"] for p in procs), 1),
        "total_pss_mb": round(sum(p["pss_mb"] for p in procs), 1),
    }


def children_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """(name, CPU seconds so far) of every process under ``pid``."""
    return {p: (name(p), cpu_seconds(p)) for p in descendants(pid)}


def children_cpu_per_report(
    after: dict[int, tuple[str, float]], before: dict[int, tuple[str, float]], n: int
) -> list[dict]:
    """CPU milliseconds per report of each process under the gateway over a phase (a
    process started during the phase counts from its start)."""
    out = []
    for p, (label, seconds) in sorted(after.items()):
        used = seconds - before.get(p, ("", 0.0))[1]
        out.append({"pid": p, "name": label, "cpu_ms": round(used * 1e3 / n, 2)})
    return out


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name of a process, from /proc (threads that have ended
    are no longer counted: take both readings while the process runs)."""
    used: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        used[name] = used.get(name, 0.0) + ticks / _TICKS
    return used


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine so far, summed over its cores, from
    /proc/stat: the difference of two readings says how many cores a phase kept busy."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle, iowait
    total = sum(fields[:8])  # user .. steal (guest time is counted in user already)
    return (total - idle) / _TICKS, total / _TICKS
