"""Signing in and out: the address form, the one-time link, the session cookie.

The answer to the address form is the same page for any address, known or not, limited
or not: nobody learns from it which addresses exist. The mailed link opens a page with
a button; only pressing it signs in, so a mail scanner that follows links does not use
the link up.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Blueprint, g, redirect, request

from gateway.outbox.queue import enqueue
from gateway.store import event, write
from gateway.web.access import viewer_for
from gateway.web.app import CSRF_COOKIE, SESSION_COOKIE, db, render, web

pages = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str:
    """A redirect target inside this site, else the start page: a link can never send
    anyone off-site (no scheme, no host, no ``//`` or backslash tricks)."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
        or parts.scheme
        or parts.netloc
    ):
        return "/"
    return target


def client() -> str:
    return request.remote_addr or "?"


@pages.get("/logg-inn")
def sign_in_form():
    return render("sign_in.html", next=safe_next(request.args.get("neste")),
                  signed_out=request.args.get("ute") == "1",
                  entra=web().entra is not None)  # fmt: skip


@pages.post("/logg-inn")
def sign_in_request():
    """Mail a link if the address is known and not over its limit; answer the same."""
    w = web()
    if not w.per_client.allow("request:" + client()):
        return render("error.html", status=429, code=429)
    address = request.form.get("adresse", "").strip().lower()[:254]
    target = safe_next(request.form.get("neste"))
    rules = w.rules()
    if viewer_for(rules, address) is not None and w.per_address.allow(address):
        _mail_link(address, target)
    return render("link_sent.html")


def _mail_link(address: str, target: str) -> None:
    w = web()
    token = w.links.issue(address)
    url = f"{w.config.url}/logg-inn/{token}"
    if target != "/":
        url += "?neste=" + quote(target, safe="")
    out = w.renderer.message(
        "web/sign_in_link.txt.j2",
        {"url": url, "minutes": int(w.config.link_minutes)},
        purpose="web-sign-in",
        to=[address],
    )
    conn = db()
    with write(conn):
        enqueue(conn, out, w.settings.deliver_for_hours)
        event(conn, "web-link-sent", f"sign-in link to {address}")
    w.on_queued()


@pages.get("/logg-inn/<token>")
def link_page(token: str):
    """The page the mailed link opens: a button that signs in (the link stays unused)."""
    w = web()
    if not w.per_client.allow("link:" + client()) or w.links.peek(token) is None:
        return render("link_invalid.html", status=400)
    return render("link_confirm.html", token=token, next=safe_next(request.args.get("neste")))


@pages.post("/logg-inn/<token>")
def link_use(token: str):
    """Use the link up and start a session; a used or expired link is refused."""
    w = web()
    address = w.links.redeem(token) if w.per_client.allow("link:" + client()) else None
    response = begin_session(address, "link", request.form.get("neste")) if address else None
    return response or render("link_invalid.html", status=400)


def begin_session(address: str, how: str, target: str | None):
    """A session for ``address`` (signed in by ``how``) and the way to ``target``; None
    when rules.yaml does not know the address (any more)."""
    w = web()
    if viewer_for(w.rules(), address) is None:
        return None
    sid = w.sessions.start(address)
    conn = db()
    with write(conn):
        event(conn, "web-sign-in", f"{address} signed in ({how}) from {client()}")
    response = redirect(safe_next(target))
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=int(w.config.session_hours * 3600),
        httponly=True,
        secure=w.config.cookie_secure,
        samesite="Lax",
    )
    response.delete_cookie(CSRF_COOKIE)
    return response


@pages.post("/logg-ut")
def sign_out():
    w = web()
    w.sessions.end(request.cookies.get(SESSION_COOKIE))
    found = g.get("viewer")
    if found is not None:
        conn = db()
        with write(conn):
            event(conn, "web-sign-out", f"{found.address} signed out")
    response = redirect("/logg-inn?ute=1")
    response.delete_cookie(SESSION_COOKIE)
    return response
