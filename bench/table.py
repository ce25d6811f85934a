"""The benchmark's verdict: the issue's targets against the measured values, and the
one table printed at the end of a run."""

from __future__ import annotations

from collections.abc import Callable


def targets(result: dict) -> list[dict]:
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
            _all_processes(big),
            lambda v: v <= 150,
        )
    return out


def _all_processes(run: dict) -> float:
    """Peak RSS of the gateway with every process under it (the sum of each one's peak),
    or of the gateway alone in results from before it had any."""
    return (run.get("processes") or {}).get("total_peak_rss_mb") or run["peak_rss_mb"]


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


DOVECOT = "dovecot_ms_per_report"


def _cpu_rows(ceiling: dict, gateway: dict) -> list[tuple[str, ...]]:
    """Where the CPU went, per report, on each side: the client under test, the sink (in
    the benchmark's process), Dovecot, and how many of the machine's cores were busy."""
    c, g = ceiling.get("cpu_ms") or {}, gateway.get("cpu_ms") or {}
    cm, gm = ceiling.get("machine") or {}, gateway.get("machine") or {}
    if not g:
        return []
    names = ("pipeline", "prepare", "sender", "imap", "children")
    parts = ", ".join(f"{k} {g[k]:.1f}" for k in names if k in g)
    rows = [
        (f"  CPU ms/report: bare loop | gateway ({parts})", c.get("bare"), g["total"]),
        ("  CPU ms/message received: the sink", c.get("sink_per_message"), g["sink_per_message"]),
        ("  CPU ms/report: Dovecot", cm.get(DOVECOT), gm.get(DOVECOT)),
        ("  cores busy, whole machine", cm.get("cores_busy"), gm.get("cores_busy")),
    ]  # fmt: skip
    return [(name, _fmt(a, 2), _fmt(b, 2), "", "", "") for name, a, b in rows if b is not None]


def _process_rows(gateway: dict) -> list[tuple[str, ...]]:
    """With worker processes: each of the gateway's processes (CPU per report over the
    phase, peak RSS), and the memory of all of them together at the phase's end."""
    tree = gateway.get("processes") or {}
    if len(tree.get("each", ())) < 2:
        return []
    each = ", ".join(
        f"{p['name']} {p.get('cpu_ms_per_report', '-')} ms/{p['peak_rss_mb']:.0f} MB"
        for p in tree["each"][1:]
    )
    total = f"RSS {tree['total_rss_mb']:.0f}, Pss {tree['total_pss_mb']:.0f}"
    return [
        (f"  processes under the gateway (CPU/report, peak RSS): {each}", "", "", "", "", ""),
        (f"  gateway, all processes at the end, MB: {total}", "", "", "", "", ""),
    ]


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
        if len(tp.get("rounds", [])) > 1:
            ratios = " ".join(f"{x['ratio']:.2f}" for x in tp["rounds"])
            rows.append((f"  ratio in each round (median above): {ratios}", "", "", "", "", ""))
        if bound := tp.get("sink_bound_ratio"):
            alone = g["sink_alone"]["reports_per_s"]
            rows.append(
                (
                    "  at most, as fast as the sink alone takes the gateway's mail",
                    "",
                    _fmt(alone),
                    _fmt(bound, 2),
                    "",
                    "",
                )
            )
        if cores := tp.get("cores_bound_ratio"):
            used = g["machine"]["cpu_ms_per_report"]
            rows.append(
                (
                    f"  at most, every core busy at the machine's {used:.1f} ms CPU/report",
                    "",
                    _fmt(result["machine"]["cores"] * 1e3 / used),
                    _fmt(cores, 2),
                    "",
                    "",
                )
            )
        rows.append(("  MB/s", _fmt(c["mb_per_s"], 2), _fmt(g["mb_per_s"], 2), "", "", ""))
        rows.append(("  seconds", _fmt(c["seconds"], 2), _fmt(g["seconds"], 2), "", "", ""))
        rows.extend(_cpu_rows(c, g))
        rows.extend(_process_rows(g))
        if tp.get("sink_only"):
            rows.append(
                (
                    "  sink alone, the reports themselves, msg/s",
                    _fmt(tp["sink_only"]["messages_per_s"]),
                )
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
        rows.append((f"gateway {name} MB, all processes", "", _fmt(_all_processes(big)), "",
                     *verdict(name)))  # fmt: skip
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
