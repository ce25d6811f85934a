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

import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import figures, procs, reports
from bench.blast import write_messages
from bench.facts import database_counts, machine, revision
from bench.harness import (
    ROOT,
    CpuMeter,
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
from bench.profile import PySpy, flamegraph_svg, read_collapsed, summarise
from bench.table import targets

RESULTS = ROOT / "bench" / "results"
USERS = ("bare-pickup", "gw-pickup", "gw-big")  # and a pair per round of each throughput case


@dataclass(frozen=True)
class Config:
    """What to measure; the defaults are the issue's full run."""

    n_small: int = 1000
    n_large: int = 100
    large_attachment_bytes: int = 1_000_000
    trials: int = 50
    big_bytes: int = 25_000_000  # 0: skip the single big message
    rounds: int = 3  # ceiling and gateway alternately, this many times; the median counts
    seed: int = 1
    gateway_src: str = str(ROOT)
    profile: bool = False
    output: str = str(RESULTS / "latest.json")
    keep: bool = False
    pipeline_workers: int | None = None  # None: the gateway's default (the usable cores)


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
            meter, bare_before = CpuMeter(self.dovecot), sum(bare.thread_cpu().values())
            sink_before = time.process_time()
            started, moved = release(self.dovecot, user)
            self.sink.wait_count(len(raws), timeout, alive=bare)
            ended = self.sink.arrivals[-1]
            n = len(raws)
            cpu = {"bare": round((sum(bare.thread_cpu().values()) - bare_before) * 1e3 / n, 2)}
            cpu["sink_per_message"] = round((time.process_time() - sink_before) * 1e3 / n, 2)
            busy = meter.read(n)
            code = _wait_exit(bare, 15)
        finally:
            bare.stop(timeout=5)
        result = figures.rates(raws, ended - started)
        result.update(
            move_seconds=round(moved - started, 3),
            sink_messages=self.sink.count(),
            relays=len(self.sink.relays()),
            exit_code=code,
            cpu_ms=cpu,
            machine=busy,
        )
        return result

    def gateway(
        self, user: str, raws: Sequence[bytes], timeout: float, profile: str | None = None
    ) -> dict:
        """``gateway serve`` over the reports: every one relayed, with a receipt, and moved."""
        n = len(raws)
        stage(self.dovecot, user, raws)
        gateway = self._start_gateway(user)
        spy = None
        try:
            idle = gateway.memory_mb()
            if profile:
                spy = PySpy(gateway.pid, self.workdir / f"{profile}.collapsed.txt")
                time.sleep(1.0)  # py-spy needs a moment to attach
            self.sink.clear()
            cpu_before, sink_before = gateway.thread_cpu(), time.process_time()
            procs_before = procs.children_cpu(gateway.pid)
            meter = CpuMeter(self.dovecot)
            started, moved = release(self.dovecot, user)
            self.sink.wait_count(2 * n, timeout, alive=gateway)
            cpu = figures.cpu_per_report(gateway.thread_cpu(), cpu_before, n)
            children = procs.children_cpu_per_report(
                procs.children_cpu(gateway.pid), procs_before, n
            )
            busy = meter.read(n)
            # This process is the sink (its other threads wait): its CPU per message.
            cpu["sink_per_message"] = round((time.process_time() - sink_before) * 1e3 / (2 * n), 2)
            relays = self.sink.relays()
            ended = max(t for t, _m in relays) if relays else self.sink.arrivals[-1]
            all_sent = self.sink.arrivals[-1]
            if spy is not None:
                spy.stop()  # before the reads below, which are not the gateway's work
            memory, tree = gateway.memory_mb(), procs.tree_memory(gateway.pid)
            folders = wait_processed(self.dovecot, user, n)
        finally:
            if spy is not None:
                spy.stop()
            code = gateway.stop()
        sent = [m.data for m in self.sink.messages]
        result = figures.rates(raws, ended - started)
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
            database=database_counts(self.workdir / user / "var" / "gateway.db"),
            idle_rss_mb=idle["rss_mb"],
            rss_mb=memory["rss_mb"],
            peak_rss_mb=memory["peak_rss_mb"],
            cpu_ms=cpu,
            machine=busy,
            exit_code=code,
            processes=figures.processes(tree, children),
        )
        # How fast the sink alone takes what the gateway sent: no gateway, however fast,
        # gets its reports through this sink faster than that.
        alone = self.sink_capacity(f"{user}-sent", sent) if len(sent) > 2 else None
        if alone:
            alone["reports_per_s"] = round(alone["messages_per_s"] * n / len(sent), 2)
        result["sink_alone"] = alone
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
        gateway = self._start_gateway("gw-pickup")
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
        gateway = self._start_gateway(user)
        try:
            idle = gateway.memory_mb()
            self.sink.clear()
            started, _moved = release(self.dovecot, user)
            self.sink.wait_count(2, 300, alive=gateway)
            ended = self.sink.arrivals[-1]
            memory, tree = gateway.memory_mb(), procs.tree_memory(gateway.pid)
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
            "processes": figures.processes(tree),
        }

    def _start_gateway(self, user: str) -> ManagedProcess:
        return start_gateway(
            self.workdir / user, self.src, self.dovecot, user, self.sink.port,
            self.config.pipeline_workers,
        )  # fmt: skip


