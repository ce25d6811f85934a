"""The benchmark's moving parts: a timed SMTP sink, the gateway and the bare loop as
processes, Dovecot mailbox helpers, and memory readings from /proc.

The servers are the test suite's own (tests/servers.py): a private Dovecot on loopback
and an aiosmtpd sink. Everything listens on, and connects to, 127.0.0.1 only.
"""

from __future__ import annotations

import email.policy
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from email.parser import BytesParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.append(str(ROOT / "tests"))  # tests/servers.py, the suite's real servers

from aiosmtpd.smtp import Envelope  # noqa: E402
from servers import Dovecot, ReceivedMessage, SmtpSink, _group_members, free_port  # noqa: E402

from bench import procs  # noqa: E402
from bench.procs import machine_cpu, thread_cpu  # noqa: E402
from bench.reports import SUPPLIER  # noqa: E402

_HEADER_END = re.compile(rb"\r?\n\r?\n")
PASSWORD_ENV = "AVVIK_BENCH_IMAP_PASSWORD"
STAGING = "Staging"  # reports wait here, outside INBOX, until a phase starts its clock


class BenchError(RuntimeError):
    """A phase could not complete (a process died, mail did not arrive in time)."""


class TimedSink(SmtpSink):
    """The tests' sink, stamping each arrival with time.monotonic().

    It parses the header block only: the tests' full MIME parse of every 1 MB relay would
    make the sink, even more than aiosmtpd's line-by-line DATA, the bottleneck.
    """

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []
        self._parser = BytesParser(policy=email.policy.default)

    def _record(self, envelope: Envelope) -> None:
        stamp = time.monotonic()
        data = envelope.original_content or b""
        received = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=data,
            message=self._parser.parsebytes(_HEADER_END.split(data, maxsplit=1)[0]),
        )
        with self._cond:
            self.messages.append(received)
            self.arrivals.append(stamp)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            super().clear()
            self.arrivals.clear()

    def count(self) -> int:
        with self._cond:
            return len(self.messages)

    def wait_count(self, n: int, timeout: float, alive: ManagedProcess | None = None) -> None:
        """Wait until ``n`` messages arrived; fail early if ``alive`` exits meanwhile."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(
                        f"the sink got {len(self.messages)} of {n} messages in {timeout:.0f} s"
                        + (f"\n{alive.log_tail()}" if alive else "")
                    )
                if alive is not None and alive.proc is not None and alive.proc.poll() is not None:
                    raise BenchError(
                        f"{alive.name} exited with {alive.proc.returncode} after "
                        f"{len(self.messages)} of {n} messages\n{alive.log_tail()}"
                    )
                self._cond.wait(min(left, 0.5))

    def relays(self, since: int = 0) -> list[tuple[float, ReceivedMessage]]:
        """(arrival, message) of each relay to the supplier from index ``since`` on."""
        with self._cond:
            pairs = list(zip(self.arrivals, self.messages, strict=True))[since:]
        return [(t, m) for t, m in pairs if SUPPLIER in m.rcpt_tos]


_TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system, with reaped children's) of a process group's live
    members so far: Dovecot's master and the imap processes it forked."""
    used = 0.0
    for pid in _group_members(pgid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile (its time goes to the master's children's)
        used += sum(int(x) for x in fields[11:15]) / _TICKS  # utime stime cutime cstime
    return used


class CpuMeter:
    """Start it before a phase and read it after: how many cores the machine kept busy,
    and the CPU milliseconds Dovecot spent per report, over that phase."""

    def __init__(self, dovecot: Dovecot) -> None:
        assert dovecot.proc is not None
        self.pgid = dovecot.proc.pid  # dovecot -F runs in a session of its own
        self.machine = machine_cpu()
        self.dovecot = group_cpu(self.pgid)

    def read(self, reports: int) -> dict[str, float]:
        busy, total = machine_cpu()
        dt_busy, dt_total = busy - self.machine[0], total - self.machine[1]
        cores = os.cpu_count() or 1
        return {
            "cores_busy": round(cores * dt_busy / dt_total, 2) if dt_total else 0.0,
            # everything the machine did per report (the client, the sink, Dovecot and
            # whatever else ran): what bounds the rate once every core is busy
            "cpu_ms_per_report": round(dt_busy * 1e3 / reports, 2),
            "dovecot_ms_per_report": round(
                (group_cpu(self.pgid) - self.dovecot) * 1e3 / reports, 2
            ),
        }


class ManagedProcess:
    """A child process with its output in a log file; stop() is bounded in time."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, cwd: Path, env: dict) -> None:
        self.name, self.argv, self.log, self.cwd, self.env = name, list(argv), log, cwd, env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} log ({self.log}) ---\n{self.log_text()[-chars:]}"

    def wait_for_log(self, *texts: str, timeout: float = 30.0) -> None:
        """Wait until every one of ``texts`` is in the log (the gateway says when it is up)."""
        deadline = time.monotonic() + timeout
        while not all(t in self.log_text() for t in texts):
            if self.proc is None or self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited before {texts}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{self.name}: no {texts} in {timeout:.0f} s\n{self.log_tail()}")
            time.sleep(0.02)

    def memory_mb(self) -> dict[str, float]:
        """Current (VmRSS) and peak (VmHWM) resident memory, in MB of 10^6 bytes."""
        values: dict[str, float] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = round(int(rest.split()[0]) * 1024 / 1e6, 1)  # kB -> MB
        return {"rss_mb": values["VmRSS"], "peak_rss_mb": values["VmHWM"]}

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds (user + system) each thread has used so far, by thread name; the
        gateway names its threads (``avvik-pipeline``, ``avvik-sender-1`` ...), and its
        pipeline workers their processes (``avvik-prepare``). Threads of the processes
        under it that it does not name count as ``child:<name>``."""
        used = thread_cpu(self.pid)
        for child in procs.descendants(self.pid):
            for name, seconds in thread_cpu(child).items():
                key = name if name.startswith("avvik-") else f"child:{name}"
                used[key] = used.get(key, 0.0) + seconds
        return used

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        return proc.returncode


def gateway_settings(
    data_dir: Path,
    rules: Path,
    dovecot: Dovecot,
    user: str,
    sink_port: int,
    workers: int | None = None,
) -> str:
    """The gateway's TOML: one IMAP mailbox ``support``, the sink as smarthost;
    ``workers``: pipeline_workers (None: the gateway's default, the usable cores)."""
    extra = f"pipeline_workers = {workers}\n" if workers is not None else ""
    return f"""\
{extra}data_dir = "{data_dir}"
rules_file = "{rules}"
smtp_intake_host = "127.0.0.1"
smtp_intake_port = {free_port()}
send_receipts = true

[smarthost]
host = "127.0.0.1"
port = {sink_port}
security = "none"
timeout = 60

[[imap]]
mailbox = "support"
host = "127.0.0.1"
port = {dovecot.port}
security = "none"
user = "{user}"
password_env = "{PASSWORD_ENV}"
folder = "INBOX"
processed_folder = "Processed"
idle = true
"""


def start_gateway(
    workdir: Path,
    src: Path,
    dovecot: Dovecot,
    user: str,
    sink_port: int,
    workers: int | None = None,
) -> ManagedProcess:
    """``python -m gateway serve`` from ``src``, connected to its mailbox and idle."""
    workdir.mkdir(parents=True, exist_ok=True)
    settings = workdir / "gateway.toml"
    settings.write_text(
        gateway_settings(workdir / "var", src / "rules.yaml", dovecot, user, sink_port, workers)
    )
    env = {
        **os.environ,
        "AVVIK_SETTINGS": str(settings),
        PASSWORD_ENV: dovecot.users[user],
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(src),
    }
    env.pop("AVVIK_FAULT", None)
    gateway = ManagedProcess(
        f"gateway ({user})",
        [sys.executable, "-m", "gateway", "serve"],
        workdir / "gateway.log",
        src,
        env,
    ).start()
    try:
        gateway.wait_for_log("gateway ready", "support: connected")
        wait_idle(dovecot, user, gateway)
    except BaseException:
        gateway.stop(timeout=5)
        raise
    return gateway


def start_bare(
    workdir: Path, dovecot: Dovecot, user: str, sink_port: int, count: int, timeout: float
) -> ManagedProcess:
    """The ceiling loop (bench/bare.py) as a process, connected and idle."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, PASSWORD_ENV: dovecot.users[user], "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "bench.bare", "--port", str(dovecot.port), "--user", user]
    argv += ["--password-env", PASSWORD_ENV, "--smtp-port", str(sink_port)]
    argv += ["--count", str(count), "--timeout", str(timeout)]
    bare = ManagedProcess(f"bare loop ({user})", argv, workdir / "bare.log", ROOT, env).start()
    try:
        bare.wait_for_log("ready")
        wait_idle(dovecot, user, bare)
    except BaseException:
        bare.stop(timeout=5)
        raise
    return bare


def imap_titles(dovecot: Dovecot, user: str) -> list[str]:
    """Process titles of ``user``'s Dovecot imap processes (verbose_proctitle is on):
    ``dovecot/imap [user 127.0.0.1 IDLE]`` while that connection waits in IDLE."""
    titles = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if title.startswith(f"dovecot/imap [{user} "):
            titles.append(title.strip())
    return titles


def wait_idle(dovecot: Dovecot, user: str, owner: ManagedProcess, timeout: float = 20.0) -> None:
    """Wait until a connection of ``user`` is in IDLE, i.e. the client waits for mail."""
    deadline = time.monotonic() + timeout
    while not any(t.endswith(" IDLE]") for t in imap_titles(dovecot, user)):
        if owner.proc is None or owner.proc.poll() is not None:
            raise BenchError(f"{owner.name} exited before it went idle\n{owner.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"{owner.name} not in IDLE after {timeout:.0f} s\n{owner.log_tail()}")
        time.sleep(0.01)


def stage(dovecot: Dovecot, user: str, raws: Sequence[bytes], chunk: int = 50) -> None:
    """APPEND the reports to ``user``'s Staging folder (MULTIAPPEND, ``chunk`` at a time)."""
    with dovecot.client(user, timeout=120) as imap:
        if not imap.folder_exists(STAGING):
            imap.create_folder(STAGING)
        for start in range(0, len(raws), chunk):
            imap.multiappend(STAGING, list(raws[start : start + chunk]))


def release(dovecot: Dovecot, user: str) -> tuple[float, float]:
    """MOVE everything from Staging into INBOX at once; returns (start, end) monotonic.

    The clock of a throughput phase starts here: the client under test is already
    connected and idle, as a production gateway is when a burst of mail arrives.
    """
    with dovecot.client(user, timeout=120) as imap:
        imap.select_folder(STAGING)
        uids = imap.search("ALL")
        started = time.monotonic()
        imap.move(uids, "INBOX")
        return started, time.monotonic()


def folder_counts(dovecot: Dovecot, user: str) -> dict[str, int]:
    """Messages per folder of ``user`` (INBOX, Processed, Staging)."""
    with dovecot.client(user) as imap:
        names = [name for _f, _s, name in imap.list_folders()]
        return {n: int(imap.folder_status(n, [b"MESSAGES"])[b"MESSAGES"]) for n in names}


def wait_processed(dovecot: Dovecot, user: str, n: int, timeout: float = 20.0) -> dict[str, int]:
    """Wait until the gateway moved all ``n`` reports from INBOX to Processed."""
    deadline = time.monotonic() + timeout
    counts = folder_counts(dovecot, user)
    while (counts.get("INBOX", 0) or counts.get("Processed", 0) < n) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.1)
        counts = folder_counts(dovecot, user)
    return counts


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default) of a non-empty sample."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
