"""The web view's settings: where it listens, how long links and sessions live.

Read from the gateway's Settings (``web_host``, ``web_port``, ``web_base_url``,
``web_link_minutes``, ``web_session_hours``, ``web_cookie_secure``,
``web_trusted_proxies``, ``web_entra``) with these defaults when the Settings do not have them, so
the web view runs before and after they are added there.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.config import EntraSignIn
from gateway.settings import Settings


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int | None = None  # None: the web view is off in ``gateway serve``
    # The address people reach the web view at, as the sign-in link names it. Never
    # taken from the request: a forged Host header would mail a link to elsewhere.
    base_url: str = ""
    link_minutes: float = 15.0
    session_hours: float = 8.0
    cookie_secure: bool = True  # False only for plain http on loopback (tests)
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-For counts
    links_per_address: int = 5  # sign-in links per address per link lifetime
    requests_per_client: int = 20  # sign-in requests per client per link lifetime
    entra: EntraSignIn | None = None  # optional sign-in with a work account (web/entra.py)

    @property
    def url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port or 8080}").rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> WebConfig:
        """The web settings of ``settings`` (absent ones default), then ``overrides``."""
        values = {}
        for name in cls.__dataclass_fields__:
            value = getattr(settings, f"web_{name}", None)
            if value is not None:
                values[name] = value
        return cls(**(values | overrides))