def _wait_exit(process: ManagedProcess, timeout: float) -> int | None:
    """The bare loop exits by itself once it sent its count; wait for that, bounded."""
    assert process.proc is not None
    try:
        return process.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def run(config: Config) -> dict:
    """Every phase, in order; returns the result that becomes the JSON."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="avg-bench-"))
    say(f"bench: scratch directory {workdir}")
    result: dict = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine(),
        "config": asdict(config),
        "gateway": revision(Path(config.gateway_src)),
        "throughput": {},
        "pickup": None,
        "memory": {},
    }
    ok = False
    pairs = [f"{side}-{key}-{r}" for key in ("small", "large") for r in range(1, config.rounds + 1)
             for side in ("bare", "gw")]  # fmt: skip
    dovecot = Dovecot(workdir / "dovecot", users={u: "bench-" + u for u in (*USERS, *pairs)})
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
        cores = result["machine"]["cores"]  # as CpuMeter counts them busy: every core
        for key, label, raws, per_report in cases:
            timeout = 60 + per_report * len(raws)
            rounds = []
            for r in range(1, config.rounds + 1):
                say(f"bench: round {r}: ceiling, {len(raws)} x {label}")
                ceiling = bench.ceiling(f"bare-{key}-{r}", raws, timeout)
                say(f"bench:   {ceiling['reports_per_s']} reports/s; gateway")
                profile = "profile" if config.profile and key == "small" and r == 1 else None
                gateway = bench.gateway(f"gw-{key}-{r}", raws, timeout, profile)
                ratio = round(gateway["reports_per_s"] / ceiling["reports_per_s"], 3)
                say(f"bench:   {gateway['reports_per_s']} reports/s (ratio {ratio})")
                rounds.append((ratio, ceiling, gateway))
            # The round with the median ratio: this machine's speed swings between runs,
            # and a ceiling and a gateway measured side by side swing together.
            ratio, ceiling, gateway = sorted(rounds, key=lambda x: x[0])[len(rounds) // 2]
            sink_only = bench.sink_capacity(key, raws) if len(raws) > 1 else None
            result["throughput"][key] = {
                "label": label,
                "n": len(raws),
                "mb": ceiling["mb"],
                "ceiling": ceiling,
                "gateway": gateway,
                "ratio": ratio,
                "rounds": [
                    {
                        "ceiling_reports_per_s": c["reports_per_s"],
                        "gateway_reports_per_s": g["reports_per_s"],
                        "ratio": q,
                        "sink_bound_ratio": figures.sink_bound(c, g),
                        "cores_bound_ratio": figures.cores_bound(c, g, cores),
                    }
                    for q, c, g in rounds
                ],
                "sink_only": sink_only,
                # The ratio no gateway could beat with this sink: the sink alone, taking
                # the gateway's relays and receipts, against the ceiling of the same round.
                "sink_bound_ratio": figures.sink_bound(ceiling, gateway),
                # The ratio with every core busy all the time at the CPU per report the
                # whole machine spent (the gateway, the sink, Dovecot): no spreading of
                # the work beats it, only less work per report.
                "cores_bound_ratio": figures.cores_bound(ceiling, gateway, cores),
            }
            if key == "large":
                result["memory"]["large_run_peak_rss_mb"] = max(
                    g["peak_rss_mb"] for _q, _c, g in rounds
                )
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
        result["targets"] = targets(result)
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
