"""The conditions a rule in rules.yaml can test, compiled once when the file is loaded.

Each key of a rule's ``if:`` mapping is one condition; all must hold. A list value means
"any of these". ``any:`` takes a list of mappings, ``not:`` one mapping. Every value is
checked at load: an unknown party, mailbox or word list, or a bad regular expression,
is an error with the file and line, never a rule that silently does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.rules import BUILTIN, topics
from gateway.rules.base import Context
from gateway.rules.parties import MUNICIPALITY
from gateway.text import NEVER, find_word, may_match, word_pattern

Check = Callable[[Context], bool]


class ConditionError(ValueError):
    """A condition in rules.yaml is wrong; the loader adds file and line (``line`` when
    the fault is deeper than the condition's own key, as in one header of ``header:``)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Names:
    """What a rules file defines, for checking references at load."""

    parties: frozenset[str]
    mailboxes: frozenset[str]
    vocabulary: dict[str, re.Pattern[str]]
    negation: re.Pattern[str] = NEVER  # rules.yaml ``negations:``, see text.negation_pattern
    topics: topics.Topics = field(default_factory=dict)  # rules.yaml ``topics:``
    municipality_names: tuple[str, ...] = ()  # the groups of the set "municipalities"


def _many(value: Any, what: str) -> list:
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, (dict, list)) or v is None for v in values):
        raise ConditionError(f"{what}: expected a value or a list of values")
    return values


def _bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ConditionError(f"{what}: expected true or false, not {value!r}")
    return value


def _regex(value: Any, what: str) -> re.Pattern[str]:
    patterns = [str(v) for v in _many(value, what)]
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    except re.error as exc:
        raise ConditionError(f"{what}: bad regular expression: {exc}") from exc


def _words(value: Any, names: Names, what: str) -> re.Pattern[str]:
    """A word list by name (from ``words:``), or the words themselves."""
    if isinstance(value, str) and value in names.vocabulary:
        return names.vocabulary[value]
    if isinstance(value, str) and re.fullmatch(r"[a-z]+(_[a-z]+)+", value):
        known = ", ".join(sorted(names.vocabulary))
        raise ConditionError(f"{what}: no word list {value!r} (known: {known})")
    return word_pattern(str(v) for v in _many(value, what))


def _in_set(value: Any, allowed: set[str], what: str) -> set[str]:
    values = {str(v) for v in _many(value, what)}
    if unknown := values - allowed:
        raise ConditionError(
            f"{what}: unknown {', '.join(sorted(unknown))} (known: {', '.join(sorted(allowed))})"
        )
    return values


def _sender_matches(ctx: Context, wanted: set[str]) -> bool:
    party = ctx.sender
    if party is None:
        return "unknown" in wanted
    return party.key in wanted or party.kind in wanted


def _from_matches(address: str, patterns: list[str]) -> bool:
    domain = address.rpartition("@")[2]
    return any(p == address or (p.startswith("*@") and p[2:] == domain) for p in patterns)


def _builtin_hit(rule, ctx: Context) -> bool:
    """Run a built-in rule, noting its name for the decision on a hit."""
    if rule.check(ctx):
        ctx.hits.append(rule.name)
        return True
    return False


def compile_condition(key: str, value: Any, names: Names) -> Check:
    """One ``if:`` entry as a check; raises ConditionError naming what is wrong."""
    what = f"condition {key!r}"
    if key in ("subject_words", "body_words", "text_words"):
        return _search(key.split("_")[0], _words(value, names, what), names.negation)
    if key in ("subject_regex", "body_regex", "text_regex"):
        return _search(key.split("_")[0], _regex(value, what), NEVER)
    if key in ("flow", "decision"):
        wanted = {str(v) for v in _many(value, what)}
        return lambda ctx: str(getattr(ctx.draft, key)) in wanted
    compile_one = _COMPILERS.get(key)
    if compile_one is None:
        raise ConditionError(f"unknown condition {key!r} (known: {', '.join(CONDITIONS)})")
    return compile_one(value, names, what)


def _mailbox(value: Any, names: Names, what: str) -> Check:
    boxes = _in_set(value, set(names.mailboxes), what)
    return lambda ctx: ctx.mailbox in boxes


def _sender(value: Any, names: Names, what: str) -> Check:
    wanted = _in_set(value, set(names.parties) | {MUNICIPALITY, "unknown"}, what)
    return lambda ctx: _sender_matches(ctx, wanted)


