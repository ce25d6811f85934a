"""rules.yaml ``flows:``: the flows a case can take, declared once.

Each flow has a label (what relays, digests and the monthly report call it), its
deadlines in working days (``measures``/``close``; ``deadlines:`` gives the defaults)
and the party a case still open past its rule's ``escalate_days`` is escalated to.
Rules name flows (``then: flow: a``, ``if: flow: a``); the loader refuses a name that
is not declared here, so a typo never becomes a case without a flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Problem = Callable[[int, str], None]
LineOf = Callable[[Any, str | None], int]
FLOW_KEYS = ("label", "measures", "close", "escalate_to", "clock_hours", "clock_reminders")


@dataclass(frozen=True)
class Flow:
    """One declared flow."""

    name: str  # what rules and the case log use ("a")
    label: str  # what people read ("kommune til leverandør")
    measures_days: int  # working days to the deadline for measures (tiltaksfrist)
    close_days: int  # working days to the deadline for closing (lukkefrist)
    escalate_to: str | None = None  # party key; None: the administrators
    # A deadline in calendar hours from arrival (the GDPR's 72 hours), with reminders
    # that many hours before it (gateway/followup/clock.py); None: no such clock.
    clock_hours: int | None = None
    clock_reminders: tuple[int, ...] = ()
    # the steps after the first: (party, working days after the step before), in order
    later_steps: tuple[tuple[str, int], ...] = ()


def _days(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _flow(
    name: str, spec: Any, default: tuple[int, int], parties: set[str], at: Callable, add: Problem
) -> Flow | None:
    where = f"flows: {name}"
    if not isinstance(spec, dict):
        add(at(None), f"{where}: expected a mapping with {', '.join(FLOW_KEYS)}")
        return None
    for key in sorted(set(map(str, spec)) - set(FLOW_KEYS)):
        add(at(spec, key), f"{where}: unknown key {key!r} (known: {', '.join(FLOW_KEYS)})")
    label = spec.get("label")
    if not isinstance(label, str) or not label.strip():
        add(at(spec, "label"), f"{where}: needs a label, the words people read")
    days = [spec.get("measures", default[0]), spec.get("close", default[1])]
    for i, key in enumerate(("measures", "close")):
        if not _days(days[i]):
            add(at(spec, key), f"{where}: {key}: a whole number of working days above 0")
            days[i] = default[i]
    line = lambda: at(spec, "escalate_to")  # noqa: E731
    escalate, later = _steps(spec.get("escalate_to"), where, parties, line, add)
    clock, reminders = _clock(spec, where, at, add)
    return Flow(name, str(label or name), days[0], days[1], escalate,
                clock_hours=clock, clock_reminders=reminders, later_steps=later)  # fmt: skip


def _clock(spec: dict, where: str, at: Callable, add: Problem) -> tuple[int | None, tuple]:
    """``clock_hours`` (whole hours above 0) and ``clock_reminders`` (hours before it)."""
    hours, before = spec.get("clock_hours"), spec.get("clock_reminders") or []
    if hours is not None and not _days(hours):
        add(at(spec, "clock_hours"), f"{where}: clock_hours: a whole number of hours above 0")
        hours = None
    if not isinstance(before, list) or not all(_days(h) for h in before):
        add(at(spec, "clock_reminders"), f"{where}: clock_reminders: a list of hours, like [24, 4]")
        before = []
    if before and hours is None:
        add(at(spec, "clock_reminders"), f"{where}: clock_reminders: needs clock_hours")
    return hours, tuple(sorted(before, reverse=True))


def _steps(value: Any, where: str, parties: set[str], line: Callable[[], int], add: Problem):
    """``escalate_to: party``, or a list of steps ``[party, {to: party, after: days}]``:
    the first at the rule's ``escalate_days``, each later one ``after`` working days
    after the step before it."""
    steps = value if isinstance(value, list) else [value] if value is not None else []
    found: list[tuple[str, int]] = []
    for i, step in enumerate(steps):
        party, after = (step.get("to"), step.get("after")) if isinstance(step, dict) else (step, 0)
        if party not in parties:
            add(line(), f"{where}: escalate_to: unknown party {party!r}")
        if i and not _days(after):
            add(line(), f"{where}: escalate_to: step {i + 1} needs after: working days")
        found.append((str(party), after if isinstance(after, int) else 0))
    return (found[0][0] if found else None), tuple(found[1:])


def parse_flows(
    spec: Any, default: tuple[int, int], parties: set[str], line_of: LineOf, add: Problem
) -> dict[str, Flow]:
    """Check ``flows:``, in file order; each problem is reported with its line."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        add(line_of(spec, None), "flows: expected a mapping of flow name to its declaration")
        return {}
    flows: dict[str, Flow] = {}
    for name, part in spec.items():

        def at(mapping: Any, key: str | None = None, _name: Any = name) -> int:
            line = line_of(mapping, key) if mapping is not None else 0
            return line or line_of(spec, _name)

        flow = _flow(str(name), part, default, parties, at, add)
        if flow is not None:
            flows[flow.name] = flow
    return flows
