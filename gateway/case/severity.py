"""A report's severity from its own text, where a deployment asks for it.

NAV Lillehammer-Gausdal's reporters write a line such as ``Alvorlighetsgrad: høy`` in
the report (rules.yaml ``record: severity: {from_report: true, default: middels}``).
The label is any word of the severity command in any language (templates/*/commands.yaml:
alvorlighetsgrad, allvarlighetsgrad, severity ...) and the value any word for a stored
severity. Only the new text is read (never quoted text), and the first line that names a
known severity counts; without one, the deployment's default applies.
"""

from __future__ import annotations

import functools
import re

from gateway.i18n import command_words
from gateway.rules.base import RuleSet


@functools.lru_cache(maxsize=1)
def _line() -> re.Pattern[str]:
    labels = [w for w, verb in command_words()["case"].items() if verb == "severity"]
    alternatives = "|".join(re.escape(w) for w in sorted(labels, key=len, reverse=True))
    return re.compile(rf"^[ \t]*(?:{alternatives})[ \t]*:[ \t]*(\w+)[ \t.!]*$", re.I | re.M)


def from_report(ruleset: RuleSet, new_text: str) -> str | None:
    """The stored severity the report's new text names, else the deployment's default;
    None when the deployment does not read severities from reports."""
    rules = ruleset.record
    if not rules.severity_from_report:
        return None
    values = command_words()["severities"]
    for found in _line().finditer(new_text or ""):
        if (severity := values.get(found.group(1).lower())) is not None:
            return severity
    return rules.default_severity
