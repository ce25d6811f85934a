"""Languages: templates/<lang>/ holds every word, rules.yaml chooses the language, and a
new language is a folder, not Python."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
from conftest import ROOT

from gateway import i18n, templating
from gateway.render import Renderer
from gateway.rules.loader import RulesError, load_rules

SHIPPED = (ROOT / "rules.yaml").read_text(encoding="utf-8")


def test_the_mail_templates_live_in_the_language_folder():
    assert not list((ROOT / "templates").glob("*.j2")), "templates belong in templates/<lang>/"
    assert (ROOT / "templates" / "nb" / "relay.txt.j2").is_file()


def test_rules_choose_the_language_and_an_unknown_one_is_refused(tmp_path, ruleset):
    assert ruleset.language == "nb"
    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED.replace("language: nb", "language: xx"), encoding="utf-8")
    line = SHIPPED[: SHIPPED.index("language: nb")].count("\n") + 1
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert any(p.startswith(f"{path}:{line}: language: 'xx'") for p in caught.value.problems)


def test_flow_labels_come_from_the_rules_the_renderer_is_given(ruleset):
    flows = dict(ruleset.flows)
    flows["a"] = dataclasses.replace(flows["a"], label="kommune til ny leverandør")
    renamed = dataclasses.replace(ruleset, flows=flows)
    labels = Renderer("gw@x.example", "GW", rules=lambda: renamed).env.get_template("_labels.j2")
    assert labels.module.flow("a") == "a – kommune til ny leverandør"
    assert labels.module.flow("e") == "ikke avgjort"  # an old case's flow, no longer declared
    shipped = Renderer("gw@x.example", "GW").env.get_template("_labels.j2").module
    assert shipped.flow("b") == "b – kommune til responssenter"


def test_a_new_language_is_a_folder_of_templates_and_phrases(tmp_path, monkeypatch, ruleset):
    shutil.copytree(ROOT / "templates" / "nb", tmp_path / "nb")
    shutil.copytree(ROOT / "templates" / "nb", tmp_path / "nn")
    (tmp_path / "nn" / "t.txt.j2").write_text(
        "{% block subject %}Emne{% endblock %}{% block body %}Flyt {{ flow }}{% endblock %}"
    )
    (tmp_path / "nn" / "phrases" / "render.yaml").write_text("unnamed_attachment: vedlegg\n")
    monkeypatch.setattr(templating, "TEMPLATES", tmp_path)
    monkeypatch.setattr(i18n, "TEMPLATES", tmp_path)
    i18n.phrases.cache_clear()
    try:
        nynorsk = dataclasses.replace(ruleset, language="nn")
        renderer = Renderer("gw@x.example", "GW", rules=nynorsk)
        assert renderer.language == "nn"
        out = renderer.message("t.txt.j2", {"flow": "a"}, purpose="relay", to=["a@x.example"])
        assert out.subject == "Emne" and b"Flyt a" in out.raw
        with pytest.raises(Exception, match="t.txt.j2"):  # not in the bokmål folder
            renderer.message("t.txt.j2", {"flow": "a"}, purpose="r", to=["a@x"], language="nb")
    finally:
        i18n.phrases.cache_clear()


def test_a_deployment_override_per_language_and_flat(tmp_path):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "a.txt.j2").write_text(
        "{% block subject %}nb{% endblock %}{% block body %}{% endblock %}"
    )
    (tmp_path / "a.txt.j2").write_text(
        "{% block subject %}flat{% endblock %}{% block body %}{% endblock %}"
    )
    (tmp_path / "b.txt.j2").write_text(
        '{% extends "default:receipt.txt.j2" %}{% block subject %}B {{ super() }}{% endblock %}'
    )
    renderer = Renderer("gw@x.example", "GW", override=tmp_path)
    assert renderer.parts("a.txt.j2", {})[0] == "nb"
    from conftest import RECEIPT_CONTEXT

    assert renderer.parts("b.txt.j2", RECEIPT_CONTEXT)[0].startswith("B ")


def test_mail_is_read_with_every_languages_words(tmp_path):
    from gateway import reading
    from gateway.text import new_text, strip_signature

    data = reading.READING
    assert {"skrev", "wrote", "schrieb"} <= set(data.attribution_words)
    assert "med vänliga hälsningar" in data.closings  # from templates/sv/reading.yaml
    assert "no" in data.label_words  # quoted in en/reading.yaml: YAML reads no as false
    assert strip_signature("Alarmen virker.\nMed vänliga hälsningar\nAnna") == "Alarmen virker."
    assert new_text("Svar.\n\nAm 1. März 2026 um 10:15 schrieb Kari <k@x.de>:\n> x") == "Svar."
    (tmp_path / "xx").mkdir()
    (tmp_path / "xx" / "reading.yaml").write_text("closings: [no]\n")
    with pytest.raises(ValueError, match="quote it"):
        reading.load(tmp_path)
