"""Routing by topic (issue 21): "exactly one of these named groups of words appears",
in the subject, else the new text without quoted text and signature; none or several:
triage, and the note says which groups were found."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from conftest import EXAMPLES, ROOT, make_mail
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.decide.classify import classify_bytes, run_rules_test
from gateway.decide.yaml_rules import decide
from gateway.parse import parse
from gateway.rules.base import Context
from gateway.rules.loader import RulesError, load_rules
from gateway.rules.topics import MUNICIPALITIES

NAV = load_rules(ROOT / "profiles" / "nav-lillehammer" / "rules.yaml")
AT = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _nav(subject: str, body: str):
    raw = make_mail("kari@nav.example", "avvik@nav-lg.example", subject, body)
    return raw, decide(parse(raw), NAV, "avvik", AT)


def test_the_one_topic_named_chooses_the_flow():
    _raw, decision = _nav("Avvik", "Hei,\n\nBrukeren fikk ikke sosialhjelp i tide.\n")
    assert (decision.decision, decision.flow, decision.to) == (
        "relay", "tqm", ("tqm@lillehammer.kommune.example",)
    )  # fmt: skip


@pytest.mark.parametrize(
    "body",
    ["Hei,\n\nSe under.\n\n> Husk taushetsplikt.\n",
     "Hei,\n\nSe under.\n\nMed vennlig hilsen\nKari\nHMS-ansvarlig\n",
     "Hei,\n\nSe under.\n\nMvh\nKari\n\nDenne e-posten kan inneholde opplysninger "
     "underlagt taushetsplikt.\n"],
)  # fmt: skip
def test_a_topic_in_quoted_text_signature_or_disclaimer_does_not_count(body):
    _raw, decision = _nav("Avvik", body)
    assert decision.decision == "triage" and decision.flow is None


def test_the_subject_decides_before_the_body():
    _raw, decision = _nav("Dagpenger", "Hei,\n\nGjelder også tilgang i Gosys.\n")
    assert decision.flow == "linje"


@pytest.mark.parametrize(
    ("subject", "says"),
    [("Sykepenger og Gosys", "meldingen nevner flere emner i «place»: linje og brukerstotte"),
     ("Avvik", "meldingen nevner ingen av emnene i «place» (asys, tqm, samspillet, linje, "
               "brukerstotte)")],
)  # fmt: skip
def test_none_or_several_is_triage_and_the_note_names_what_was_found(subject, says):
    raw, decision = _nav(subject, "Hei,\n\nSe tittel.\n")
    assert decision.decision == "triage"
    shown = classify_bytes(raw, NAV, "avvik", AT)
    assert says in shown["explanation"]


def _rules(tmp_path, topics: str, condition: str):
    text = (ROOT / "profiles" / "nav-lillehammer" / "rules.yaml").read_text(encoding="utf-8")
    text = text.replace("topics:\n  place:\n", topics + "\nunused_topics:\n  place:\n", 1)
    text = text.replace("      topic: {place: asys}", f"      topic: {condition}", 1)
    text = text.replace("\nunused_topics:", "\ntopics_unused:", 1)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("condition", "message"),
    [("{place: asys}", "no topic set 'place'"),
     ("{area: nobody}", "area: no group nobody"),
     ("{area: [one, two]}", "area: no group two")],
)  # fmt: skip
def test_a_topic_condition_naming_what_is_not_declared_is_refused_with_its_line(
    tmp_path, condition, message
):
    topics = "topics:\n  area:\n    a: [alfa]\n    b: [beta]"
    with pytest.raises(RulesError) as caught:
        load_rules(_rules(tmp_path, topics, condition))
    assert any(message in p for p in caught.value.problems), caught.value.problems


def test_a_group_named_like_a_count_or_without_words_is_refused(tmp_path):
    topics = "topics:\n  area:\n    one: [alfa]\n    b: []"
    with pytest.raises(RulesError) as caught:
        load_rules(_rules(tmp_path, topics, "{area: b}"))
    text = "\n".join(caught.value.problems)
    assert "area: one: a count" in text and "area: b: expected a list of words" in text


AGDER = load_rules(ROOT / "rules.yaml")
NAMES = list(AGDER.municipality_names) + ["Sykehuset i Arendal", "Arendal gate 5"]
FILLER = ["Hei", "brukeren", "alarm", "i", "bor", "ved", "og", "Kristiansand kommune"]


@settings(max_examples=60, deadline=None)
@given(
    subject=st.lists(st.sampled_from(NAMES + FILLER), max_size=4),
    body=st.lists(st.sampled_from(NAMES + FILLER), max_size=8),
)
def test_the_municipality_set_is_the_flow_c_condition(subject, body):
    """Agder's flow c, once special code, is the topic set "municipalities": the old
    condition and the new one agree on any text, and name the same municipality."""
    raw = make_mail("operator.responssenter@kristiansand.kommune.example",
                    "responssenter@trygghet-agder.example", " ".join(subject),
                    "Hei,\n\n" + " ".join(body) + "\n\nMed vennlig hilsen\nOperator\n")  # fmt: skip
    ctx = Context(parse(raw), "responssenter", AT, AGDER)
    found = ctx.topic(MUNICIPALITIES)
    decision = decide(parse(raw), AGDER, "responssenter", AT)
    if len(found) == 1:
        assert (decision.flow, decision.municipality) == ("c", found[0])
    else:
        assert decision.decision == "triage"


def test_the_older_spelling_refuses_what_is_not_a_count(tmp_path):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("topic: {municipalities: one}", "names_municipality: two"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert any("names_municipality': unknown two" in p for p in caught.value.problems)


def test_names_municipality_is_still_read_as_the_older_spelling(tmp_path):
    text = (ROOT / "rules.yaml").read_text(encoding="utf-8")
    old = text.replace("topic: {municipalities: one}", "names_municipality: one", 1)
    assert old != text
    path = tmp_path / "rules.yaml"
    path.write_text(old, encoding="utf-8")
    assert run_rules_test(EXAMPLES, load_rules(path)) == []


def test_a_swedish_triage_note_is_in_swedish():
    rules = load_rules(ROOT / "profiles" / "hoglandet" / "rules.yaml")
    to = "avvikelse@hoglandet-samordning.example"
    raw = make_mail("lars@forsakringskassan.example", to, "Samverkan Tranås och Aneby",
                    textwrap.dedent("Hej,\n\nSe ämnet.\n"))  # fmt: skip
    shown = classify_bytes(raw, rules, "avvikelse", AT)
    assert shown["decision"] == "triage"
    assert "meddelandet nämner både Tranås och Aneby" in shown["explanation"]
