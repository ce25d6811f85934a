"""rules.yaml ``record:``: the deviation record's categories, who may set what, and closing.

The procedures ask for a cause, immediate and corrective measures, the date of the
event and a category, and for a real closing step ("til lukking", confirmed by someone
else). Which of that a deployment demands is written here; without a ``record:``
section ``#lukk <tiltak>`` closes at once, as it always has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.i18n import stored_values

Problem = Callable[[int, str], None]
LineOf = Callable[[Any, str | None], int]

FIELDS = ("event_date", "category", "immediate_measure", "cause", "measure")
SIDES = ("reporter", "receiver")
# The reporter knows when it happened and what was done at once; the rest is the
# receiving side's assessment.
DEFAULT_SET_BY = {
    "event_date": frozenset(SIDES),
    "immediate_measure": frozenset(SIDES),
    "category": frozenset({"receiver"}),
    "cause": frozenset({"receiver"}),
    "measure": frozenset({"receiver"}),
}
CONFIRMERS = ("none", "reporter", "closing_owner")
UNCONFIRMED = ("remind", "confirm")
KEYS = ("categories", "set_by", "closing", "reviews", "severity")
CLOSING_KEYS = (
    "require_cause",
    "require_measures_done",
    "confirm_by",
    "management_for_high",
    "closing_owners",
    "unconfirmed_after",
    "unconfirmed",
)


@dataclass(frozen=True)
class Closing:
    """``record: closing:``. The defaults close at once on ``#lukk <tiltak>``."""

    require_cause: bool = False
    require_measures_done: bool = False  # every measure done, and at least one
    confirm_by: str = "none"  # reporter | closing_owner: then #lukk gives "til lukking"
    management_for_high: bool = False  # severity høy: management confirms
    closing_owners: dict[str, str] = field(default_factory=dict)  # party -> address
    unconfirmed_after: int | None = None  # working days in "til lukking" before ...
    unconfirmed: str = "remind"  # ... a reminder to the confirmers, or confirmed as is

    @property
    def two_step(self) -> bool:
        return self.confirm_by != "none" or self.management_for_high


@dataclass(frozen=True)
class RecordRules:
    """The ``record:`` section, checked."""

    categories: dict[str, str] = field(default_factory=dict)  # any form, lowercase -> key
    category_keys: tuple[str, ...] = ()
    set_by: dict[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_SET_BY))
    closing: Closing = field(default_factory=Closing)
    review_remind_after: int | None = None  # reviews: remind_after: working days
    # severity: {from_report: true, default: middels}: a line "Alvorlighetsgrad: høy" in
    # a new report sets the case's severity (gateway/case/severity.py)
    severity_from_report: bool = False
    default_severity: str | None = None

    def may_set(self, what: str, side: str | None) -> bool:
        return side in self.set_by.get(what, frozenset({"receiver"}))


def _categories(spec: Any, at: Callable, add: Problem) -> tuple[dict[str, str], tuple[str, ...]]:
    """``categories: {key: {sv: ..., en: ...}}`` or a list of keys."""
    if spec is None:
        return {}, ()
    entries = {str(k): None for k in spec} if isinstance(spec, list) else spec
    if not isinstance(entries, dict):
        add(at(spec), "record: categories: a list of names, or name: {sv: ..., en: ...}")
        return {}, ()
    words: dict[str, str] = {}
    for key, forms in entries.items():
        words[str(key).lower()] = str(key)
        if forms is not None and not isinstance(forms, dict):
            add(at(entries, key), f"record: categories: {key}: expected {{sv: ..., en: ...}}")
            continue
        for form in (forms or {}).values():
            words[str(form).lower()] = str(key)
    return words, tuple(str(k) for k in entries)


def _set_by(spec: Any, at: Callable, add: Problem) -> dict[str, frozenset[str]]:
    result = dict(DEFAULT_SET_BY)
    for what, sides in (spec or {}).items():
        sides = [sides] if isinstance(sides, str) else list(sides or [])
        if what not in FIELDS:
            add(at(spec, what), f"record: set_by: unknown field {what!r} ({', '.join(FIELDS)})")
        elif bad := [s for s in sides if s not in SIDES]:
            add(at(spec, what), f"record: set_by: {what}: unknown side(s) {bad} ({SIDES})")
        else:
            result[str(what)] = frozenset(sides)
    return result


