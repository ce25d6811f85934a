"""Load rules.yaml into a checked, compiled RuleSet, or report every problem with its line.

The daemon refuses to start on a broken file and keeps the old rules on a broken reload;
``gateway check-rules`` prints the same problems. Each problem reads
``rules.yaml:42: rule 'flow-a': unknown party 'suplier' in to``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.i18n import DEFAULT_LANGUAGE, TEMPLATES
from gateway.rules import BUILTIN, sections
from gateway.rules.automatic import parse_automatic
from gateway.rules.base import Actions, Context, RuleSet
from gateway.rules.conditions import Check, ConditionError, Names, compile_condition
from gateway.rules.flows import parse_flows
from gateway.rules.follow_up import parse_follow_up
from gateway.rules.parties import MUNICIPALITY, Directory
from gateway.rules.record import parse_record
from gateway.rules.suggestions import parse_suggestion_prefix
from gateway.rules.topics import parse_topics
from gateway.rules.yaml_lines import LineDict, Problems, RulesError, line_of, read
from gateway.text import find_municipalities, negation_pattern, word_pattern

__all__ = ["RulesError", "YamlRule", "load_rules"]

TOP_LEVEL = {
    "reference_prefix",
    "suggestion_prefix",
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
    "negations",
    "automatic_mail",
    "record",
    "topics",
}
DECISIONS = {"relay", "triage", "ignore"}
_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


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


def _deadlines(spec: Any, problems: Problems) -> tuple[int, int]:
    """The default ``measures``/``close`` in working days; flows set their own."""
    if not isinstance(spec, dict) or set(spec) - {"measures", "close"}:
        if isinstance(spec, dict) and "flows" in spec:
            problems.add(line_of(spec, "flows"), "deadlines: flows: moved to the flows: section")
        else:
            problems.add(line_of(spec), "deadlines: measures and close, in working days")
        return (10, 20)
    days = (spec.get("measures", 10), spec.get("close", 20))
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in days):
        problems.add(line_of(spec), "deadlines: days must be whole numbers above 0")
        return (10, 20)
    return days


def _flow_refs(spec: Any, where: str, flows: set[str], problems: Problems) -> None:
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
                    problems.add(line_of(spec, key), f"{where}: unknown flow {name!r}")
        elif key in ("any", "not"):
            _flow_refs(value, where, flows, problems)


def _actions(spec: Any, where: str, line: int, names: _Known, problems: Problems) -> Actions:
    if not isinstance(spec, dict) or not spec:
        problems.add(line, f"{where}: 'then' must be a mapping of actions")
        return Actions()

    def add(key: str, message: str) -> None:
        problems.add(line_of(spec, key), f"{where}: {message}")

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
    for key in ("urgent", "stop", "informed"):
        if key in values and not isinstance(values[key], bool):
            add(key, f"{key} must be true or false")
    for key in ("measures_days", "close_days", "escalate_days"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            add(key, f"{key} must be a whole number of working days")
    if values.get("decision") == "relay" and not values["to"]:
        add("decision", "a relay needs 'to'")
    return Actions(**values)


def _condition(spec: Any, where: str, line: int, names: Names, problems: Problems) -> Check:
    """Compile an ``if:`` mapping key by key, so each problem gets its own line."""
    if not isinstance(spec, dict):
        problems.add(line, f"{where}: 'if' must be a mapping of conditions")
        return lambda ctx: False
    checks = []
    for key, value in spec.items():
        try:
            checks.append(compile_condition(str(key), value, names))
        except ConditionError as exc:
            problems.add(exc.line or line_of(spec, key), f"{where}: {exc}")
    return lambda ctx: all(check(ctx) for check in checks)


def _rules(data: LineDict, names: _Known, problems: Problems) -> tuple[YamlRule, ...]:
    rules, seen = [], set(BUILTIN)
    entries = data.get("rules")
    if not isinstance(entries, list) or not entries:
        problems.add(line_of(data, "rules"), "rules: expected a list of rules")
        return ()
    for spec in entries:
        line = line_of(spec)
        if not isinstance(spec, dict):
            problems.add(line_of(data, "rules"), "rules: each rule must be a mapping")
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
        condition = _condition(spec.get("if") or {}, where, line_of(spec, "if"), names, problems)
        _flow_refs(spec.get("if"), where, set(names.flows), problems)
        actions = _actions(spec.get("then"), where, line_of(spec, "then"), names, problems)
        rules.append(YamlRule(name, str(spec.get("description", "")), condition, actions, line))
    return tuple(rules)


@dataclass(frozen=True)
class _Known(Names):
    """What rules may name: the conditions' names, and the declared flows."""

    flows: tuple[str, ...] = ()


