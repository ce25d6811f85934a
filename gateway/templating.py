"""The Jinja environment of one language: where templates are found, and what all see.

A template name resolves in this order: the deployment's folder for the language
(``<override>/<lang>/``), the deployment's folder itself, then the built-ins in
``templates/<lang>/``; the built-ins stay reachable as ``default:<name>`` so an override
can extend them. Every template sees ``flow_labels`` (flow name -> label, from the loaded
rules.yaml), so no template lists the flows.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import jinja2
from jinja2 import nodes

from gateway.i18n import DEFAULT_LANGUAGE, TEMPLATES
from gateway.rules.base import RuleSet
from gateway.rules.loader import RulesError, load_rules

SHIPPED_RULES = TEMPLATES.parent / "rules.yaml"


class FlowLabels(Mapping[str, str]):
    """The declared flows' labels, read from the current rules at each look-up (rules
    are reloaded while the daemon runs)."""

    def __init__(self, rules: Callable[[], RuleSet | None]):
        self._rules = rules

    def _flows(self) -> Mapping:
        ruleset = self._rules()
        return ruleset.flows if ruleset is not None else {}

    def __getitem__(self, name: str) -> str:
        return self._flows()[name].label

    def __contains__(self, name: object) -> bool:
        return name in self._flows()

    def __iter__(self) -> Iterator[str]:
        return iter(self._flows())

    def __len__(self) -> int:
        return len(self._flows())


@functools.cache
def shipped_rules() -> RuleSet | None:
    """The rules.yaml shipped beside the templates: the flows of a renderer that was
    given no rules (tools and tests); None when it is not there or broken."""
    try:
        return load_rules(SHIPPED_RULES)
    except RulesError:
        return None


def unprefixed(subject: str | None, word: str) -> str:
    """The subject without ``word:`` in front (any case, any times), so that a template
    that writes "HASTER: " never writes it twice."""
    pattern = re.compile(rf"^\s*{re.escape(word)}\s*[:：]\s*", re.IGNORECASE)
    subject, previous = subject or "", None
    while previous != subject:
        previous, subject = subject, pattern.sub("", subject, count=1)
    return subject


def make_environment(
    override: Path | None = None,
    language: str = DEFAULT_LANGUAGE,
    flow_labels: Mapping[str, str] | None = None,
) -> jinja2.Environment:
    """The environment of one language's templates, compiled once (no auto-reload)."""
    builtin = jinja2.FileSystemLoader(TEMPLATES / language)
    loaders: list[jinja2.BaseLoader] = []
    if override is not None:
        loaders.append(jinja2.FileSystemLoader([Path(override) / language, Path(override)]))
    loaders += [jinja2.PrefixLoader({"default": builtin}, delimiter=":"), builtin]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # read once: no stat() of every template on every render
    )
    env.globals["flow_labels"] = flow_labels if flow_labels is not None else {}
    env.filters["unprefixed"] = unprefixed
    return env


def needs_root_render(env: jinja2.Environment, name: str) -> bool:
    """Whether a template's blocks need its root render first: when it extends another
    (the inherited blocks come from there) or does anything outside its blocks (a
    ``{% set %}`` or ``{% import %}`` that the blocks read). Only blocks and blank lines:
    its blocks render alone, and the root render would render the body a second time."""
    source, _filename, _uptodate = env.loader.get_source(env, name)  # type: ignore[union-attr]
    for node in env.parse(source).body:
        if isinstance(node, nodes.Block):
            continue
        if isinstance(node, nodes.Output) and all(
            isinstance(n, nodes.TemplateData) and not n.data.strip() for n in node.nodes
        ):
            continue
        return True
    return False
