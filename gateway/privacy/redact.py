"""Replace findings with markers so a relayed report is de-identified but readable.

The markers ("[fødselsnummer fjernet]") are phrases of the deployment's language.
"""

from __future__ import annotations

from typing import Any

from gateway.i18n import DEFAULT_LANGUAGE
from gateway.privacy.detect import KINDS, Finding, find_personal_data


def redact(text: str, findings: list[Finding], language: str = DEFAULT_LANGUAGE) -> str:
    """Return `text` with each finding replaced by its kind's marker; the rest is unchanged.

    Findings must come from this very text: a finding whose `text` does not match its span
    raises ValueError rather than corrupting (or under-redacting) the message. Overlapping
    findings are collapsed to their union so no fragment survives.
    """
    parts: list[str] = []
    pos = 0
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if f.kind not in KINDS:
            raise ValueError(f"unknown kind {f.kind!r}")
        if text[f.start : f.end] != f.text:
            raise ValueError(f"finding {f!r} does not match the text")
        if f.start < pos:  # overlaps the previous finding: extend its redaction
            pos = max(pos, f.end)
            continue
        parts += [text[pos : f.start], KINDS[f.kind].marker(language)]
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts)


def redact_text(
    text: str, language: str = DEFAULT_LANGUAGE, **detect_kwargs: Any
) -> tuple[str, list[Finding]]:
    """Detect with `find_personal_data(text, **detect_kwargs)` and redact in one step."""
    findings = find_personal_data(text, **detect_kwargs)
    return redact(text, findings, language), findings
