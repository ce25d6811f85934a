"""A helpdesk's automatic notices: acknowledgement, status, solved, satisfaction survey.

Ticket systems write them from templates, so they are told by their wording (every
language's ``templates/*/helpdesk.yaml``, read at once: mail arrives in any language) and
by RFC 3834 headers. Only the subject and the first lines of the new text count, so that
a person's answer that quotes or mentions such a phrase further down is still an answer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from gateway.i18n import TEMPLATES
from gateway.models import ParsedMessage
from gateway.references import strip_prefixes

KINDS = ("survey", "solved", "status", "acknowledgement")  # the first that matches wins
_LINES = 12  # how far into the new text a notice's wording counts
# numbers between the words: "Your request (#123) has been solved", "Incident INC0010001 has"
_NUMBERS = re.compile(r"\(\s*#?\s*\d+\s*\)|#\d+|\b[A-Z]{2,5}\d{5,}\b")


def _phrases(folder: Path) -> dict[str, tuple[str, ...]]:
    """Every language's phrases per kind; a value YAML does not read as text is an error."""
    merged: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for path in sorted(folder.glob("*/helpdesk.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind, values in data.items():
            if kind not in merged or not all(isinstance(v, str) for v in values or []):
                raise ValueError(f"{path}: {kind}: expected one of {KINDS}, a list of phrases")
            merged[kind] += [v for v in values or [] if v not in merged[kind]]
    return {kind: tuple(values) for kind, values in merged.items()}


@lru_cache(maxsize=2)
def patterns(folder: Path = TEMPLATES) -> dict[str, re.Pattern[str]]:
    """One pattern per kind: any of its phrases as whole words, any case."""
    out = {}
    for kind, phrases in _phrases(folder).items():
        alts = sorted((r"\s+".join(map(re.escape, p.split())) for p in phrases), key=len)
        out[kind] = re.compile(rf"(?<!\w)(?:{'|'.join(reversed(alts))})(?!\w)", re.IGNORECASE)
    return out


def _where(msg: ParsedMessage) -> str:
    lines = [line for line in msg.new_text.splitlines() if line.strip()][:_LINES]
    text = "\n".join([strip_prefixes(msg.subject), *lines])
    return _NUMBERS.sub(" ", text)


def worded_kind(msg: ParsedMessage) -> str | None:
    """The kind of notice the message's wording says it is, or None."""
    text = _where(msg)
    return next((kind for kind in KINDS if patterns()[kind].search(text)), None)


def notice_kind(msg: ParsedMessage) -> str | None:
    """The kind of helpdesk notice a message is, or None: a person's answer."""
    if kind := worded_kind(msg):
        return kind
    submitted = msg.header("auto-submitted").split(";")[0].strip().lower()
    if submitted == "auto-replied" or "x-autoreply" in msg.headers:
        return "acknowledgement"  # RFC 3834: an automatic answer to our message
    if submitted.startswith("auto-"):
        return "status"  # automatic, and not an answer: a notice of some change
    return None
