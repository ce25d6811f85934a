"""The Flask application: one context (rules, case log, renderer, sign-in state), the
checks every request passes (session, CSRF, security headers), and the pages' modules.

The pages' modules import from here; ``factory.create_app`` puts them together.
"""

from __future__ import annotations

import datetime as dt
import queue
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from flask import abort, current_app, g, request

from gateway.i18n import TEMPLATES
from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.store import open_db
from gateway.store.db import Database
from gateway.web.access import Viewer, viewer_for
from gateway.web.auth import Links, RateLimit, Sessions, same
from gateway.web.config import WebConfig
from gateway.web.entra import Entra

SESSION_COOKIE, CSRF_COOKIE = "avvik_session", "avvik_csrf"


class Pool:
    """Open case-log connections reused across requests (each request takes one)."""

    def __init__(self, path: Path | None):
        self.path, self._free = path, queue.SimpleQueue()

    def take(self) -> Database:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return open_db(self.path)

    def give(self, db: Database) -> None:
        self._free.put(db)


@dataclass
class Web:
    """What every page reads: the settings, the current rules, the renderer, sign-in."""

    settings: Settings
    rules: Callable[[], RuleSet]
    config: WebConfig
    renderer: Renderer
    on_queued: Callable[[], None] = lambda: None  # wakes the sender
    on_released: Callable[[], None] = lambda: None  # wakes the pipeline
    pool: Pool = field(init=False)
    links: Links = field(init=False)
    sessions: Sessions = field(init=False)
    per_address: RateLimit = field(init=False)
    per_client: RateLimit = field(init=False)
    entra: Entra | None = field(init=False)  # sign-in with a work account, if set

    def __post_init__(self) -> None:
        c = self.config
        self.pool = Pool(self.settings.database_path)
        self.links = Links(c.link_minutes)
        self.sessions = Sessions(c.session_hours)
        self.per_address = RateLimit(c.links_per_address, c.link_minutes * 60)
        self.per_client = RateLimit(c.requests_per_client, c.link_minutes * 60)
        redirect_uri = f"{c.url}/entra/svar"
        self.entra = Entra(c.entra, redirect_uri, c.link_minutes) if c.entra else None


def web() -> Web:
    return current_app.extensions["avvik"]


def db() -> Database:
    """The request's connection to the case log."""
    if "db" not in g:
        g.db = web().pool.take()
    return g.db


def viewer() -> Viewer:
    """The signed-in viewer; pages that need one are behind ``signed_in``."""
    found = g.get("viewer")
    if found is None:
        abort(401)
    return found


def _environment(settings: Settings, language: str) -> jinja2.Environment:
    """The pages' templates: the deployment's ``<lang>/web/`` first, then the built-ins;
    every value escaped (autoescape on), a missing one an error (StrictUndefined)."""
    folders = [TEMPLATES / language / "web"]
    if settings.templates_dir is not None:
        folders.insert(0, Path(settings.templates_dir) / language / "web")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, status: int = 200, **context):
    """A page of ``templates/<lang>/web/``, with what every page reads."""
    w = web()
    rules = w.rules()
    env = current_app.extensions.setdefault("avvik_env", {})
    if rules.language not in env:
        env[rules.language] = _environment(w.settings, rules.language)
    template = env[rules.language].get_template(name)
    hours = rules.hours

    def local(value: str | None, with_time: bool = True) -> str:
        if not value:
            return ""
        if len(value) == 10:  # a date
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        moment = hours.local(dt.datetime.fromisoformat(value))
        return moment.strftime("%d.%m.%Y %H:%M" if with_time else "%d.%m.%Y")

    base = {
        "viewer": g.get("viewer"),
        "csrf": csrf_token(),
        "local": local,
        "flow_labels": {k: v.label for k, v in rules.flows.items()},
        "party_names": {k: p.name for k, p in rules.directory.parties.items()},
        "path": request.path,
    }
    return template.render(base | context), status


def csrf_token() -> str:
    """The token every form carries: the session's, or the visitor's cookie before it."""
    session = g.get("session")
    if session is not None:
        return session.csrf
    if "csrf" not in g:
        g.csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    return g.csrf


def load_session() -> None:
    w = web()
    session = w.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        found = viewer_for(w.rules(), session.address)  # rights follow the current rules
        if found is not None:
            g.session, g.viewer = session, found


def check_csrf() -> None:
    """Every form carries the token; a POST without it (or with another) is refused."""
    if request.method != "POST":
        return
    if not same(request.form.get("csrf"), csrf_token()):
        abort(403)


def headers(response):
    """Security headers on every answer; the anonymous visitor's CSRF cookie."""
    h = response.headers
    h.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    )
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "no-referrer"  # a sign-in link never leaks in a Referer
    h["X-Frame-Options"] = "DENY"
    h.setdefault("Cache-Control", "no-store")
    if "session" not in g and "csrf" in g and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            g.csrf,
            httponly=True,
            samesite="Strict",
            secure=web().config.cookie_secure,
        )
    return response


def give_back(_exc) -> None:
    found = g.pop("db", None)
    if found is not None:
        web().pool.give(found)
