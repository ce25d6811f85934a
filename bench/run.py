"""The gateway's benchmark: throughput against a bare IMAP-to-SMTP ceiling, pickup
latency from IDLE, and memory, all in one run against a real Dovecot and aiosmtpd.

    .venv/bin/python -m bench            # full run, about 3-4 minutes on 2 cores
    .venv/bin/python -m bench --quick    # smoke run (N=20), well under a minute

Each phase gets its own Dovecot user (so no phase sees another's mail), and each
gateway phase a fresh ``gateway serve`` process with its own data_dir (so its peak
RSS is that phase's). Reports wait in a Staging folder while the client under test
connects and goes idle; the clock starts when one MOVE puts them all in INBOX, and stops
at the last relay the sink receives. Throughput counts incoming reports: the bare loop
sends one message per report, the gateway two (relay and receipt). MB = 10^6 bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import reports
from bench.blast import write_messages
from bench.harness import (
    ROOT,
    BenchError,
    Dovecot,
    ManagedProcess,
    TimedSink,
    folder_counts,
    percentile,
    release,
    stage,
    start_bare,
    start_gateway,
    wait_idle,
    wait_processed,
)
from bench.profile import PySpy, find_py_spy, flamegraph_svg, read_collapsed, summarise

RESULTS = ROOT / "bench" / "results"
USERS = ("bare-small", "gw-small", "bare-large", "gw-large", "bare-pickup", "gw-pickup", "gw-big")


@dataclass(frozen=True)
class Config:
    """What to measure; the defaults are the issue's full run."""

    n_small: int = 1000
    n_large: int = 100
    large_attachment_bytes: int = 1_000_000
    trials: int = 50
    big_bytes: int = 25_000_000  # 0: skip the single big message
    seed: int = 1
    gateway_src: str = str(ROOT)
    profile: bool = False
    output: str = str(RESULTS / "latest.json")
    keep: bool = False


_T0 = time.monotonic()


def say(text: str) -> None:
    """Progress on stderr, with the seconds since start; the table goes to stdout."""
    print(f"[{time.monotonic() - _T0:6.1f}] {text}", file=sys.stderr, flush=True)


