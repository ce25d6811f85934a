"""Sampling profile of the running gateway with py-spy, summarised for whoever optimises.

py-spy attaches to the gateway's PID from outside (``--nonblocking``: the gateway is not
paused to take a sample), so the code under test is unchanged. It writes collapsed
stacks; from them we draw a flame graph (SVG) and rank the costs three ways: by thread,
by the deepest gateway function on the stack (what our code spends, libraries
included), and by the module the CPU was in (self time).
"""

from __future__ import annotations

import html
import shutil
import signal
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

# Frames that every thread has and that say nothing about cost.
_PLUMBING = ("Thread._bootstrap", "Thread.run", "<module>", "_run_module", "run (gateway/daemon")


def find_py_spy() -> str | None:
    """py-spy beside this interpreter (``.venv/bin/pip install py-spy``), else on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class PySpy:
    """``py-spy record`` of one PID into a collapsed-stack file, stopped with SIGINT."""

    def __init__(self, pid: int, collapsed: Path, rate: int = 100) -> None:
        binary = find_py_spy()
        if binary is None:
            raise FileNotFoundError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.collapsed = collapsed
        self.log = collapsed.with_suffix(".log")
        argv = [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
        argv += ["--threads", "--nolineno", "--nonblocking", "--output", str(collapsed)]
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask py-spy to write its file (SIGINT), then wait a bounded time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def read_collapsed(path: Path) -> list[tuple[list[str], int]]:
    """(frames root first, samples) per line of py-spy's raw output."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks.append((frames.split(";"), int(count)))
    return stacks


def _module(frame: str) -> str:
    """``func (email/feedparser.py)`` -> ``email``; gateway files stay apart."""
    path = frame.rpartition("(")[2].rstrip(")")
    if path.startswith("gateway/"):
        return path
    return path.split("/")[0] if "/" in path else path


def summarise(stacks: list[tuple[list[str], int]], top: int = 15) -> dict:
    """Shares (percent of all samples) of the largest costs."""
    total = sum(count for _frames, count in stacks) or 1
    threads: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    own_code: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    for frames, count in stacks:
        head, body = frames[0], frames[1:]
        threads[head.partition(": ")[2] or head] += count
        for frame in set(body):
            if not any(p in frame for p in _PLUMBING):
                inclusive[frame] += count
        ours = [f for f in body if "(gateway/" in f and not any(p in f for p in _PLUMBING)]
        own_code[ours[-1] if ours else "(no gateway frame)"] += count
        if body:
            modules[_module(body[-1])] += count

    def shares(counter: Counter[str]) -> list[dict]:
        return [
            {"name": name, "percent": round(100 * n / total, 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "by_thread": shares(threads),
        "by_gateway_function": shares(own_code),
        "by_module_self": shares(modules),
        "by_function_inclusive": shares(inclusive),
    }


def flamegraph_svg(stacks: list[tuple[list[str], int]], path: Path, title: str) -> None:
    """A plain flame graph (hover a box for its name and share) with no tools needed."""
    tree: dict = {"n": 0, "kids": {}}
    for frames, count in stacks:
        node = tree
        node["n"] += count
        for frame in frames:
            node = node["kids"].setdefault(frame, {"n": 0, "kids": {}})
            node["n"] += count
    width, row = 1600.0, 17
    boxes: list[str] = []
    depth_max = 0

    def draw(node: dict, name: str, x: float, depth: int) -> None:
        nonlocal depth_max
        w = width * node["n"] / tree["n"]
        if w < 0.5:
            return
        depth_max = max(depth_max, depth)
        label = html.escape(name)
        share = 100 * node["n"] / tree["n"]
        hue = 10 + zlib.crc32(name.rpartition("(")[2].encode()) % 50
        text = html.escape(name[: int(w / 7)]) if w > 30 else ""
        boxes.append(
            f'<g><title>{label} ({share:.1f}%)</title><rect x="{x:.1f}" y="{{y{depth}}}" '
            f'width="{w:.1f}" height="{row - 1}" fill="hsl({hue},80%,60%)"/>'
            f'<text x="{x + 3:.1f}" y="{{t{depth}}}">{text}</text></g>'
        )
        for kid_name, kid in node["kids"].items():
            draw(kid, kid_name, x, depth + 1)
            x += width * kid["n"] / tree["n"]

    x = 0.0
    for name, kid in tree["kids"].items():
        draw(kid, name, x, 0)
        x += width * kid["n"] / tree["n"]
    height = (depth_max + 1) * row + 40
    body = "\n".join(boxes)
    for depth in range(depth_max + 1):  # root at the bottom, as flame graphs are drawn
        y = height - (depth + 1) * row - 10
        body = body.replace(f"{{y{depth}}}", str(y)).replace(f"{{t{depth}}}", str(y + 12))
    path.write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<text x="4" y="16" font-size="14">{html.escape(title)}</text>\n{body}\n</svg>\n'
    )