def _from(value: Any, names: Names, what: str) -> Check:
    patterns = [str(v).strip().lower() for v in _many(value, what)]
    return lambda ctx: _from_matches(ctx.msg.from_addr, patterns)


def _header(value: Any, names: Names, what: str) -> Check:
    if not isinstance(value, dict) or not value:
        raise ConditionError(f"{what}: expected a mapping of header name to regex")
    tests = []
    for h, v in value.items():
        try:
            tests.append((str(h).lower(), _regex(v, f"{what} {h}")))
        except ConditionError as exc:
            raise ConditionError(str(exc), getattr(value, "lines", {}).get(h)) from exc
    return lambda ctx: any(p.search(v) for h, p in tests for v in ctx.msg.headers.get(h, ()))


def _has_attachment(value: Any, names: Names, what: str) -> Check:
    want = _bool(value, what)
    return lambda ctx: bool(ctx.msg.attachments) == want


def _attachment_name(value: Any, names: Names, what: str) -> Check:
    pattern = _regex(value, what)
    return lambda ctx: any(pattern.search(a.filename) for a in ctx.msg.attachments)


def _urgent(value: Any, names: Names, what: str) -> Check:
    want = _bool(value, what)
    return lambda ctx: ctx.draft.urgent == want


def _service_hours(value: Any, names: Names, what: str) -> Check:
    want = _bool(value, what)
    return lambda ctx: ctx.in_service_hours == want


def _names_municipality(value: Any, names: Names, what: str) -> Check:
    """The older spelling of ``topic: {municipalities: ...}``, with counts only."""
    _in_set(value, set(topics.COUNTS), what)
    return _topic({topics.MUNICIPALITIES: value}, names, what)


def _topic(value: Any, names: Names, what: str) -> Check:
    """Exactly one group of a topic set, or a count of them (gateway/rules/topics.py)."""
    try:
        name, accepted = topics.wanted(value, names.topics, names.municipality_names)
    except ValueError as exc:
        raise ConditionError(f"{what}: {exc}") from exc
    return lambda ctx: topics.holds(accepted, ctx.topic(name))


def _builtin(value: Any, names: Names, what: str) -> Check:
    _in_set(value, set(BUILTIN), what)  # checks the names
    rules = [BUILTIN[str(n)] for n in dict.fromkeys(_many(value, what))]  # in YAML order
    return lambda ctx: any(_builtin_hit(rule, ctx) for rule in rules)


def _any(value: Any, names: Names, what: str) -> Check:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConditionError(f"{what}: expected a list of condition mappings")
    checks = [compile_conditions(v, names) for v in value]
    return lambda ctx: any(c(ctx) for c in checks)


def _not(value: Any, names: Names, what: str) -> Check:
    if not isinstance(value, dict):
        raise ConditionError(f"{what}: expected a condition mapping")
    check = compile_conditions(value, names)
    return lambda ctx: not check(ctx)


_COMPILERS = {
    "mailbox": _mailbox,
    "sender": _sender,
    "from": _from,
    "header": _header,
    "has_attachment": _has_attachment,
    "attachment_name": _attachment_name,
    "urgent": _urgent,
    "service_hours": _service_hours,
    "names_municipality": _names_municipality,
    "topic": _topic,
    "builtin": _builtin,
    "any": _any,
    "not": _not,
}


def _search(where: str, pattern: re.Pattern[str], negation: re.Pattern[str]) -> Check:
    """Search the subject, the new body text or both; a word list first asks whether
    any of its words occurs in the folded text at all (see ``text.may_match``), and a
    word a negation stands before does not count ("ikke kritisk")."""

    def check(ctx: Context) -> bool:
        if not may_match(pattern, ctx.folded(where)):
            return False
        if where == "subject":
            return find_word(pattern, ctx.msg.subject, negation)
        return find_word(pattern, ctx.body if where == "body" else ctx.text, negation)

    return check


def compile_conditions(spec: dict, names: Names) -> Check:
    """An ``if:`` mapping as one check: every entry must hold."""
    checks = [compile_condition(str(k), v, names) for k, v in spec.items()]
    return lambda ctx: all(check(ctx) for check in checks)


CONDITIONS = (
    "mailbox", "sender", "from", "subject_words", "body_words", "text_words",
    "subject_regex", "body_regex", "text_regex", "header", "has_attachment",
    "attachment_name", "flow", "decision", "urgent", "service_hours",
    "names_municipality", "topic", "builtin", "any", "not",
)  # fmt: skip
