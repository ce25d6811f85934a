"""Google Workspace tokens for Gmail IMAP/SMTP, through google-auth.

Two ways, chosen by what the administrator gives us:

* a service account with domain-wide delegation (its JSON key, plus the mailbox address
  as ``subject``): the JWT-bearer grant, no user interaction, the usual choice for shared
  intake mailboxes; the token endpoint comes from the key's ``token_uri``;
* an OAuth client and a refresh token obtained once by a mailbox owner: the refresh-token
  grant against ``token_uri``.

Both ask for ``https://mail.google.com/``, the only scope Gmail's IMAP and SMTP accept.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from google.auth import exceptions as google_exceptions
from google.auth.transport.requests import Request
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from gateway.auth.config import GMAIL_SCOPE, GOOGLE_TOKEN_URI
from gateway.auth.http import TokenSession
from gateway.auth.tokens import (
    DEFAULT_REFRESH_MARGIN,
    AuthError,
    CachedProvider,
    Token,
    cache_key,
    scrub,
)


class GoogleProvider(CachedProvider):
    """Access tokens from a service account (``service_account_info``/``_file`` plus
    ``subject``) or from a refresh token (``refresh_token``, ``client_id``,
    ``client_secret``, ``token_uri``), cached until near expiry."""

    def __init__(
        self,
        *,
        service_account_info: Mapping[str, Any] | None = None,
        service_account_file: str | Path | None = None,
        subject: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_uri: str = GOOGLE_TOKEN_URI,
        scopes: tuple[str, ...] | list[str] = (GMAIL_SCOPE,),
        cache_path: str | Path | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        verify: bool | str = True,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(cache_path, refresh_margin)
        self.scopes = tuple(scopes)
        self.subject = subject
        if service_account_file is not None:
            if service_account_info is not None:
                raise ValueError("give service_account_info or service_account_file, not both")
            service_account_info = _read_key_file(Path(service_account_file))
        self._secrets: list[str | None] = [client_secret, refresh_token]
        self._credentials: service_account.Credentials | user_credentials.Credentials
        if service_account_info is not None:
            if refresh_token is not None:
                raise ValueError("give a service account or a refresh token, not both")
            self._use_service_account(dict(service_account_info), subject)
        elif refresh_token is not None:
            self._use_refresh_token(refresh_token, client_id, client_secret, token_uri)
        else:
            raise ValueError("GoogleProvider needs a service account or a refresh token")
        self._request = Request(TokenSession(verify, timeout))

    def _use_service_account(self, info: dict[str, Any], subject: str | None) -> None:
        """Sign in as the service account, on behalf of the mailbox user ``subject``."""
        if not subject:
            raise ValueError("a service account needs subject (the mailbox address)")
        self._secrets.append(str(info.get("private_key", "")))
        try:
            self._credentials = service_account.Credentials.from_service_account_info(
                info, scopes=list(self.scopes), subject=subject
            )
        except (ValueError, KeyError) as exc:
            raise AuthError(f"the Google service account key is not usable: {exc}") from exc
        self.account = info.get("client_email", "?")
        self.token_uri = str(info.get("token_uri", GOOGLE_TOKEN_URI))
        self.client_id = str(info.get("client_id", ""))

    def _use_refresh_token(
        self, refresh_token: str, client_id: str | None, client_secret: str | None, token_uri: str
    ) -> None:
        """Sign in with a user's refresh token and the OAuth client it was issued to."""
        if not client_id or not client_secret:
            raise ValueError("a refresh token needs client_id and client_secret")
        self._credentials = user_credentials.Credentials(
            None,
            refresh_token=refresh_token,
            client_id=client_id,
            client_secret=client_secret,
            token_uri=token_uri,
            scopes=list(self.scopes),
        )
        self.account, self.token_uri, self.client_id = "", token_uri, client_id

    def describe(self) -> str:
        if self.account:
            return f"Google service account {self.account} acting as {self.subject}"
        return f"Google OAuth client {self.client_id} (refresh token)"

    def _key(self) -> str:
        return cache_key(
            "google", self.token_uri, self.account, self.client_id, self.subject, *self.scopes
        )

    def _fetch(self) -> Token:
        creds = self._credentials
        try:
            creds.refresh(self._request)
        except google_exceptions.RefreshError as exc:
            said = self._clean(str(exc.args[0]) if exc.args else str(exc))
            raise AuthError(
                f"{self.describe()}: the token server {self.token_uri} refused: {said}",
                transient=bool(getattr(exc, "retryable", False)),
            ) from exc
        except (google_exceptions.TransportError, OSError) as exc:
            raise AuthError(
                f"{self.describe()}: cannot reach {self.token_uri}: {self._clean(str(exc))}",
                transient=True,
            ) from exc
        if not creds.token:
            raise AuthError(f"{self.describe()}: the token server sent no access token")
        expiry = creds.expiry  # naive UTC, as google-auth keeps it
        if expiry is None:
            expires_at = self._clock() + 3600
        else:
            expires_at = expiry.replace(tzinfo=dt.UTC).timestamp()
        return Token(creds.token, expires_at)

    def _clean(self, text: str) -> str:
        return re.sub(r"\s+", " ", scrub(text, self._secrets)).strip()[:600]


def _read_key_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuthError(f"cannot read the service account key {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise AuthError(f"the service account key {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise AuthError(f"{path} is not a Google service account key (type service_account)")
    return data
