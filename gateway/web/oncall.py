"""The on-call duty's ``#vurdert`` and ``#haster`` from the case page: the same code as
by e-mail (``gateway/followup/commands.py``), in one write transaction."""

from __future__ import annotations

from gateway.followup import commands
from gateway.i18n import phrases
from gateway.store import write
from gateway.store.caselog import CaseRow
from gateway.store.db import Database


def _act(web, db: Database, who: str) -> commands._Act:
    rules = web.rules()
    return commands._Act(db, rules, web.renderer, who, None, phrases(rules.language))


def assess(web, db: Database, case: CaseRow, who: str, text: str) -> str:
    """``#vurdert <text>`` on the case; returns what was done, in words."""
    command = commands.FollowUpCommand("assess", case.reference, text, f"#vurdert {text}")
    with write(db):
        done, _refused = _act(web, db, who)(command, case)
    web.on_queued()
    return done


def upgrade(web, db: Database, case: CaseRow, who: str) -> str | None:
    """``#haster`` on the case (the receiving side gets the report at once); None when
    done, else why not, in words."""
    command = commands.FollowUpCommand("urgent", case.reference, "", "#haster")
    with write(db):
        _done, refused = _act(web, db, who)(command, case)
    web.on_queued()
    return refused
