"""The words mail is read with, from every ``templates/<lang>/reading.yaml``.

Quote headers, signature closings, street words and the like differ by language, and
mail arrives in any of them: the gateway reads with all languages' words at once, not
only the deployment's. Read once, at import; gateway/text.py and
gateway/privacy/detect.py compile them into their patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from gateway.i18n import DEFAULT_LANGUAGE, TEMPLATES


@dataclass(frozen=True)
class Reading:
    """Every language's reading data, merged (each list without repeats)."""

    forward: tuple[str, ...]
    header_from: tuple[str, ...]
    header_date: tuple[str, ...]
    attribution_words: tuple[str, ...]
    attribution_starts: tuple[str, ...]
    attribution_patterns: tuple[str, ...]
    closings: tuple[str, ...]
    organisation_lines: tuple[str, ...]
    street_words: tuple[str, ...]
    disclaimers: tuple[str, ...]
    label_endings: tuple[str, ...]
    label_words: tuple[str, ...]


def _files(folder: Path) -> list[Path]:
    """The default language first, then the others by name."""
    files = sorted(folder.glob("*/reading.yaml"))
    return sorted(files, key=lambda p: p.parent.name != DEFAULT_LANGUAGE)


def load(folder: Path = TEMPLATES) -> Reading:
    """Merge every language's file; a value YAML does not read as text is an error."""
    merged: dict[str, list[str]] = {field: [] for field in Reading.__dataclass_fields__}
    for path in _files(folder):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        attribution = data.get("attribution") or {}
        labels = data.get("number_labels") or {}
        parts = {
            "attribution_words": [attribution["word"]] if "word" in attribution else [],
            "attribution_starts": attribution.get("starts", []),
            "attribution_patterns": attribution.get("patterns", []),
            "label_endings": labels.get("endings", []),
            "label_words": labels.get("words", []),
        }
        for field, values in merged.items():
            for value in parts.get(field, data.get(field)) or []:
                if not isinstance(value, str):  # YAML reads an unquoted no as false
                    raise ValueError(f"{path}: {field}: {value!r} is not text (quote it)")
                if value not in values:
                    values.append(value)
    return Reading(**{field: tuple(values) for field, values in merged.items()})


def alternatives(words: tuple[str, ...]) -> str:
    """A regex group of literal words or phrases, longest first."""
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


READING = load()