class Bench:
    """One benchmark run: the servers, a scratch directory, and the phases."""

    def __init__(self, config: Config, dovecot: Dovecot, sink: TimedSink, workdir: Path):
        self.config, self.dovecot, self.sink, self.workdir = config, dovecot, sink, workdir
        self.src = Path(config.gateway_src).resolve()
        self.rng = random.Random(config.seed)

    # -- throughput ---------------------------------------------------------------------------

    def ceiling(self, user: str, raws: Sequence[bytes], timeout: float) -> dict:
        """The bare loop over the reports: IDLE wake-up, batched FETCH, one SMTP connection."""
        stage(self.dovecot, user, raws)
        bare = start_bare(
            self.workdir / user, self.dovecot, user, self.sink.port, len(raws), timeout
        )
        try:
            self.sink.clear()
            started, moved = release(self.dovecot, user)
            self.sink.wait_count(len(raws), timeout, alive=bare)
            ended = self.sink.arrivals[-1]
            code = _wait_exit(bare, 15)
        finally:
            bare.stop(timeout=5)
        result = _rates(raws, ended - started)
        result.update(
            move_seconds=round(moved - started, 3),
            sink_messages=self.sink.count(),
            relays=len(self.sink.relays()),
            exit_code=code,
        )
        return result

    def gateway(
        self, user: str, raws: Sequence[bytes], timeout: float, profile: str | None = None
    ) -> dict:
        """``gateway serve`` over the reports: every one relayed, with a receipt, and moved."""
        n = len(raws)
        stage(self.dovecot, user, raws)
        gateway = start_gateway(self.workdir / user, self.src, self.dovecot, user, self.sink.port)
        spy = None
        try:
            idle = gateway.memory_mb()
            if profile:
                spy = PySpy(gateway.pid, self.workdir / f"{profile}.collapsed.txt")
                time.sleep(1.0)  # py-spy needs a moment to attach
            self.sink.clear()
            cpu_before, sink_before = gateway.thread_cpu(), time.process_time()
            started, moved = release(self.dovecot, user)
            self.sink.wait_count(2 * n, timeout, alive=gateway)
            cpu = _cpu_per_report(gateway.thread_cpu(), cpu_before, n)
            # This process is the sink (its other threads wait): its CPU per message.
            cpu["sink_per_message"] = round((time.process_time() - sink_before) * 1e3 / (2 * n), 2)
            relays = self.sink.relays()
            ended = max(t for t, _m in relays) if relays else self.sink.arrivals[-1]
            all_sent = self.sink.arrivals[-1]
            if spy is not None:
                spy.stop()  # before the reads below, which are not the gateway's work
            memory = gateway.memory_mb()
            folders = wait_processed(self.dovecot, user, n)
        finally:
            if spy is not None:
                spy.stop()
            code = gateway.stop()
        result = _rates(raws, ended - started)
        receipts = sum(
            1
            for m in self.sink.messages
            if reports.SUPPLIER not in m.rcpt_tos
            and all(r.endswith(".kommune.example") for r in m.rcpt_tos)
        )
        result.update(
            move_seconds=round(moved - started, 3),
            seconds_all_sent=round(all_sent - started, 3),
            sink_messages=self.sink.count(),
            relays=len(relays),
            receipts=receipts,
            inbox_left=folders.get("INBOX", 0),
            processed=folders.get("Processed", 0),
            database=_database_counts(self.workdir / user / "var" / "gateway.db"),
            idle_rss_mb=idle["rss_mb"],
            rss_mb=memory["rss_mb"],
            peak_rss_mb=memory["peak_rss_mb"],
            cpu_ms=cpu,
            exit_code=code,
        )
        if spy is not None and profile:
            result["profile"] = self._profile_files(spy.collapsed, profile, n)
        return result

    def _profile_files(self, collapsed: Path, name: str, n: int) -> dict:
        """Keep the collapsed stacks and a flame graph beside the JSON; return the summary."""
        out_dir = Path(self.config.output).resolve().parent
        out_dir.mkdir(parents=True, exist_ok=True)
        if not collapsed.exists():
            return {"error": f"py-spy wrote nothing; see {collapsed.with_suffix('.log')}"}
        stacks = read_collapsed(collapsed)
        kept = out_dir / f"{name}.collapsed.txt"
        shutil.copyfile(collapsed, kept)
        svg = out_dir / f"{name}.svg"
        flamegraph_svg(stacks, svg, f"gateway serve, {n} reports of 5-20 KB (py-spy)")
        return {"svg": str(svg), "collapsed": str(kept), **summarise(stacks)}

    def sink_capacity(self, name: str, raws: Sequence[bytes]) -> dict:
        """The sink alone: the same messages sent straight to it over one SMTP connection,
        by a process (bench/blast.py), timed from the first arrival to the last."""
        path = self.workdir / f"{name}.messages"
        write_messages(path, raws)
        self.sink.clear()
        argv = [sys.executable, "-m", "bench.blast", "--smtp-port", str(self.sink.port), str(path)]
        subprocess.run(argv, cwd=ROOT, check=True, timeout=60 + 2 * len(raws))
        self.sink.wait_count(len(raws), 10)
        path.unlink()
        seconds = self.sink.arrivals[-1] - self.sink.arrivals[0]
        size = sum(len(r) for r in raws[1:])  # the first message starts the clock
        return {
            "messages_per_s": round((len(raws) - 1) / seconds, 1),
            "mb_per_s": round(size / 1e6 / seconds, 2),
        }

    # -- pickup latency -------------------------------------------------------------------------

    def pickup(self, user: str, owner: ManagedProcess, raws: Sequence[bytes], per: int) -> dict:
        """APPEND one report at a time to an idle client; seconds until its relay arrives.

        The clock starts when the APPEND has completed (the message is in the inbox).
        Trials start at random moments 50-200 ms after the client is back in IDLE.
        """
        samples: list[float] = []
        self.sink.clear()
        with self.dovecot.client(user) as imap:
            for raw in raws:
                wait_idle(self.dovecot, user, owner)
                time.sleep(self.rng.uniform(0.05, 0.2))
                before = self.sink.count()
                imap.append("INBOX", raw)
                appended = time.monotonic()
                self.sink.wait_count(before + per, 20, alive=owner)
                samples.append(self.sink.relays(before)[0][0] - appended)
        return {
            "trials": len(samples),
            "p50_ms": round(1000 * percentile(samples, 50), 1),
            "p95_ms": round(1000 * percentile(samples, 95), 1),
            "min_ms": round(1000 * min(samples), 1),
            "max_ms": round(1000 * max(samples), 1),
            "samples_ms": [round(1000 * s, 1) for s in samples],
        }

    def pickup_both(self, raws: Sequence[bytes]) -> tuple[dict, dict, dict]:
        """Pickup of the bare loop, then of a fresh gateway; and the idle gateway's memory."""
        bare = start_bare(
            self.workdir / "bare-pickup",
            self.dovecot,
            "bare-pickup",
            self.sink.port,
            len(raws),
            600,
        )
        try:
            bare_result = self.pickup("bare-pickup", bare, raws, 1)
            _wait_exit(bare, 10)
        finally:
            bare.stop(timeout=5)
        gateway = start_gateway(
            self.workdir / "gw-pickup", self.src, self.dovecot, "gw-pickup", self.sink.port
        )
        try:
            time.sleep(1.0)  # settled: connected, rules loaded, threads waiting
            idle = gateway.memory_mb()
            gw_result = self.pickup("gw-pickup", gateway, raws, 2)
            folders = folder_counts(self.dovecot, "gw-pickup")
            gw_result.update(
                inbox_left=folders.get("INBOX", 0), processed=folders.get("Processed", 0)
            )
        finally:
            gateway.stop()
        return bare_result, gw_result, idle

    # -- one big message ------------------------------------------------------------------------

    def big(self, raw: bytes) -> dict:
        """A fresh gateway takes one big report; its peak RSS (VmHWM) over its whole life."""
        user = "gw-big"
        stage(self.dovecot, user, [raw])
        gateway = start_gateway(self.workdir / user, self.src, self.dovecot, user, self.sink.port)
        try:
            idle = gateway.memory_mb()
            self.sink.clear()
            started, _moved = release(self.dovecot, user)
            self.sink.wait_count(2, 300, alive=gateway)
            ended = self.sink.arrivals[-1]
            memory = gateway.memory_mb()
            folders = wait_processed(self.dovecot, user, 1)
        finally:
            code = gateway.stop()
        return {
            "message_mb": round(len(raw) / 1e6, 2),
            "seconds": round(ended - started, 3),
            "sink_messages": self.sink.count(),
            "relays": len(self.sink.relays()),
            "processed": folders.get("Processed", 0),
            "idle_rss_mb": idle["rss_mb"],
            "peak_rss_mb": memory["peak_rss_mb"],
            "exit_code": code,
        }


