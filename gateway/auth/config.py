"""OAuth2 settings of one IMAP mailbox or the smarthost, and the provider they make.

``parse_oauth`` takes the keys below out of a ``[[imap]]`` or ``[smarthost]`` table (what is
left is for the existing dataclasses), so gateway/settings.py only needs to call it and keep
the result. Secrets follow the settings rule: never literally in the file, only by
``*_env`` (a variable name) or ``*_file`` (a path).

    auth = "oauth2-microsoft"            # or "oauth2-google"; "password" (default): no OAuth2
    tenant_id = "..."; client_id = "..."
    client_secret_env = "AVVIK_M365_SECRET"      # or client_secret_file, or:
    certificate_file = "/etc/avvik/app.pem"      # PEM key + certificate, or .pfx
    certificate_thumbprint = "..."               # optional; taken from the certificate
    certificate_passphrase_env = "..."           # optional
    authority_url = "https://login.microsoftonline.us"   # optional, national clouds
    service_account_file = "/etc/avvik/sa.json"  # Google, with the mailbox user as subject
    refresh_token_env = "..."  (or _file), client_id, client_secret_env, token_uri  # Google
    scopes = ["..."]; token_cache = "var/tokens/intake.json"; ca_file = "..."
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The provider modules (gateway/auth/providers.py builds them) import these; this module
# imports none of them, so reading the settings never loads MSAL or google-auth.
GMAIL_SCOPE = "https://mail.google.com/"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
OUTLOOK_SCOPE = "https://outlook.office365.com/.default"

AUTH_KINDS = ("password", "oauth2-microsoft", "oauth2-google")


class AuthConfigError(ValueError):
    """An OAuth2 setting is wrong; the message names where and what."""


@dataclass(frozen=True)
class OAuthSettings:
    kind: str  # oauth2-microsoft or oauth2-google
    user: str  # the mailbox address: XOAUTH2 user, and the Google service account subject
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    certificate_file: Path | None = None
    certificate_thumbprint: str = ""
    certificate_passphrase: str = field(default="", repr=False)
    authority_url: str = ""
    service_account_file: Path | None = None
    refresh_token: str = field(default="", repr=False)
    token_uri: str = GOOGLE_TOKEN_URI
    scopes: tuple[str, ...] = ()
    token_cache: Path | None = None
    ca_file: Path | None = None


def _secret(section: dict[str, Any], name: str, where: str, environ: Mapping[str, str]) -> str:
    if name in section:
        raise AuthConfigError(
            f"{where}: '{name}' is not allowed in a settings file; "
            f"use {name}_env (a variable name) or {name}_file (a path)"
        )
    if env := section.pop(f"{name}_env", None):
        if env not in environ:
            raise AuthConfigError(f"{where}: environment variable {env} ({name}_env) is not set")
        return environ[env]
    if path := section.pop(f"{name}_file", None):
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise AuthConfigError(f"{where}: cannot read {name}_file {path}: {exc}") from exc
    return ""


def parse_oauth(
    section: dict[str, Any], where: str, environ: Mapping[str, str] | None = None
) -> OAuthSettings | None:
    """Pop the OAuth2 keys from ``section`` (changed in place); None for password logins."""
    environ = os.environ if environ is None else environ
    kind = section.pop("auth", "password")
    if kind not in AUTH_KINDS:
        raise AuthConfigError(f"{where}: auth must be one of {', '.join(AUTH_KINDS)}, not {kind!r}")
    if kind == "password":
        return None
    values: dict[str, Any] = {"kind": kind, "user": str(section.get("user", ""))}
    for name in ("client_secret", "certificate_passphrase", "refresh_token"):
        values[name] = _secret(section, name, where, environ)
    for name in ("tenant_id", "client_id", "certificate_thumbprint", "authority_url", "token_uri"):
        if name in section:
            values[name] = str(section.pop(name))
    for name in ("certificate_file", "service_account_file", "token_cache", "ca_file"):
        if name in section:
            values[name] = Path(section.pop(name))
    if "scopes" in section:
        values["scopes"] = tuple(section.pop("scopes"))
    oauth = OAuthSettings(**values)
    _check(oauth, where)
    return oauth


def _check(o: OAuthSettings, where: str) -> None:
    if not o.user:
        raise AuthConfigError(f"{where}: OAuth2 needs user (the mailbox address)")
    if o.kind == "oauth2-microsoft":
        if not o.tenant_id or not o.client_id:
            raise AuthConfigError(f"{where}: auth = {o.kind} needs tenant_id and client_id")
        if bool(o.client_secret) == bool(o.certificate_file):
            raise AuthConfigError(
                f"{where}: auth = {o.kind} needs client_secret_env/_file or certificate_file "
                "(one of them)"
            )
    elif bool(o.service_account_file) == bool(o.refresh_token):
        raise AuthConfigError(
            f"{where}: auth = {o.kind} needs service_account_file or refresh_token_env/_file "
            "(one of them)"
        )
    elif o.refresh_token and (not o.client_id or not o.client_secret):
        raise AuthConfigError(f"{where}: a refresh token needs client_id and client_secret_env")


@dataclass(frozen=True)
class EntraSignIn:
    """The web view's optional sign-in with a work account (``[web_entra]``): an app
    registration in the deployment's own Entra ID tenant, with the redirect URI
    ``<web_base_url>/entra/svar`` and a client secret (by ``_env`` or ``_file``)."""

    tenant_id: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    authority_url: str = "https://login.microsoftonline.com"
    ca_file: Path | None = None  # a private CA (tests); default: the system's


def parse_entra_sign_in(
    section: dict[str, Any], where: str, environ: Mapping[str, str] | None = None
) -> EntraSignIn:
    """``[web_entra]``: tenant_id, client_id, client_secret_env/_file; authority_url, ca_file."""
    environ = os.environ if environ is None else environ
    section = dict(section)
    secret = _secret(section, "client_secret", where, environ)
    values = {k: str(section.pop(k)) for k in ("tenant_id", "client_id", "authority_url")
              if k in section}  # fmt: skip
    if "ca_file" in section:
        values["ca_file"] = Path(section.pop("ca_file"))
    if section:
        raise AuthConfigError(f"{where}: unknown setting(s) {', '.join(sorted(section))}")
    if not values.get("tenant_id") or not values.get("client_id") or not secret:
        raise AuthConfigError(f"{where}: needs tenant_id, client_id and client_secret_env/_file")
    if not values.get("authority_url", "https://").startswith("https://"):
        raise AuthConfigError(f"{where}: authority_url must be an https URL")
    return EntraSignIn(client_secret=secret, **values)