def _language(data: LineDict, problems: Problems) -> str:
    """``language:``, a folder of templates and phrases in templates/ (default nb)."""
    language = str(data.get("language", DEFAULT_LANGUAGE))
    if not _NAME.match(language) or not (TEMPLATES / language / "phrases").is_dir():
        problems.add(
            line_of(data, "language"),
            f"language: {language!r} has no templates (no folder {TEMPLATES / language})",
        )
        return DEFAULT_LANGUAGE  # (the load fails; the other checks go on)
    return language


def _negation(data: LineDict, problems: Problems) -> re.Pattern[str]:
    """``negations:``, the words that make a word of a list not count ("ikke kritisk")."""
    words = data.get("negations") or []
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        problems.add(line_of(data, "negations"), "negations: expected a list of words (quoted)")
        return negation_pattern(())
    return negation_pattern(words)


def _words(data: LineDict, problems: Problems):
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
            problems.add(line_of(data, "external_references"), f"external_references: {exc}")
    return vocabulary, tuple(refs)


def _not_targets(spec: Any, names: tuple[str, ...], problems: Problems) -> tuple[str, ...]:
    """``municipalities: not_targets:``, each a name with a municipality's name in it."""
    values = spec.get("not_targets") or [] if isinstance(spec, dict) else []
    line = line_of(spec, "not_targets")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        problems.add(line, "municipalities: not_targets: expected a list of names")
        return ()
    for value in values:
        if not find_municipalities(value, names):
            problems.add(line, f"municipalities: not_targets: {value!r} holds no municipality")
    return tuple(values)


def _sections(data: LineDict, problems: Problems) -> dict[str, Any]:
    """Every section but the rules, checked: the RuleSet's fields."""
    language = _language(data, problems)
    mailboxes = {str(k): str(v).strip().lower() for k, v in (data.get("mailboxes") or {}).items()}
    if not mailboxes:
        problems.add(line_of(data), "mailboxes: at least one mailbox is needed")
    directory = Directory(sections.parse_parties(data, problems, language))
    triage = str(data.get("triage_to", "admins"))
    if triage not in directory:
        problems.add(line_of(data, "triage_to"), f"triage_to: unknown party {triage!r}")
    vocabulary, refs = _words(data, problems)
    closed_cases = str(data.get("closed_cases", "reopen"))
    if closed_cases not in ("reopen", "new-case"):
        problems.add(line_of(data, "closed_cases"), "closed_cases: 'reopen' or 'new-case'")
    parties = set(directory.parties)
    names = tuple(str(n) for n in (data.get("municipalities") or {}).get("names", {}))
    default = _deadlines(data.get("deadlines") or {}, problems)
    flows = parse_flows(data.get("flows"), default, parties, line_of, problems.add)
    follow_up = parse_follow_up(data.get("follow_up"), parties, line_of, problems.add)
    return dict(
        directory=directory,
        mailboxes=mailboxes,
        hours=sections.parse_hours(data.get("service_hours"), problems),
        reference_prefix=str(data.get("reference_prefix", "AVVIK")),
        suggestion_prefix=parse_suggestion_prefix(data, problems),
        triage_party=triage,
        vocabulary=vocabulary,
        external_refs=refs,
        deadlines={None: default} | {n: (f.measures_days, f.close_days) for n, f in flows.items()},
        closed_cases=closed_cases,
        privacy=sections.parse_privacy(data.get("privacy"), parties, problems),
        follow_up=follow_up,
        record=parse_record(data.get("record"), parties, line_of, problems.add),
        language=language,
        flows=flows,
        topics=parse_topics(data.get("topics"), line_of, problems.add),
        municipality_names=names,
        not_targets=_not_targets(data.get("municipalities") or {}, names, problems),
        automatic=parse_automatic(
            data.get("automatic_mail"),
            (data.get("words") or {}).get("automatic_subject"),
            line_of,
            problems.add,
        ),
    )


def load_rules(path: Path | str) -> RuleSet:
    """Read, check and compile a rules file; raises RulesError listing every problem."""
    path = Path(path)
    problems = Problems(path)
    data = read(path)
    for key in set(data) - TOP_LEVEL:
        problems.add(line_of(data, key), f"unknown section {key!r}")
    fields = _sections(data, problems)
    directory: Directory = fields["directory"]
    keys = {k for k in directory.parties if not k.startswith(MUNICIPALITY + ":")}
    mailboxes, flows = frozenset(fields["mailboxes"]), tuple(fields["flows"])
    names = _Known(frozenset(keys), mailboxes, fields["vocabulary"], _negation(data, problems),
                   topics=fields["topics"], municipality_names=fields["municipality_names"],
                   flows=flows)  # fmt: skip
    rules = _rules(data, names, problems)
    if problems.items:
        raise RulesError(problems.items)
    return RuleSet(path=path, rules=rules, **fields)