def _cpu_per_report(after: dict[str, float], before: dict[str, float], n: int) -> dict:
    """Milliseconds of CPU per report by part of the gateway (its named threads; the
    delivery connections summed), and in all."""
    parts: dict[str, float] = {}
    for name, seconds in after.items():
        part = name.removeprefix("avvik-").split("-")[0] if name.startswith("avvik-") else "other"
        parts[part] = parts.get(part, 0.0) + seconds - before.get(name, 0.0)
    result = {k: round(v * 1e3 / n, 2) for k, v in sorted(parts.items()) if v > 0}
    result["total"] = round(sum(parts.values()) * 1e3 / n, 2)
    return result


def _rates(raws: Sequence[bytes], seconds: float) -> dict:
    size = sum(len(r) for r in raws)
    return {
        "n": len(raws),
        "mb": round(size / 1e6, 2),
        "seconds": round(seconds, 3),
        "reports_per_s": round(len(raws) / seconds, 2),
        "mb_per_s": round(size / 1e6 / seconds, 2),
    }


def _wait_exit(process: ManagedProcess, timeout: float) -> int | None:
    """The bare loop exits by itself once it sent its count; wait for that, bounded."""
    assert process.proc is not None
    try:
        return process.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def _database_counts(path: Path) -> dict:
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


def _revision(src: Path) -> dict:
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


def _machine() -> dict:
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


def _targets(result: dict) -> list[dict]:
    """The issue's targets, each with the measured value and whether it is met."""
    out = []

    def add(name: str, target: str, value: float | None, met: Callable[[float], bool]) -> None:
        out.append(
            {
                "name": name,
                "target": target,
                "value": value,
                "met": None if value is None else met(value),
            }
        )

    tp = result["throughput"]
    if "small" in tp:
        add("ratio 5-20 KB", ">= 0.5", tp["small"]["ratio"], lambda v: v >= 0.5)
    if "large" in tp:
        add("ratio 1 MB", ">= 0.7", tp["large"]["ratio"], lambda v: v >= 0.7)
    pickup = result.get("pickup")
    if pickup:
        gw, bare = pickup["gateway"], pickup["bare"]
        add("pickup p95 ms", "<= 1000", gw["p95_ms"], lambda v: v <= 1000)
        add(
            "pickup p50 - bare p50 ms",
            "<= 50",
            round(gw["p50_ms"] - bare["p50_ms"], 1),
            lambda v: v <= 50,
        )
    big = result["memory"].get("big")
    if big:
        add(
            f"peak RSS {big['message_mb']:.0f} MB message",
            "<= 150 MB",
            big["peak_rss_mb"],
            lambda v: v <= 150,
        )
    return out


