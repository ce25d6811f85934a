"""Routing by topic: "exactly one of these named groups of words appears".

rules.yaml ``topics:`` declares sets of named groups of words; a rule's ``topic:``
condition asks how many groups of a set a message names, and which. The place that
decides is the subject when it names any group; otherwise the new text of the body
without quoted text, the signature and a standard disclaimer below it: a topic word a
person only quoted or signed with is not what the message is about.

One set is always there: ``municipalities``, each municipality of ``municipalities:
names:`` a group of its own name (names that only contain one, ``not_targets``, name
none). It is what Agder's flow c and Höglandet's coordinator are chosen by; a NAV
office's five places of report are a set of its own.

    topics:
      place:                       # a set; its groups' names are what rules test
        asys: [informasjonssikkerhet, taushetsplikt, trusler]
        tqm: [sosialhjelp, kvalifiseringsprogram]
    rules:
      - name: asys
        if: {topic: {place: asys}}   # exactly one group of place, and it is asys
      - name: unclear
        if: {topic: {place: [none, many]}}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from gateway.text import find_municipalities, find_word, strip_signature, word_pattern

MUNICIPALITIES = "municipalities"
COUNTS = ("none", "one", "many")

Topics = dict[str, dict[str, re.Pattern[str]]]  # set -> group -> its words


def parse_topics(spec: Any, line_of: Callable, problem: Callable[[int, str], None]) -> Topics:
    """``topics:``, checked: each set a mapping of group names to lists of words."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        problem(line_of(spec), "topics: expected sets of named groups of words")
        return {}
    topics: Topics = {}
    for name, groups in spec.items():
        if str(name) == MUNICIPALITIES:
            problem(line_of(spec, name), f"topics: {MUNICIPALITIES!r} is made from municipalities:")
            continue
        if not isinstance(groups, dict) or not groups:
            problem(line_of(spec, name), f"topics: {name}: expected groups of words")
            continue
        topics[str(name)] = _groups(str(name), groups, line_of, problem)
    return topics


def _groups(name: str, groups: dict, line_of: Callable, problem: Callable) -> dict:
    """One set's groups: each a name (not a count) and a list of words."""
    compiled = {}
    for group, words in groups.items():
        where = f"topics: {name}: {group}"
        if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
            problem(line_of(groups, group), f"{where}: expected a list of words")
            continue
        if str(group) in COUNTS:
            problem(line_of(groups, group), f"{where}: a count (none, one, many), not a name")
        compiled[str(group)] = word_pattern(words)
    return compiled


def found(
    topics: Topics,
    name: str,
    subject: str,
    body: str,
    municipality_names: tuple[str, ...] = (),
    not_targets: tuple[str, ...] = (),
) -> list[str]:
    """The groups of set ``name`` that the message names, in order: the subject's when
    it names any, else those of the new ``body`` (already without quoted text and
    disclaimer) without its signature."""
    if name == MUNICIPALITIES:
        in_subject = find_municipalities(subject, municipality_names, not_targets)
        if in_subject:
            return in_subject
        return find_municipalities(strip_signature(body), municipality_names, not_targets)
    groups = topics[name]
    for text in (subject, None):
        text = strip_signature(body) if text is None else text
        hits = [group for group, pattern in groups.items() if find_word(pattern, text)]
        if hits:
            return hits
    return []


def wanted(
    value: Any, topics: Topics, municipality_names: tuple[str, ...] = ()
) -> tuple[str, set[str]]:
    """A ``topic:`` condition's set and what it accepts ("one", or group names, ...)."""
    if isinstance(value, str):
        value = {value: "one"}
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("expected a set, or {set: one / none / many / a group's name}")
    ((name, accepted),) = value.items()
    known = {MUNICIPALITIES, *topics}
    if str(name) not in known:
        raise ValueError(f"no topic set {name!r} (known: {', '.join(sorted(known))})")
    accepted = {str(a) for a in (accepted if isinstance(accepted, list) else [accepted])}
    groups = set(municipality_names if name == MUNICIPALITIES else topics.get(str(name), {}))
    if unknown := accepted - groups - set(COUNTS):
        raise ValueError(f"{name}: no group {', '.join(sorted(unknown))}")
    return str(name), accepted


def holds(accepted: set[str], groups: list[str]) -> bool:
    """Whether what was found is what the condition accepts: a count, or exactly one
    group that is one of the names."""
    count = COUNTS[min(len(groups), 2)]
    return count in accepted or (len(groups) == 1 and groups[0] in accepted)
