"""Load rules.yaml into a checked, compiled RuleSet, or report every problem with its line.

The daemon refuses to start on a broken file and keeps the old rules on a broken reload;
``gateway check-rules`` prints the same problems. Each problem reads
``rules.yaml:42: rule 'flow-a': unknown party 'suplier' in to``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import yaml

from gateway.hours import WEEKDAYS, ServiceHours
from gateway.i18n import DEFAULT_LANGUAGE, TEMPLATES
from gateway.rules import BUILTIN
from gateway.rules.base import Actions, Context, PrivacyPolicy, RuleSet
from gateway.rules.conditions import Check, ConditionError, Names, compile_condition
from gateway.rules.flows import Flow, parse_flows
from gateway.rules.follow_up import parse_follow_up
from gateway.rules.parties import MUNICIPALITY, Directory, Party
from gateway.text import word_pattern

TOP_LEVEL = {
    "reference_prefix",
    "service_hours",
    "mailboxes",
    "parties",
    "municipalities",
    "triage_to",
    "words",
    "external_references",
    "rules",
    "deadlines",
    "closed_cases",
    "privacy",
    "follow_up",
    "flows",
    "language",
}
DECISIONS = {"relay", "triage", "ignore"}
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ADDRESS = re.compile(r"^(\*|[^@\s*]+)@[a-z0-9.-]+\.[a-z0-9-]+$")


class RulesError(Exception):
    """rules.yaml is broken; ``problems`` lists each as 'file:line: what'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class LineDict(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line = 0
    lines: dict


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class YamlRule:
    """A rule written in rules.yaml. See `Rule`."""

    name: str
    description: str
    condition: Check
    actions: Actions
    line: int
    record: bool = True

    def check(self, ctx: Context) -> bool:
        return self.condition(ctx)


class _Problems:
    def __init__(self, path: Path):
        self.path, self.items = path, []

    def add(self, line: int, message: str) -> None:
        self.items.append(f"{self.path}:{line}: {message}")


def _line(mapping: Any, key: str | None = None) -> int:
    if isinstance(mapping, LineDict):
        return mapping.lines.get(key, mapping.line) if key else mapping.line
    return 0


def _addresses(value: Any, where: str, line: int, problems: _Problems) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        addr = str(v).strip().lower()
        if not _ADDRESS.match(addr):
            problems.add(line, f"{where}: {v!r} is not an address or *@domain")
        out.append(addr)
    return tuple(out)


def _parties(data: LineDict, problems: _Problems) -> list[Party]:
    parties = []
    for key, spec in (data.get("parties") or {}).items():
        line = _line(data.get("parties"), key)
        if not isinstance(spec, dict) or ":" in str(key) or key == MUNICIPALITY:
            problems.add(line, f"party {key!r}: expected a mapping with name/senders/receivers")
            continue
        if unknown := set(spec) - {"name", "senders", "receivers"}:
            problems.add(line, f"party {key!r}: unknown key(s) {', '.join(sorted(unknown))}")
        senders = _addresses(
            spec.get("senders", []), f"party {key!r} senders", _line(spec, "senders"), problems
        )
        receivers = _addresses(
            spec.get("receivers", []),
            f"party {key!r} receivers",
            _line(spec, "receivers"),
            problems,
        )
        if any(r.startswith("*@") for r in receivers):
            problems.add(line, f"party {key!r}: a receiver must be one address, not *@domain")
        parties.append(Party(str(key), str(spec.get("name", key)), senders, receivers))
    spec = data.get("municipalities") or {}
    line = _line(spec)
    names = spec.get("names") or {}
    for pattern in ("senders", "receivers"):
        if names and "{slug}" not in str(spec.get(pattern, "")):
            problems.add(line, f"municipalities: {pattern} must contain {{slug}}")
    for name, slug in names.items():
        fill = {"slug": str(slug).lower()}
        senders = _addresses(str(spec.get("senders", "")).format(**fill), "senders", line, problems)
        receivers = _addresses(str(spec.get("receivers", "")).format(**fill), "", line, problems)
        parties.append(Party(f"{MUNICIPALITY}:{name}", f"{name} kommune", senders, receivers))
    return parties


def _hours(spec: Any, problems: _Problems) -> ServiceHours:
    spec = spec or {}
    values: dict[str, Any] = {}
    checks = {
        "timezone": lambda v: ZoneInfo(str(v)) and str(v),
        "days": lambda v: _days(v),
        "start": lambda v: dt.time.fromisoformat(str(v)),
        "end": lambda v: dt.time.fromisoformat(str(v)),
        "holidays": _country,
    }
    for key, value in spec.items():
        if key not in checks:
            problems.add(_line(spec, key), f"service_hours: unknown key {key!r}")
            continue
        try:
            values["country" if key == "holidays" else key] = checks[key](value)
        except Exception as exc:
            problems.add(_line(spec, key), f"service_hours: {key}: {exc}")
    return ServiceHours(**values)


def _days(value: Any) -> tuple[str, ...]:
    days = tuple(str(d).lower()[:3] for d in value)
    if bad := [d for d in days if d not in WEEKDAYS]:
        raise ValueError(f"unknown day(s) {bad}")
    return days


def _country(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError('holidays must be a country code in quotes, such as "NO"')
    holidays.country_holidays(value)  # raises on an unknown country
    return value


def _deadlines(spec: Any, problems: _Problems) -> tuple[int, int]:
    """The default ``measures``/``close`` in working days; flows set their own."""
    if not isinstance(spec, dict) or set(spec) - {"measures", "close"}:
        if isinstance(spec, dict) and "flows" in spec:
            problems.add(_line(spec, "flows"), "deadlines: flows: moved to the flows: section")
        else:
            problems.add(_line(spec), "deadlines: measures and close, in working days")
        return (10, 20)
    days = (spec.get("measures", 10), spec.get("close", 20))
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days):
        problems.add(_line(spec), "deadlines: days must be whole numbers above 0")
        return (10, 20)
    return days


def _privacy(spec: Any, parties: set[str], problems: _Problems) -> PrivacyPolicy:
    if not spec:
        return PrivacyPolicy()
    if not isinstance(spec, dict):
        problems.add(_line(spec), "privacy: expected a mapping")
        return PrivacyPolicy()
    values: dict[str, Any] = {}
    for key, value in spec.items():
        where = f"privacy: {key}"
        if key == "redact_for":
            names = [value] if isinstance(value, str) else list(value or [])
            for name in names:
                if name not in parties:
                    problems.add(_line(spec, key), f"{where}: unknown party {name!r}")
            values[key] = frozenset(str(n) for n in names)
        elif key in ("phone_numbers", "email_addresses", "keep_original"):
            if not isinstance(value, bool):
                problems.add(_line(spec, key), f"{where}: true or false")
            values[key] = bool(value)
        elif key == "retention_days":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.add(_line(spec, key), f"{where}: a whole number of days")
            values[key] = value
        else:
            problems.add(_line(spec, key), f"privacy: unknown key {key!r}")
    return PrivacyPolicy(
        **{k: v for k, v in values.items() if k in PrivacyPolicy.__dataclass_fields__}
    )


def _flow_refs(spec: Any, where: str, flows: set[str], problems: _Problems) -> None:
    """A ``flow:`` condition, anywhere in an ``if:`` (inside ``any:``/``not:`` too),
    must name a declared flow."""
    if isinstance(spec, list):
        for part in spec:
            _flow_refs(part, where, flows, problems)
    if not isinstance(spec, dict):
        return
    for key, value in spec.items():
        if key == "flow":
            for name in value if isinstance(value, list) else [value]:
                if str(name) not in flows:
                    problems.add(_line(spec, key), f"{where}: unknown flow {name!r}")
        elif key in ("any", "not"):
            _flow_refs(value, where, flows, problems)


def _actions(spec: Any, where: str, line: int, names: _Known, problems: _Problems) -> Actions:
    if not isinstance(spec, dict) or not spec:
        problems.add(line, f"{where}: 'then' must be a mapping of actions")
        return Actions()

    def add(key: str, message: str) -> None:
        problems.add(_line(spec, key), f"{where}: {message}")

    fields = set(Actions.__dataclass_fields__)
    for key in set(spec) - fields:
        add(key, f"unknown action(s) {key}")
    values = {k: v for k, v in spec.items() if k in fields}
    if values.get("decision") not in DECISIONS | {None}:
        add("decision", f"decision must be one of {sorted(DECISIONS)}")
    if "flow" in values and str(values["flow"]) not in names.flows:
        add("flow", f"unknown flow {values['flow']!r} (declared: {', '.join(names.flows)})")
    if values.get("municipality") not in ("sender", "named", None):
        add("municipality", "municipality must be 'sender' or 'named'")
    for key in ("to", "cc"):
        targets = values.get(key) or []
        targets = [targets] if isinstance(targets, str) else targets
        for target in targets:
            if target != MUNICIPALITY and target not in names.parties:
                add(key, f"unknown party {target!r} in {key}")
        values[key] = tuple(str(t) for t in targets)
    for key in ("urgent", "stop"):
        if key in values and not isinstance(values[key], bool):
            add(key, f"{key} must be true or false")
    for key in ("measures_days", "close_days", "escalate_days"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            add(key, f"{key} must be a whole number of working days")
    if values.get("decision") == "relay" and not values["to"]:
        add("decision", "a relay needs 'to'")
    return Actions(**values)


def _condition(spec: Any, where: str, line: int, names: Names, problems: _Problems) -> Check:
    """Compile an ``if:`` mapping key by key, so each problem gets its own line."""
    if not isinstance(spec, dict):
        problems.add(line, f"{where}: 'if' must be a mapping of conditions")
        return lambda ctx: False
    checks = []
    for key, value in spec.items():
        try:
            checks.append(compile_condition(str(key), value, names))
        except ConditionError as exc:
            problems.add(exc.line or _line(spec, key), f"{where}: {exc}")
    return lambda ctx: all(check(ctx) for check in checks)


def _rules(data: LineDict, names: _Known, problems: _Problems) -> tuple[YamlRule, ...]:
    rules, seen = [], set(BUILTIN)
    entries = data.get("rules")
    if not isinstance(entries, list) or not entries:
        problems.add(_line(data, "rules"), "rules: expected a list of rules")
        return ()
    for spec in entries:
        line = _line(spec)
        if not isinstance(spec, dict):
            problems.add(_line(data, "rules"), "rules: each rule must be a mapping")
            continue
        name = str(spec.get("name", ""))
        where = f"rule {name!r}"
        if not _NAME.match(name):
            problems.add(line, f"{where}: name must be kebab-case (like flow-a)")
        elif name in seen:
            problems.add(line, f"{where}: the name is used twice (or is a built-in rule)")
        seen.add(name)
        if unknown := set(spec) - {"name", "description", "if", "then"}:
            problems.add(line, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        if not spec.get("description"):
            problems.add(line, f"{where}: needs a one-line description")
        condition = _condition(spec.get("if") or {}, where, _line(spec, "if"), names, problems)
        _flow_refs(spec.get("if"), where, set(names.flows), problems)
        actions = _actions(spec.get("then"), where, _line(spec, "then"), names, problems)
        rules.append(YamlRule(name, str(spec.get("description", "")), condition, actions, line))
    return tuple(rules)


@dataclass(frozen=True)
class _Known(Names):
    """What rules may name: the conditions' names, and the declared flows."""

    flows: tuple[str, ...] = ()


def _read(path: Path) -> LineDict:
    """The YAML of a rules file, with lines; RulesError when it cannot be read at all."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise RulesError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise RulesError([f"{path}:{line}: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(data, LineDict):
        raise RulesError([f"{path}:1: expected a mapping at the top level"])
    return data


def _language(data: LineDict, problems: _Problems) -> str:
    """``language:``, a folder of templates and phrases in templates/ (default nb)."""
    language = str(data.get("language", DEFAULT_LANGUAGE))
    if not _NAME.match(language) or not (TEMPLATES / language / "phrases").is_dir():
        problems.add(
            _line(data, "language"),
            f"language: {language!r} has no templates (no folder {TEMPLATES / language})",
        )
    return language


def _words(data: LineDict, problems: _Problems):
    """The word lists and the external-reference patterns, compiled."""
    vocabulary = {
        str(k): word_pattern(str(w) for w in (v or []))
        for k, v in (data.get("words") or {}).items()
    }
    refs = []
    for pattern in data.get("external_references") or []:
        try:
            refs.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as exc:
            problems.add(_line(data, "external_references"), f"external_references: {exc}")
    return vocabulary, tuple(refs)


def _sections(data: LineDict, problems: _Problems) -> dict[str, Any]:
    """Every section but the rules, checked: the RuleSet's fields."""
    mailboxes = {str(k): str(v).strip().lower() for k, v in (data.get("mailboxes") or {}).items()}
    if not mailboxes:
        problems.add(_line(data), "mailboxes: at least one mailbox is needed")
    directory = Directory(_parties(data, problems))
    triage = str(data.get("triage_to", "admins"))
    if triage not in directory:
        problems.add(_line(data, "triage_to"), f"triage_to: unknown party {triage!r}")
    vocabulary, refs = _words(data, problems)
    closed_cases = str(data.get("closed_cases", "reopen"))
    if closed_cases not in ("reopen", "new-case"):
        problems.add(_line(data, "closed_cases"), "closed_cases: 'reopen' or 'new-case'")
    parties = set(directory.parties)
    default = _deadlines(data.get("deadlines") or {}, problems)
    flows = parse_flows(data.get("flows"), default, parties, _line, problems.add)
    follow_up = parse_follow_up(data.get("follow_up"), parties, _line, problems.add)
    return dict(
        directory=directory,
        mailboxes=mailboxes,
        hours=_hours(data.get("service_hours"), problems),
        reference_prefix=str(data.get("reference_prefix", "AVVIK")),
        triage_party=triage,
        vocabulary=vocabulary,
        external_refs=refs,
        deadlines={None: default} | {n: (f.measures_days, f.close_days) for n, f in flows.items()},
        closed_cases=closed_cases,
        privacy=_privacy(data.get("privacy"), parties, problems),
        follow_up=replace(follow_up, escalate_to=_escalations(flows)),
        language=_language(data, problems),
        flows=flows,
        municipality_names=tuple(
            str(n) for n in (data.get("municipalities") or {}).get("names", {})
        ),
    )


def _escalations(flows: dict[str, Flow]) -> dict[str, str]:
    """flow -> party, as ``FollowUp.escalate_to`` gave it (followup/deadlines.py reads it)."""
    return {f.name: f.escalate_to for f in flows.values() if f.escalate_to}


def load_rules(path: Path | str) -> RuleSet:
    """Read, check and compile a rules file; raises RulesError listing every problem."""
    path = Path(path)
    problems = _Problems(path)
    data = _read(path)
    for key in set(data) - TOP_LEVEL:
        problems.add(_line(data, key), f"unknown section {key!r}")
    fields = _sections(data, problems)
    directory: Directory = fields["directory"]
    keys = {k for k in directory.parties if not k.startswith(MUNICIPALITY + ":")}
    mailboxes, flows = frozenset(fields["mailboxes"]), tuple(fields["flows"])
    names = _Known(frozenset(keys), mailboxes, fields["vocabulary"], flows)
    rules = _rules(data, names, problems)
    if problems.items:
        raise RulesError(problems.items)
    return RuleSet(path=path, rules=rules, **fields)
