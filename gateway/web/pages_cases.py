"""The case list and the case page, with downloads and the on-call duty's decisions.

Every case page viewed and every download is an event in the case log, with who.
A case the viewer may not see answers 404, exactly as one that does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import wraps

from flask import Blueprint, Response, abort, g, redirect, request

from gateway.caselog import original_text
from gateway.privacy import confidential
from gateway.store import event, write
from gateway.store.caselog import CaseRow, case_by_reference, events_of, messages_of
from gateway.store.states import CaseStatus, Direction
from gateway.store.web import CaseFilter, case_page, informed
from gateway.web import access
from gateway.web.app import db, render, viewer, web
from gateway.web.files import download, files_of
from gateway.web.oncall import assess, upgrade

pages = Blueprint("cases", __name__)


def signed_in(fn):
    """A page for signed-in viewers only (else to the sign-in page)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        if g.get("viewer") is None:
            abort(401)
        return fn(*args, **kwargs)

    return wrapper


@pages.get("/")
@signed_in
def home():
    return redirect("/saker" if viewer().sees_cases else "/statistikk")


def _filter(rules, v: access.Viewer) -> CaseFilter:
    a = request.args
    today = rules.hours.local(dt.datetime.now(dt.UTC)).date().isoformat()
    return CaseFilter(
        status=a.get("status", ""),
        flow=a.get("flyt", ""),
        party=a.get("part", ""),
        municipality=a.get("kommune", ""),
        kind=a.get("kategori", ""),
        overdue=a.get("forfalt") == "1",
        text=a.get("sok", "").strip()[:200],
        text_in_messages=not v.redacted,  # never a hit on a text they may not read
        today=today,
    )


@pages.get("/saker")
@signed_in
def case_list():
    v, rules = viewer(), web().rules()
    scope = access.scope_of(rules, v)
    if scope is None:
        abort(404)
    found = _filter(rules, v)
    try:
        page = int(request.args.get("side", "1"))
    except ValueError:
        page = 1
    result = case_page(db(), scope, found, page)
    args = {k: val for k, val in request.args.items() if k != "side" and val}
    return render(
        "cases.html",
        page=result,
        filter=found,
        args=args,
        statuses=list(CaseStatus),
        flows=list(rules.flows),
        parties=sorted(v.parties) if not (v.admin or v.on_call) else list(rules.directory.parties),
        municipalities=list(rules.municipality_names),
        subject=lambda c: access.shown_text(rules, v, c.subject),
    )


def visible_case(reference: str) -> CaseRow:
    """The case if this viewer may see it; 404 otherwise, as for no case at all."""
    v, rules = viewer(), web().rules()
    case = case_by_reference(db(), reference.upper())
    if case is None or access.scope_of(rules, v) is None:
        abort(404)
    scope = access.scope_of(rules, v)
    if not access.may_see(rules, v, case, informed(db(), case.id, scope.addresses)):
        abort(404)
    return case


@pages.get("/saker/<reference>")
@signed_in
def case_page_view(reference: str):
    v, rules, conn = viewer(), web().rules(), db()
    case = visible_case(reference)
    original = request.args.get("original") == "1" and v.admin
    scope = access.scope_of(rules, v)
    party = access.is_party_of(v, case, informed(conn, case.id, scope.addresses))
    hide = _reporter_mask(rules, case, v, original)  # a confidential reporter: the label
    messages = []
    for m in messages_of(conn, case.id):
        text = access.shown_text(rules, v, m.new_text)
        if original and m.direction == Direction.IN:
            text = original_text(conn, m.id) or ""
        files = files_of(conn, rules, v, m.id) if m.direction == Direction.IN else []
        if hide:
            files = [] if m.from_addr == case.reporter_address else files
            m = dataclasses.replace(m, from_addr=hide(m.from_addr), to_addrs=hide(m.to_addrs))
            text = hide(text)
        messages.append({"m": m, "text": text, "files": files})
    events = [
        dataclasses.replace(
            e,
            detail=hide(access.shown_text(rules, v, e.detail))
            if hide
            else access.shown_text(rules, v, e.detail),
        )
        for e in events_of(conn, case.id)
        if (party or e.kind not in access.CONFIDENTIAL_EVENTS)
        and e.kind not in access.ACCESS_EVENTS
    ]
    timeline = sorted(
        [{"at": m["m"].received_at or "", "message": m} for m in messages]
        + [{"at": e.at, "event": e} for e in events],
        key=lambda item: item["at"],
    )
    with write(conn):
        event(conn, "web-case-viewed", f"{v.address}", case_id=case.id)
        if original:  # as ``gateway cases show --original`` is logged
            event(conn, "original-viewed", f"web, by {v.address}", case_id=case.id)
    return render(
        "case.html",
        case=case,
        subject=access.shown_text(rules, v, case.subject),
        measure=access.shown_text(rules, v, case.measure),
        timeline=timeline,
        original=original,
        may_act=(v.on_call or v.admin) and case.status != CaseStatus.CLOSED,
        notice=request.args.get("melding", ""),
    )


def _reporter_mask(rules, case: CaseRow, v: access.Viewer, original: bool):
    """The label in place of a confidential case's reporter, unless this viewer is one
    of the profile's readers or an administrator viewing the originals (logged)."""
    return confidential.mask(rules, bool(case.confidential), case.reporter_address,
                             case.reporter_name, v.address, original)  # fmt: skip


@pages.get("/saker/<reference>/vedlegg/<int:message_id>/<int:index>")
@signed_in
def attachment(reference: str, message_id: int, index: int):
    v, rules, conn = viewer(), web().rules(), db()
    case = visible_case(reference)
    if not any(m.id == message_id for m in messages_of(conn, case.id)):
        abort(404)
    sender = next(m.from_addr for m in messages_of(conn, case.id) if m.id == message_id)
    if _reporter_mask(rules, case, v, False) and sender == case.reporter_address:
        abort(404)  # a confidential reporter's attachments: the readers' only
    found = download(conn, rules, v, message_id, index)
    if found is None:
        abort(404)
    name, data = found
    with write(conn):
        event(conn, "web-download", f"{name} by {v.address}", case_id=case.id,
              message_id=message_id)  # fmt: skip
    response = Response(data, mimetype="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


@pages.post("/saker/<reference>/vurdert")
@signed_in
def case_assess(reference: str):
    v = viewer()
    if not (v.on_call or v.admin):
        abort(404)
    case = visible_case(reference)
    text = request.form.get("vurdering", "").strip()[:2000]
    if not text:
        return redirect(f"/saker/{case.reference}?melding=mangler")
    assess(web(), db(), case, v.address, text)
    return redirect(f"/saker/{case.reference}?melding=vurdert")


@pages.post("/saker/<reference>/haster")
@signed_in
def case_urgent(reference: str):
    v = viewer()
    if not (v.on_call or v.admin):
        abort(404)
    case = visible_case(reference)
    refused = upgrade(web(), db(), case, v.address)
    return redirect(f"/saker/{case.reference}?melding=" + ("avvist" if refused else "haster"))
