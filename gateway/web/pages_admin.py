"""The administrators' pages: the triage queue, the quarantine and the gateway's status.

Decisions go through the same code as by e-mail and ``gateway triage decide`` /
``gateway quarantine release|drop``, with the administrator's address as who. Anyone
else gets 404 here: the pages do not exist for them.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, g, redirect, request

from gateway import quarantine, triage
from gateway.health import status
from gateway.i18n import phrases
from gateway.stage import StageContext
from gateway.store import write
from gateway.store.quarantine import list_quarantined
from gateway.web.app import db, render, viewer, web

pages = Blueprint("admin", __name__)


def admins_only(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        if g.get("viewer") is None:
            abort(401)
        if not viewer().admin:
            abort(404)
        return fn(*args, **kwargs)

    return wrapper


@pages.get("/triage")
@admins_only
def triage_list():
    rules = web().rules()
    return render(
        "triage.html",
        items=triage.waiting(db()),
        flows=list(rules.flows),
        notice=request.args.get("melding", ""),
        error="",
    )


@pages.post("/triage/<int:row_id>")
@admins_only
def triage_decide(row_id: int):
    w, conn = web(), db()
    rules = w.rules()
    action = request.form.get("handling", "")
    value = request.form.get("verdi", "").strip()[:500]
    if action not in ("flow", "send", "ignore", "case") or not value:
        return _triage_error(phrases(rules.language)("triage.no_message", number=row_id))
    if not any(item.id == row_id for item in triage.waiting(conn)):
        abort(404)
    stage = StageContext(conn, rules, w.settings, w.renderer)
    try:
        with write(conn):
            done = triage.decide_triaged(stage, row_id, action, value, viewer().address)
    except triage.TriageError as exc:
        return _triage_error(exc.shown(phrases(rules.language)))
    w.on_queued()
    return render("triage.html", items=triage.waiting(conn), flows=list(rules.flows),
                  notice=done, error="")  # fmt: skip


def _triage_error(why: str):
    rules = web().rules()
    return render("triage.html", status=400, items=triage.waiting(db()),
                  flows=list(rules.flows), notice="", error=why)  # fmt: skip


@pages.get("/karantene")
@admins_only
def quarantine_list():
    return render("quarantine.html", items=list_quarantined(db()),
                  notice=request.args.get("melding", ""))  # fmt: skip


@pages.post("/karantene/<int:row_id>")
@admins_only
def quarantine_decide(row_id: int):
    who, action = viewer().address, request.form.get("handling")
    why = request.form.get("grunn", "").strip()[:500] or f"dropped by {who}"
    try:
        if action == "slipp":
            quarantine.release(db(), row_id, who)
            web().on_released()
        elif action == "forkast":
            quarantine.drop(db(), row_id, why, who)
        else:
            abort(400)
    except quarantine.NotQuarantined:
        abort(404)
    return redirect(f"/karantene?melding={action}")


@pages.get("/status")
@admins_only
def gateway_status():
    return render("status.html", report=status(db()))
