"""new_text() skips the attribution patterns on lines without "skrev", "wrote" or
"schrieb" (a shortcut): it must cut exactly where the full check cuts."""

from __future__ import annotations

import random
import re

from gateway import text
from gateway.text import _QUOTED, _SEPARATOR, _starts_quote, new_text


def _full(body: str) -> str:
    """new_text as it was: every pattern tried on every line."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").split("\n")
    kept: list[str] = []
    cut = False
    for i, line in enumerate(lines):
        if _QUOTED.match(line):
            continue
        if _starts_quote(lines, i):
            cut = True
            break
        kept.append(line)
    while kept and (not kept[-1].strip() or (cut and _SEPARATOR.fullmatch(kept[-1]))):
        kept.pop()
    return "\n".join(kept)


LINES = [
    "Hei,",
    "Pasienten ble ikke hentet kl. 14:30 som avtalt.",
    "",
    "Den 12. mars 2026 kl. 10:15 skrev Kari Nordmann <kari@example.no>:",
    "Den 12. mars 2026 kl. 10:15",
    "skrev Kari Nordmann:",
    "Kari skrev i loggen:",
    "On Mon, 3 Mar 2026 at 09:12, Ola <ola@example.com> wrote:",
    "On Mon, 3 Mar 2026",
    "at 09:12 Ola WROTE:",
    "Am 3. März 2026 um 09:12 schrieb Ola:",
    "Am heutigen Tage",
    "> sitert linje",
    "-----Original Message-----",
    "Fra: Ola Nordmann",
    "Sendt: 3. mars 2026",
    "-- ",
    "Mvh Ola",
    "SKREV 12:00 ola@x.no:",
    "ſkrev 12:00 ola@x.no:",
    "s\ufeffkrev 12:00 ola@x.no:",
    "sk\r\nrev 12:00 ola@x.no:",
    "_____",
    "ola@example.no 2026 skrev:",
]


def test_shortcut_cuts_where_the_full_check_cuts():
    rng = random.Random(5)
    for _ in range(3000):
        body = "\n".join(rng.choice(LINES) for _ in range(rng.randint(0, 12)))
        assert new_text(body) == _full(body), body


def test_examples_unchanged():
    for line in LINES:
        for body in (line, "Tekst\n\n" + line + "\n> sitat", "Tekst\r\n" + line):
            assert new_text(body) == _full(body), body
    assert text._ATTRIBUTION_WORD.search("ſkrev")  # the same case folding as the patterns


def test_word_patterns_match_as_without_the_look_ahead():
    words = ("haster", "Akutt", "kritisk feil", "ſkrev", "øyeblikkelig", "İlk", "k", "-x", "1.2")
    names = ("Arendal", "Evje og Hornnes", "Kristiansand", "Åmli", "Lindesnes")
    plain_words = re.compile(
        r"(?<!\w)(?:"
        + "|".join(sorted({text._phrase(w) for w in words}, key=len, reverse=True))
        + r")(?!\w)",
        re.I,
    )
    plain_names = re.compile(
        r"(?<!\w)(?:" + "|".join(text._phrase(n) for n in names) + r")(?!\w)", re.I
    )
    pieces = [*words, *names, " ", "\n", "HASTER", "\u212a", "s", "S", "i", "I", "ı", "x", "AKUTT"]
    rng = random.Random(9)
    for _ in range(3000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert [m.span() for m in text.word_pattern(words).finditer(body)] == [
            m.span() for m in plain_words.finditer(body)
        ], body
        assert [m.span() for m in text._municipality_pattern(names).finditer(body)] == [
            m.span() for m in plain_names.finditer(body)
        ], body


def test_a_word_list_is_never_skipped_when_its_regex_would_match():
    """may_match() lets a word condition skip its regex on text without any of its words;
    it must never skip one that the regex would find, whatever the letter case."""
    words = (
        "haster",
        "Akutt",
        "kritisk feil",
        "groß",
        "İlk",
        "ſkrev",
        "kelvin",
        "øyeblikk",
        "politi",
    )
    pattern = text.word_pattern(words)
    pieces = [*words, " ", "\n", "HASTER", "GROSS", "GROẞ", "\u212aelvin", "ilk", "İLK", "ILK",
              "skrev", "Øyeblikk", "ØYEBLIKK", "kritisk\n\tFEIL", "x", "ha", "ster",
              "polıtı", "POLİTİ", "pol", "ıtı"]  # fmt: skip
    rng = random.Random(11)
    for _ in range(5000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        if pattern.search(body):
            assert text.may_match(pattern, text.fold(body)), body
    assert not text.may_match(pattern, text.fold("Alarmen gikk kl. 14:30, alt i orden."))
    other = re.compile(r"\d+")  # not a word list: never skipped
    assert text.may_match(other, text.fold("ingen tall"))
