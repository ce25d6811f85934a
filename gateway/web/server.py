"""Serving the web view: a threaded WSGI server in a thread of its own (inside
``gateway serve``), or in the foreground (``gateway web``, for a separate host).

Werkzeug's server answers each request in a thread; it listens on loopback by default,
behind a reverse proxy that terminates TLS (README, "The web view").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, make_server

from gateway.render import Renderer
from gateway.rules.base import RuleSet
from gateway.settings import Settings
from gateway.web.app import Web
from gateway.web.config import WebConfig
from gateway.web.factory import create_app

log = logging.getLogger("gateway.web")


def make_web(
    settings: Settings,
    rules: Callable[[], RuleSet],
    config: WebConfig | None = None,
    on_queued: Callable[[], None] = lambda: None,
    on_released: Callable[[], None] = lambda: None,
) -> Web:
    """The web view's context for a gateway (its own renderer: it renders in its threads)."""
    renderer = Renderer(settings.gateway_address, settings.gateway_name,
                        settings.templates_dir, rules=rules)  # fmt: skip
    return Web(settings, rules, config or WebConfig.from_settings(settings), renderer,
               on_queued, on_released)  # fmt: skip


def start(web: Web) -> BaseWSGIServer:
    """Listen on the configured host and port and serve in a daemon thread; returns the
    server (``shutdown()`` stops it; ``server_port`` is the port when 0 was asked)."""
    server = make_server(web.config.host, web.config.port or 0, create_app(web), threaded=True)
    threading.Thread(target=server.serve_forever, name="web", daemon=True).start()
    log.info("web view on http://%s:%s/", web.config.host, server.server_port)
    return server