def _closing(spec: Any, parties: set[str], at: Callable, add: Problem) -> Closing:
    spec = spec or {}
    for key in set(map(str, spec)) - set(CLOSING_KEYS):
        add(at(spec, key), f"record: closing: unknown key {key!r}")
    values = {k: spec[k] for k in CLOSING_KEYS if k in spec}
    for key in ("require_cause", "require_measures_done", "management_for_high"):
        if key in values and not isinstance(values[key], bool):
            add(at(spec, key), f"record: closing: {key}: true or false")
    if values.get("confirm_by", "none") not in CONFIRMERS:
        add(at(spec, "confirm_by"), f"record: closing: confirm_by: one of {CONFIRMERS}")
    if values.get("unconfirmed", "remind") not in UNCONFIRMED:
        add(at(spec, "unconfirmed"), f"record: closing: unconfirmed: one of {UNCONFIRMED}")
    days = values.get("unconfirmed_after")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool) or days < 1):
        add(at(spec, "unconfirmed_after"), "record: closing: unconfirmed_after: working days")
    owners = values.get("closing_owners") or {}
    for party in owners:
        if party not in parties:
            add(at(owners, party), f"record: closing: closing_owners: unknown party {party!r}")
    values["closing_owners"] = {str(p): str(a).strip().lower() for p, a in owners.items()}
    return Closing(**values)


def parse_record(spec: Any, parties: set[str], line_of: LineOf, add: Problem) -> RecordRules:
    """Check ``record:``; each problem is reported with its line."""
    if spec is None:
        return RecordRules()

    def at(mapping: Any, key: str | None = None) -> int:
        return line_of(mapping, key) or line_of(spec, None)

    if not isinstance(spec, dict):
        add(at(spec), f"record: expected a mapping with {', '.join(KEYS)}")
        return RecordRules()
    for key in set(map(str, spec)) - set(KEYS):
        add(at(spec, key), f"record: unknown key {key!r} (known: {', '.join(KEYS)})")
    words, keys = _categories(spec.get("categories"), at, add)
    return RecordRules(
        categories=words,
        category_keys=keys,
        set_by=_set_by(spec.get("set_by"), at, add),
        closing=_closing(spec.get("closing"), parties, at, add),
        review_remind_after=_reviews(spec.get("reviews"), at, add),
        **_severity(spec.get("severity"), at, add),
    )


def _severity(spec: Any, at: Callable, add: Problem) -> dict[str, Any]:
    """``severity: {from_report: true, default: middels}``."""
    if spec is None:
        return {}
    known = stored_values("severities")
    if not isinstance(spec, dict) or set(map(str, spec)) - {"from_report", "default"}:
        add(at(spec), "record: severity: expected {from_report: true, default: a severity}")
        return {}
    if not isinstance(spec.get("from_report", False), bool):
        add(at(spec, "from_report"), "record: severity: from_report: true or false")
        return {}
    default = spec.get("default")
    if default is not None and str(default) not in known:
        add(at(spec, "default"), f"record: severity: default: one of {', '.join(known)}")
        return {}
    return {"severity_from_report": bool(spec.get("from_report")),
            "default_severity": None if default is None else str(default)}  # fmt: skip


def _reviews(spec: Any, at: Callable, add: Problem) -> int | None:
    """``reviews: {remind_after: N}``: working days before a review not held is chased."""
    if spec is None:
        return None
    days = spec.get("remind_after") if isinstance(spec, dict) else None
    if set(spec if isinstance(spec, dict) else ()) - {"remind_after"} or not (
        isinstance(days, int) and not isinstance(days, bool) and days > 0
    ):
        add(at(spec), "record: reviews: expected {remind_after: working days}")
        return None
    return days