def run(config: Config) -> dict:
    """Every phase, in order; returns the result that becomes the JSON."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="avg-bench-"))
    say(f"bench: scratch directory {workdir}")
    result: dict = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(),
        "config": asdict(config),
        "gateway": _revision(Path(config.gateway_src)),
        "throughput": {},
        "pickup": None,
        "memory": {},
    }
    ok = False
    dovecot = Dovecot(workdir / "dovecot", users={u: "bench-" + u for u in USERS})
    sink = TimedSink()
    try:
        dovecot.start()
        sink.start()
        result["machine"]["dovecot"] = ".".join(map(str, dovecot.version))
        bench = Bench(config, dovecot, sink, workdir)
        cases = []
        if config.n_small:
            say(f"bench: generating {config.n_small} reports of 5-20 KB")
            cases.append(
                ("small", "5-20 KB", reports.small_reports(config.n_small, config.seed), 0.2)
            )
        if config.n_large:
            say(f"bench: generating {config.n_large} reports with a 1 MB attachment")
            raws = reports.attachment_reports(
                config.n_large, config.large_attachment_bytes, config.seed + 1
            )
            cases.append(("large", "1 MB attachment", raws, 1.0))
        for key, label, raws, per_report in cases:
            timeout = 60 + per_report * len(raws)
            say(f"bench: ceiling, {len(raws)} x {label}")
            ceiling = bench.ceiling(f"bare-{key}", raws, timeout)
            say(f"bench:   {ceiling['reports_per_s']} reports/s; gateway, {len(raws)} x {label}")
            profile = "profile" if config.profile and key == "small" else None
            gateway = bench.gateway(f"gw-{key}", raws, timeout, profile)
            ratio = round(gateway["reports_per_s"] / ceiling["reports_per_s"], 3)
            sink_only = bench.sink_capacity(key, raws) if len(raws) > 1 else None
            say(f"bench:   {gateway['reports_per_s']} reports/s (ratio {ratio})")
            result["throughput"][key] = {
                "label": label,
                "n": len(raws),
                "mb": ceiling["mb"],
                "ceiling": ceiling,
                "gateway": gateway,
                "ratio": ratio,
                "sink_only": sink_only,
            }
            if key == "large":
                result["memory"]["large_run_peak_rss_mb"] = gateway["peak_rss_mb"]
        if config.trials:
            say(f"bench: pickup latency, {config.trials} trials each")
            raws = reports.small_reports(config.trials, config.seed + 2, tag="p")
            bare, gw, idle = bench.pickup_both(raws)
            result["pickup"] = {"bare": bare, "gateway": gw}
            result["memory"]["idle_rss_mb"] = idle["rss_mb"]
            say(f"bench:   p50 bare {bare['p50_ms']} ms, gateway {gw['p50_ms']} ms")
        if config.big_bytes:
            say(f"bench: one {config.big_bytes / 1e6:.0f} MB message")
            result["memory"]["big"] = bench.big(
                reports.message_of_size(config.big_bytes, config.seed)
            )
        result["targets"] = _targets(result)
        result["seconds"] = round(time.monotonic() - started, 1)
        ok = True
        return result
    finally:
        sink.stop()
        dovecot.cleanup()
        if ok and not config.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"bench: logs kept in {workdir}")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(result: dict) -> str:
    """The one table: throughput, ratio, pickup and memory, each against its target."""
    met = {t["name"]: t for t in result.get("targets", [])}

    def verdict(name: str) -> tuple[str, str]:
        t = met.get(name)
        if t is None:
            return "", ""
        return t["target"], {True: "yes", False: "NO", None: "-"}[t["met"]]

    rows = [("measure", "ceiling", "gateway", "gw/ceil", "target", "met")]
    for key, name in (("small", "ratio 5-20 KB"), ("large", "ratio 1 MB")):
        tp = result["throughput"].get(key)
        if not tp:
            continue
        c, g = tp["ceiling"], tp["gateway"]
        head = f"{tp['label']} (N={tp['n']}, {tp['mb']:.1f} MB)"
        rows.append(
            (
                head + " reports/s",
                _fmt(c["reports_per_s"]),
                _fmt(g["reports_per_s"]),
                _fmt(tp["ratio"], 2),
                *verdict(name),
            )
        )
        rows.append(("  MB/s", _fmt(c["mb_per_s"], 2), _fmt(g["mb_per_s"], 2), "", "", ""))
        rows.append(("  seconds", _fmt(c["seconds"], 2), _fmt(g["seconds"], 2), "", "", ""))
        if cpu := g.get("cpu_ms"):
            parts = ("pipeline", "sender", "imap")
            shown = ", ".join(f"{k} {cpu[k]:.1f}" for k in parts if k in cpu)
            rows.append((f"  gateway CPU ms/report ({shown})", "", _fmt(cpu["total"]), "", "", ""))
            rows.append(("  sink CPU ms/message", "", _fmt(cpu["sink_per_message"], 2), "", "", ""))
        if tp.get("sink_only"):
            rows.append(
                ("  sink alone, SMTP only, msg/s", _fmt(tp["sink_only"]["messages_per_s"]))
                + ("",) * 4
            )
    pickup = result.get("pickup")
    if pickup:
        b, g = pickup["bare"], pickup["gateway"]
        diff = round(g["p50_ms"] - b["p50_ms"], 1)
        rows.append(
            (
                f"pickup p50 ms ({g['trials']} trials)",
                _fmt(b["p50_ms"]),
                _fmt(g["p50_ms"]),
                f"{diff:+.1f}",
                *verdict("pickup p50 - bare p50 ms"),
            )
        )
        rows.append(
            ("pickup p95 ms", _fmt(b["p95_ms"]), _fmt(g["p95_ms"]), "", *verdict("pickup p95 ms"))
        )
    memory = result["memory"]
    if "idle_rss_mb" in memory:
        rows.append(("gateway RSS idle MB", "", _fmt(memory["idle_rss_mb"]), "", "", ""))
    if "large_run_peak_rss_mb" in memory:
        rows.append(
            ("gateway peak RSS, 1 MB run MB", "", _fmt(memory["large_run_peak_rss_mb"]), "", "", "")
        )
    big = memory.get("big")
    if big:
        name = f"peak RSS {big['message_mb']:.0f} MB message"
        rows.append((f"gateway {name} MB", "", _fmt(big["peak_rss_mb"]), "", *verdict(name)))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    lines = []
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if j == 0 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    m = result["machine"]
    lines.append(
        f"{result['date']}, {m['cores']} cores, Python {m['python']}, "
        f"Dovecot {m.get('dovecot')}, run {result.get('seconds')} s"
    )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Config:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N=20 small, 5 of 1 MB, 5 trials, no big message",
    )
    parser.add_argument(
        "-n",
        "--n-small",
        type=int,
        help="reports of 5-20 KB (default 1000; 20 or fewer: --quick for the rest)",
    )
    parser.add_argument("--n-large", type=int, help="reports with a 1 MB attachment (default 100)")
    parser.add_argument("--trials", type=int, help="pickup latency trials (default 50)")
    parser.add_argument(
        "--big-mb",
        type=float,
        help="size of the single big message, 0 to skip (default 25; --quick: 0)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated reports")
    parser.add_argument(
        "--gateway-src", default=str(ROOT), help="checkout whose gateway/ runs (default: this one)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the gateway during the 5-20 KB run"
    )
    parser.add_argument(
        "--output", default=str(RESULTS / "latest.json"), help="where the JSON goes"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (logs, databases)"
    )
    args = parser.parse_args(argv)
    quick = args.quick or (args.n_small is not None and 0 < args.n_small <= 20)
    n_small = args.n_small if args.n_small is not None else (20 if quick else 1000)
    return Config(
        n_small=n_small,
        n_large=args.n_large if args.n_large is not None else (5 if quick else 100),
        trials=args.trials if args.trials is not None else (5 if quick else 50),
        big_bytes=int((args.big_mb if args.big_mb is not None else (0 if quick else 25)) * 1e6),
        seed=args.seed,
        gateway_src=args.gateway_src,
        profile=args.profile,
        output=args.output,
        keep=args.keep,
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    if config.profile and find_py_spy() is None:
        say("bench: --profile needs py-spy: .venv/bin/pip install py-spy")
        return 2
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop Dovecot and the gateway.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run(config)
    except BenchError as exc:
        say(f"bench: FAILED: {exc}")
        return 1
    print(table(result))
    output = Path(config.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    say(f"bench: results written to {output}")
    return 0
