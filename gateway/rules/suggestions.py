"""rules.yaml ``suggestion_prefix``: the tag an improvement suggestion's subject carries.

A suggestion is not a deviation: its reference is a series of its own
(``[FORSLAG-2026-0007]``), so that neither the receiver nor the statistics take it for
one, and it gets no deadlines unless a rule gives it some (case/opening.deadlines).
"""

from __future__ import annotations

import re

from gateway.rules.yaml_lines import LineDict, Problems
from gateway.rules.yaml_lines import line_of as _line

SUGGESTION = "forbedringsforslag"  # the kind (rules.yaml: kind: forbedringsforslag)
_PREFIX = re.compile(r"^[A-Za-z]{2,20}$")


def parse_suggestion_prefix(data: LineDict, problems: Problems) -> str:
    """The prefix (default FORSLAG): letters only, and not the deviations' own."""
    prefix = str(data.get("suggestion_prefix", "FORSLAG"))
    main = str(data.get("reference_prefix", "AVVIK"))
    if not _PREFIX.match(prefix):
        problems.add(
            _line(data, "suggestion_prefix"),
            f"suggestion_prefix: 2 to 20 letters A-Z, not {prefix!r}",
        )
    elif prefix.upper() == main.upper():
        problems.add(
            _line(data, "suggestion_prefix"),
            f"suggestion_prefix: must differ from reference_prefix ({main})",
        )
    return prefix.upper()
