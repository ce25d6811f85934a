"""Every phrase a person reads that is not a whole mail: ``templates/<lang>/phrases/``.

Python names a phrase by key and gives the values; the words live in YAML files beside
the mail templates, one file per area (``triage.yaml`` holds ``triage.*``). A phrase
with a count may have plural forms (``{one: …, other: …}``). A deployment chooses its
language in rules.yaml (``language: nb``); adding one is a folder of templates and
phrases, no Python. A missing key is an error, never an empty line in a mail.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_LANGUAGE = "nb"


class PhraseError(LookupError):
    """A phrase key that the language does not have, or a value it needs is missing."""


class Phrases:
    """The phrases of one language; call with a key and the values it needs."""

    def __init__(self, language: str, table: dict[str, object]):
        self.language, self.table = language, table

    def __call__(self, key: str, /, **values: object) -> str:
        try:
            text = self.table[key]
        except KeyError:
            raise PhraseError(f"no phrase {key!r} in language {self.language!r}") from None
        if isinstance(text, dict):  # plural forms, chosen by ``count``
            text = text["one"] if values.get("count") == 1 else text["other"]
        try:
            return str(text).format(**values)
        except KeyError as exc:
            raise PhraseError(f"phrase {key!r} needs the value {exc}") from None

    def __contains__(self, key: str) -> bool:
        return key in self.table


def load(folder: Path, language: str) -> Phrases:
    """Read ``folder/<language>/phrases/*.yaml``; the file's stem prefixes its keys."""
    table: dict[str, object] = {}
    for path in sorted((folder / language / "phrases").glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, text in entries.items():
            table[f"{path.stem}.{key}"] = text
    if not table:
        raise PhraseError(f"no phrases for language {language!r} in {folder}")
    return Phrases(language, table)


@functools.lru_cache(maxsize=8)
def phrases(language: str = DEFAULT_LANGUAGE) -> Phrases:
    """The built-in phrases of a language, read once."""
    return load(TEMPLATES, language)


def in_every_language(key: str) -> tuple[str, ...]:
    """One phrase as every shipped language says it, each once: words the gateway must
    recognise in an answer whichever deployment's language wrote them (the tag of a
    triage note's subject)."""
    languages = sorted({path.parent.parent.name for path in TEMPLATES.glob("*/phrases/*.yaml")})
    said = (phrases(language) for language in languages)
    return tuple(dict.fromkeys(str(say.table[key]) for say in said if key in say))


@functools.lru_cache(maxsize=1)
def command_words() -> dict[str, dict[str, str]]:
    """Every language's command words: group -> word -> what it means.

    Groups: ``case``, ``on_call`` and ``triage`` map a word to its verb; ``statuses``
    and ``severities`` map a word to the stored value. Read from
    ``templates/*/commands.yaml``, the default language first (its words are the ones
    help texts show first); every language's words work in every deployment.
    """
    folders = sorted(
        TEMPLATES.glob("*/commands.yaml"), key=lambda p: p.parent.name != DEFAULT_LANGUAGE
    )
    words: dict[str, dict[str, str]] = {}
    for path in folders:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group, meanings in data.items():
            table = words.setdefault(group, {})
            for meaning, spellings in meanings.items():
                for word in spellings:
                    table.setdefault(str(word).lower(), str(meaning))
    return words


def stored_values(group: str) -> tuple[str, ...]:
    """The values of ``statuses`` or ``severities``, in the default language's order."""
    return tuple(dict.fromkeys(command_words()[group].values()))
