"""The application put together: the context, the checks every request passes (from
``app.py``), the pages' blueprints and the error pages."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from flask import Flask, redirect, request
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.web import app as base
from gateway.web import pages_admin, pages_auth, pages_cases, pages_entra, pages_stats
from gateway.web.app import Web, render


def create_app(web_context: Web) -> Flask:
    """The application for one gateway (see ``Web``); a server serves it as it is."""
    app = Flask(__name__, static_folder=str(Path(__file__).parent / "static"))
    app.extensions["avvik"] = web_context
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # forms only: no uploads
    if web_context.config.trusted_proxies:
        n = web_context.config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore
    app.before_request(base.load_session)
    app.before_request(base.check_csrf)
    app.after_request(base.headers)
    app.teardown_request(base.give_back)
    for module in (pages_auth, pages_entra, pages_cases, pages_admin, pages_stats):
        app.register_blueprint(module.pages)
    for status in (400, 401, 403, 404, 405, 413, 429):
        app.register_error_handler(status, _error)
    return app


def to_sign_in():
    """Not signed in: to the sign-in page, coming back here afterwards."""
    return redirect("/logg-inn?neste=" + quote(request.full_path.rstrip("?"), safe=""))


def _error(exc):
    code = getattr(exc, "code", 500)
    if code == 401:
        return to_sign_in()
    return render("error.html", status=code, code=code)
