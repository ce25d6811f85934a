"""The deviation record followed up with a moved clock (issue 19): a closing nobody
confirms is reminded, or confirmed, after N working days in *til lukking*."""

from __future__ import annotations

import dataclasses

import pytest
from test_followup import at, local, mails, report_at, run, runner_for, text
from test_record import record_rules
from test_threads import REPORTER, SUPPLIER, Conversation, reply


@pytest.mark.parametrize("action", ["remind", "confirm"])
def test_a_closing_left_unconfirmed_is_followed_up_after_n_working_days(fresh_db, ruleset,
                                                                         action):  # fmt: skip
    rules = record_rules(confirm_by="reporter", unconfirmed_after=3, unconfirmed=action)
    ruleset = dataclasses.replace(ruleset, record=rules)
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 3, 30, 9, 0))  # Monday before Easter
    at(talk, local(2026, 3, 31, 10, 0), reply(relay, SUPPLIER, "#lukk Byttet ruter\n"))
    assert talk.case(ref)["status"] == "til lukking"
    talk.outgoing()
    # Three working days after Tuesday 31 March, across Easter (2-6 April): 8 April.
    run(runner, "reminders", local(2026, 4, 7, 7, 0))
    assert not mails(talk, "closing-reminder") and talk.case(ref)["status"] == "til lukking"
    run(runner, "reminders", local(2026, 4, 8, 7, 0))
    if action == "remind":
        ((to, reminder),) = mails(talk, "closing-reminder")
        assert to == [REPORTER] and "Påminnelse" in text(reminder)
        assert talk.events("close-reminded") and talk.case(ref)["status"] == "til lukking"
        run(runner, "reminders", local(2026, 4, 9, 7, 0))
        assert not mails(talk, "closing-reminder")  # once
    else:
        ((to, notice),) = mails(talk, "status")
        assert set(to) == {REPORTER, SUPPLIER} and "innen 3 arbeidsdager" in text(notice)
        assert talk.case(ref)["status"] == "lukket"
        assert "by the gateway" in talk.events("close-confirmed")[0]["detail"]


def test_cooperation_is_escalated_in_two_steps_across_easter(fresh_db, ruleset):
    from gateway.rules.flows import Flow

    flow_a = ruleset.flows["a"]
    steps = dataclasses.replace(flow_a, later_steps=(("admins", 5),))
    ruleset = dataclasses.replace(ruleset, flows={**ruleset.flows, "a": steps})
    assert isinstance(steps, Flow)
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    ref, _ = report_at(
        talk, local(2026, 3, 25, 10, 0), subject="Samarbeidsproblem med leverandøren"
    )
    assert talk.case(ref)["escalate_due"] == "2026-04-13"  # ten working days across Easter
    run(runner, "escalation", local(2026, 4, 14, 7, 30))
    ((to, _),) = mails(talk, "escalation")
    assert to == ["ledelse@trygghet-agder.example"] and talk.case(ref)["escalation_step"] == 1
    # step 2: five working days after 13 April is 20 April; escalated the day after
    run(runner, "escalation", local(2026, 4, 20, 7, 30))
    assert mails(talk, "escalation") == []
    run(runner, "escalation", local(2026, 4, 21, 7, 30))
    ((to, msg),) = mails(talk, "escalation")
    assert to == ["admin@trygghet-agder.example"] and "trinn 2" in text(msg)
    assert talk.case(ref)["escalation_step"] == 2
    run(runner, "escalation", local(2026, 4, 22, 7, 30))
    assert mails(talk, "escalation") == []  # each step once
    details = [e["detail"] for e in talk.events("escalated")]
    assert details[0].startswith("step 1") and details[1].startswith("step 2")


def test_escalate_to_as_a_list_of_steps_in_rules_yaml(tmp_path):
    from test_rules_loader import SHIPPED

    from gateway.rules.loader import load_rules

    old = "software release\n    escalate_to: management"
    new = ("software release\n    escalate_to:\n      - management\n"
           "      - {to: admins, after: 5}")  # fmt: skip
    assert old in SHIPPED
    path = tmp_path / "rules.yaml"
    path.write_text(SHIPPED.replace(old, new), encoding="utf-8")
    flow = load_rules(path).flows["a"]
    assert (flow.escalate_to, flow.later_steps) == ("management", (("admins", 5),))
    path.write_text(SHIPPED.replace(old, new.replace("after: 5", "after: soon")), encoding="utf-8")
    from gateway.rules.loader import RulesError

    with pytest.raises(RulesError, match="step 2 needs after"):
        load_rules(path)


def test_an_urgent_case_whose_review_is_not_held_is_chased(fresh_db, ruleset):
    from test_followup import ADMIN, ON_CALL

    from gateway.cli.record import record_line

    record = dataclasses.replace(ruleset.record, review_remind_after=5)
    ruleset = dataclasses.replace(ruleset, record=record)
    talk, runner = Conversation(fresh_db, ruleset), runner_for(fresh_db, ruleset)
    ref, relay = report_at(talk, local(2026, 5, 12, 10, 0), subject="Alarmsentral nede, haster")
    at(talk, local(2026, 5, 12, 12, 0), reply(relay, SUPPLIER, "#lukk Byttet ruter."))
    assert talk.case(ref)["review_due_at"]
    talk.outgoing()
    # Tuesday 12 May + 5 working days: 14 May (Ascension) and 17 May are holidays -> 20 May
    for day in (18, 19):
        run(runner, "reminders", local(2026, 5, day, 7, 0))
        assert not mails(talk, "review-reminder")
    run(runner, "overdue-list", local(2026, 5, 19, 7, 15))
    assert not mails(talk, "overdue-list")
    run(runner, "reminders", local(2026, 5, 20, 7, 0))
    ((to, reminder),) = mails(talk, "review-reminder")
    assert sorted(to) == sorted([ADMIN, ON_CALL]) and "#gjennomgått" in text(reminder)
    run(runner, "reminders", local(2026, 5, 21, 7, 0))
    assert not mails(talk, "review-reminder")  # once
    run(runner, "overdue-list", local(2026, 5, 21, 7, 15))
    ((_, listed),) = mails(talk, "overdue-list")
    assert ref in text(listed) and "gjennomgang etter hastesak" in text(listed)
    assert "1 due, 0 done, 1 overdue" in record_line(fresh_db, local(2026, 5, 21, 8, 0).date())
    at(talk, local(2026, 5, 21, 9, 0), reply(reminder, ADMIN, "#gjennomgått Holdt i dag."))
    run(runner, "overdue-list", local(2026, 5, 22, 7, 15))
    assert not mails(talk, "overdue-list")
    assert "0 due, 1 done, 0 overdue" in record_line(fresh_db, local(2026, 5, 22, 8, 0).date())
