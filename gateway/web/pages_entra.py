"""The pages of the sign-in with a work account (see ``entra.py``): off unless
``[web_entra]`` is set, when they answer 404 like any page that does not exist."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, make_response, redirect, request

from gateway.web.app import render, web
from gateway.web.entra import EntraSignInError
from gateway.web.pages_auth import begin_session, client, safe_next

ENTRA_COOKIE = "avvik_entra"
pages = Blueprint("entra", __name__)
log = logging.getLogger("gateway.web")


def _entra():
    found = web().entra
    if found is None:
        abort(404)
    return found


@pages.get("/entra/logg-inn")
def begin():
    """Off to Microsoft's sign-in page, with a cookie that names this sign-in."""
    entra = _entra()
    if not web().per_client.allow("entra:" + client()):
        return render("error.html", status=429, code=429)
    key, url = entra.begin(safe_next(request.args.get("neste")))
    response = redirect(url)
    # Lax: the cookie comes back on the top-level redirect from Microsoft, and only then.
    response.set_cookie(ENTRA_COOKIE, key, max_age=int(entra.seconds), httponly=True,
                        secure=web().config.cookie_secure, samesite="Lax")  # fmt: skip
    return response


@pages.get("/entra/svar")
def answer():
    """Back from Microsoft: a session for a known address, else the refusal page."""
    entra = _entra()
    try:
        address, target = entra.finish(request.cookies.get(ENTRA_COOKIE), request.args.to_dict())
    except EntraSignInError as exc:
        log.warning("web sign-in with Entra ID refused: %s", exc)
        return _refused()
    response = begin_session(address, "Entra ID", target)
    if response is None:
        log.warning("web sign-in with Entra ID refused: %s is not in rules.yaml", address)
        return _refused()
    response.delete_cookie(ENTRA_COOKIE)
    return response


def _refused():
    response = make_response(render("entra_refused.html", status=403))
    response.delete_cookie(ENTRA_COOKIE)
    return response
