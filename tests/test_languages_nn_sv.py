"""Nynorsk and Swedish beside bokmål (issue 21): every template and phrase of nb exists
in nn and sv with the same variables, every language's commands are understood, and a
Swedish or Nynorsk deployment shows no bokmål of its own making."""

from __future__ import annotations

import dataclasses
import re
import string
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import RECEIPT_CONTEXT, ROOT
from jinja2 import meta

from gateway import i18n
from gateway.decide.triage_answer import note_number, parse_decision
from gateway.render import Renderer
from gateway.templating import unprefixed
from gateway.threads.commands import parse_commands

TEMPLATES = ROOT / "templates"
LANGUAGES = ("nn", "sv")
NB = TEMPLATES / "nb"


def _files(folder: Path) -> list[str]:
    """Every template and phrases file of a language, relative to its folder."""
    names = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    return sorted(n for n in names if n not in ("reading.yaml", "commands.yaml"))


def _variables(folder: Path, name: str) -> set[str]:
    env = jinja2.Environment()
    env.filters["unprefixed"] = unprefixed
    source = (folder / name).read_text(encoding="utf-8")
    return set(meta.find_undeclared_variables(env.parse(source)))


def _placeholders(text: object) -> set[str]:
    forms = text.values() if isinstance(text, dict) else [text]
    return {
        field.split(".")[0].split("[")[0]
        for form in forms
        for _lit, field, _spec, _conv in string.Formatter().parse(str(form))
        if field
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_and_phrases_file_of_bokmal_exists_in_the_language(language):
    assert _files(NB) == _files(TEMPLATES / language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", [n for n in _files(NB) if not n.endswith(".yaml")])
def test_a_template_reads_the_same_variables_in_every_language(language, name):
    assert _variables(TEMPLATES / language, name) == _variables(NB, name), name


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_phrase_key_exists_with_the_same_placeholders(language):
    nb, other = i18n.phrases("nb").table, i18n.phrases(language).table
    assert sorted(other) == sorted(nb)
    for key, text in nb.items():
        assert _placeholders(other[key]) == _placeholders(text), key
        assert isinstance(other[key], dict) == isinstance(text, dict), key


# Words only bokmål writes: none may appear in what a Swedish or Nynorsk deployment shows.
BOKMAL_ONLY = {
    "sv": r"ikke|ikkje|uten|og|fra|frå|til|sak|saken|saka|melding|meldingen|meldinga|"
    r"mottaker|mottatt|motteke|videre|avviket|flyt|vedlegg|vedlegget|hastesak|"
    r"haster|lukket|lukka|tiltak|tiltaksfrist|lukkefrist|dere|ble|vart|bare|berre|hei|"
    r"også|hjå|mottakeren|kommune|gatewayen|avviksgatewayen",
    "nn": r"ikke|uten|fra|meldingen|mottaker|mottakeren|mottatt|videre|videresendt|ble|"
    r"bare|hvis|hos|gjelder|finnes|noen|hvem|hva|dere|saken|lukket|endret|sendes|"
    r"inneholder|personopplysninger|mottakere|kommandoer|fortsatt|igjen",
}


def _shown_text(source: str) -> str:
    """What a template can show: comments out, and the quoted keys and compared values
    that name stored bokmål values ("lukket", "høy") rather than show words."""
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r'"[^"]*"\s*:', " ", source)  # dict keys
    source = re.sub(r'(==|!=)\s*"[^"]*"', " ", source)  # compared stored values
    source = re.sub(r'unprefixed\("[^"]*"\)', " ", source)  # prefixes taken off
    source = re.sub(r"\b(action|href|name|value|id|for|list|src)=\"[^\"]*\"", " ", source)
    return re.sub(r"\{%-?\s*(import|extends|from)[^%]*%\}", " ", source)


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_bokmal_word_in_what_the_language_shows(language):
    words = re.compile(rf"\b({BOKMAL_ONLY[language]})\b", re.IGNORECASE)
    found = {}
    folder = TEMPLATES / language
    for name in _files(folder):
        if name.endswith(".yaml"):
            data = yaml.safe_load((folder / name).read_text(encoding="utf-8")) or {}
            forms = (x.values() if isinstance(x, dict) else [x] for x in data.values())
            values = [v for form in forms for v in form]
            text = "\n".join(str(v) for v in values)
        else:
            text = _shown_text((folder / name).read_text(encoding="utf-8"))
        hits = sorted({m.group(0) for m in words.finditer(text)})
        if hits:
            found[name] = hits
    assert not found, found


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "deadline"),
    [("sv", "Mottaget: [AVVIK-2026-0001] Alarm", "Hej,", "Avslutsfrist:"),
     ("nn", "Motteke: [AVVIK-2026-0001] Alarm", "Hei,", "Lukkefrist:")],
)  # fmt: skip
def test_a_deployment_in_the_language_renders_its_mail_in_it(
    ruleset, language, subject, greeting, deadline
):
    rules = dataclasses.replace(ruleset, language=language)
    out = Renderer("gw@x.example", "GW", rules=lambda: rules).message(
        "receipt.txt.j2", RECEIPT_CONTEXT, purpose="receipt", to=["a@x.example"]
    )
    body = out.raw.decode("utf-8", "replace")
    assert out.subject == subject
    assert greeting in body and deadline in body


@pytest.mark.parametrize(
    ("line", "expected"),
    [("#stäng Batteriet bytt", ("close", "Batteriet bytt")),
     ("#avsluta Rutinen ändrad", ("close", "Rutinen ändrad")),
     ("#allvarlighetsgrad hög", ("severity", "høy")),
     ("#status under handläggning", ("status", "under behandling")),
     ("#status klar för avslut", ("status", "til lukking")),
     ("#alvorsgrad låg", ("severity", "lav")),
     ("#status under handsaming", ("status", "under behandling")),
     ("#lukk Batteri skifta", ("close", "Batteri skifta")),
     ("#severity high", ("severity", "høy")),
     ("#alvorlighet høy", ("severity", "høy"))],
)  # fmt: skip
def test_every_languages_commands_are_understood_everywhere(line, expected):
    commands, errors = parse_commands(line)
    assert not errors and [(c.verb, c.value) for c in commands] == [expected]


def test_a_triage_answer_is_read_in_every_language():
    assert note_number("SV: [För bedömning #17] Larm") == 17
    assert note_number("SV: [Til vurdering #18] Alarm") == 18
    assert parse_decision("#skicka tqm@x.example\n") == ("send", "tqm@x.example")
    assert parse_decision("#ärende AVVIKELSE-2026-0001\n") == ("case", "AVVIKELSE-2026-0001")


@pytest.mark.parametrize(
    ("language", "words"),
    [("sv", ("#avsluta", "#allvarlighetsgrad", "#status under handläggning")),
     ("nn", ("#lukk", "#alvorsgrad", "#status under handsaming"))],
)  # fmt: skip
def test_help_lists_show_the_deployments_own_forms(language, words):
    relay = (TEMPLATES / language / "relay.txt.j2").read_text(encoding="utf-8")
    assert all(word in relay for word in words)
    commands, errors = parse_commands("\n".join(words[:1]) + " x")
    assert commands and not errors


@pytest.mark.parametrize("language", ("nb", *LANGUAGES))
def test_every_stored_status_and_severity_has_its_word(language):
    from gateway.i18n import stored_values

    say = i18n.phrases(language)
    for value in (*stored_values("statuses"), *stored_values("severities")):
        assert f"values.{value}" in say, value
