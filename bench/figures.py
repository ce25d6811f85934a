"""What a phase's readings become in the JSON: rates, CPU per report by part of the
gateway, its processes' memory and CPU, and the sink's bound on the gateway's rate."""

from __future__ import annotations

from collections.abc import Sequence


def processes(tree: dict, cpu: list[dict] | None = None) -> dict:
    """The gateway's processes (itself, and the pipeline workers under it): memory of
    each and in total, CPU of those under it."""
    out = {k: v for k, v in tree.items() if k != "processes"} | {"each": tree["processes"]}
    if cpu is not None:
        cpu_of = {c["pid"]: c["cpu_ms"] for c in cpu}
        for p in out["each"]:
            if p["pid"] in cpu_of:
                p["cpu_ms_per_report"] = cpu_of[p["pid"]]
    return out


def cpu_per_report(after: dict[str, float], before: dict[str, float], n: int) -> dict:
    """Milliseconds of CPU per report by part of the gateway (its named threads; the
    delivery connections summed; its worker processes as ``prepare``, and the other
    processes under it as ``children``), and in all."""
    parts: dict[str, float] = {}
    for name, seconds in after.items():
        part = name.removeprefix("avvik-").split("-")[0] if name.startswith("avvik-") else "other"
        part = "children" if name.startswith("child:") else part
        parts[part] = parts.get(part, 0.0) + seconds - before.get(name, 0.0)
    result = {k: round(v * 1e3 / n, 2) for k, v in sorted(parts.items()) if v > 0}
    result["total"] = round(sum(parts.values()) * 1e3 / n, 2)
    return result


def sink_bound(ceiling: dict, gateway: dict) -> float | None:
    alone = gateway.get("sink_alone")
    return round(alone["reports_per_s"] / ceiling["reports_per_s"], 3) if alone else None


def cores_bound(ceiling: dict, gateway: dict, cores: int) -> float | None:
    """The ratio the gateway would reach with every core busy all the time, at the CPU
    per report the whole machine spent in its phase (the gateway, the sink, Dovecot):
    against the ceiling of the same round, what no spreading of the work can beat."""
    used = (gateway.get("machine") or {}).get("cpu_ms_per_report")
    if not used:
        return None
    return round(cores * 1e3 / used / ceiling["reports_per_s"], 3)


def rates(raws: Sequence[bytes], seconds: float) -> dict:
    size = sum(len(r) for r in raws)
    return {
        "n": len(raws),
        "mb": round(size / 1e6, 2),
        "seconds": round(seconds, 3),
        "reports_per_s": round(len(raws) / seconds, 2),
        "mb_per_s": round(size / 1e6 / seconds, 2),
    }
