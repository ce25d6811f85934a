"""Signing in with a work account: OpenID Connect with Microsoft Entra ID (optional).

For deployments on Microsoft 365, staff can sign in with the account they already use,
instead of waiting for a link by mail. MSAL runs the authorization code flow with PKCE
and checks ``state``; since MSAL 1.38 it no longer checks the ID token, so this module
does: the token must name our app (``aud``), our tenant (``tid`` and ``iss``) and the
``nonce`` of this very sign-in, and must not have expired. The token comes straight
from the token endpoint over TLS, which OpenID Connect Core (3.1.3.7, point 6) accepts
in place of checking its signature.

The address is the token's ``preferred_username`` (in a single tenant, the user's UPN,
which the tenant's administrators set), and the same rule holds as for the link: only
an address that ``rules.yaml`` knows gets a session. Sign-ins that are under way are
kept in this process's memory, like the links, for ``link_minutes``.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.auth.config import EntraSignIn

SKEW_S = 120  # clock difference allowed between us and Entra ID


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to Entra ID and not yet back: MSAL's flow and where to go next."""

    flow: dict[str, Any]
    target: str
    expires: float


class EntraSignInError(Exception):
    """The answer from Entra ID does not sign anyone in; the message says why (for the log)."""


class Entra:
    """The app registration, and the sign-ins under way (by an unguessable cookie)."""

    def __init__(self, config: EntraSignIn, redirect_uri: str, minutes: float,
                 clock: Callable[[], float] = time.time):  # fmt: skip
        self.config, self.redirect_uri = config, redirect_uri
        self.seconds, self.clock = minutes * 60, clock
        self.authority = f"{config.authority_url.rstrip('/')}/{config.tenant_id}"
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()
        self._app = None

    def app(self):
        """MSAL's client, made on first use (reading the settings never loads MSAL)."""
        if self._app is None:
            import msal

            from gateway.auth.http import TokenSession
            from gateway.auth.microsoft import PUBLIC_CLOUD

            verify = str(self.config.ca_file) if self.config.ca_file else True
            self._app = msal.ConfidentialClientApplication(
                self.config.client_id,
                client_credential=self.config.client_secret,
                authority=self.authority,
                # Only Microsoft's own hosts are known to MSAL (see auth/microsoft.py).
                instance_discovery=self.config.authority_url.rstrip("/") == PUBLIC_CLOUD,
                http_client=TokenSession(verify),
            )
        return self._app

    def begin(self, target: str) -> tuple[str, str]:
        """Start a sign-in: (the cookie that names it, the URL to send the browser to)."""
        with warnings.catch_warnings():
            # MSAL recommends form_post; the answer comes as a query on a top-level GET
            # instead, since only then does the SameSite=Lax cookie naming the sign-in
            # come with it (state, nonce and PKCE guard the code either way).
            warnings.simplefilter("ignore", UserWarning)
            flow = self.app().initiate_auth_code_flow([], redirect_uri=self.redirect_uri)
        key = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for k in [k for k, v in self._pending.items() if v.expires <= now]:
                del self._pending[k]
            self._pending[_hash(key)] = Pending(flow, target, now + self.seconds)
        return key, flow["auth_uri"]

    def finish(self, key: str | None, answer: dict[str, str]) -> tuple[str, str]:
        """The signed-in address and the target, from Entra ID's answer; a sign-in is
        used once. Raises EntraSignInError when the answer signs nobody in."""
        with self._lock:
            pending = self._pending.pop(_hash(key or ""), None)
        if pending is None or pending.expires <= self.clock():
            raise EntraSignInError("no sign-in under way for this browser, or it expired")
        try:
            result = self.app().acquire_token_by_auth_code_flow(pending.flow, answer)
        except (ValueError, RuntimeError) as exc:  # MSAL: state or nonce mismatch
            raise EntraSignInError(f"answer refused by MSAL: {exc}") from exc
        if "error" in result:
            raise EntraSignInError(f"{result['error']}: {result.get('error_description', '')}")
        claims = result.get("id_token_claims") or {}
        # MSAL sends the SHA-256 of the flow's nonce, and the token carries that.
        nonce = hashlib.sha256(str(pending.flow.get("nonce", "")).encode()).hexdigest()
        return self.address_of(claims, nonce), pending.target

    def address_of(self, claims: dict[str, Any], nonce: str) -> str:
        """The address an ID token speaks for, after checking it is meant for us."""
        tenant, now = self.config.tenant_id, self.clock()
        wrong = [
            ("aud", claims.get("aud") != self.config.client_id),
            ("tid", claims.get("tid") != tenant),
            ("iss", claims.get("iss") != f"{self.authority}/v2.0"),
            ("nonce", not nonce or claims.get("nonce") != nonce),
            ("exp", float(claims.get("exp", 0)) + SKEW_S < now),
        ]
        if bad := [name for name, is_wrong in wrong if is_wrong]:
            raise EntraSignInError(f"ID token not for this sign-in: {', '.join(bad)}")
        address = str(claims.get("preferred_username") or claims.get("email") or "")
        if "@" not in address:
            raise EntraSignInError("ID token names no e-mail address")
        return address.strip().lower()


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
