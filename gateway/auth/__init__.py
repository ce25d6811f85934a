"""OAuth2 sign-in (XOAUTH2) for IMAP intake and the SMTP smarthost: Microsoft 365 and Google.

Tokens come from MSAL (Entra ID client credentials) and google-auth (service account or
refresh token), are cached on disk with mode 0600 and renewed before they expire.
"""

from gateway.auth.config import AuthConfigError, OAuthSettings, parse_oauth
from gateway.auth.providers import build_provider
from gateway.auth.tokens import (
    AuthError,
    Token,
    TokenCache,
    TokenProvider,
    xoauth2_raw,
    xoauth2_string,
)

__all__ = [
    "AuthConfigError",
    "AuthError",
    "GoogleProvider",
    "MicrosoftProvider",
    "OAuthSettings",
    "Token",
    "TokenCache",
    "TokenProvider",
    "build_provider",
    "imap_login",
    "parse_oauth",
    "smtp_login",
    "xoauth2_raw",
    "xoauth2_string",
]


def __getattr__(name: str):
    """The providers load their libraries on first use (see gateway/auth/providers.py),
    and the logins theirs (imapclient, smtplib: 35 ms of every command that reads the
    settings, ``gateway status`` among them)."""
    if name in ("imap_login", "smtp_login"):
        from gateway.auth import login

        return getattr(login, name)
    if name == "GoogleProvider":
        from gateway.auth.google import GoogleProvider

        return GoogleProvider
    if name == "MicrosoftProvider":
        from gateway.auth.microsoft import MicrosoftProvider

        return MicrosoftProvider
    raise AttributeError(name)
