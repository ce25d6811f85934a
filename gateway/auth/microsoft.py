"""Microsoft 365 (Entra ID) tokens for shared mailboxes: MSAL's client-credentials flow.

An administrator registers an app in Entra ID, grants it IMAP.AccessAsApp / SMTP.SendAsApp
and access to the mailboxes, and gives us tenant id, client id and a client secret or a
certificate. Tokens for ``https://outlook.office365.com/.default`` then work for IMAP and
SMTP XOAUTH2 with the mailbox address as user.

``authority_url`` replaces ``https://login.microsoftonline.com`` (national clouds, or a
local token server in the tests). MSAL only accepts https authorities, so a test server
must speak TLS; ``verify`` takes the path of its CA certificate. For an authority MSAL
does not know, instance discovery (a call to login.microsoftonline.com) is switched off.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import msal
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.auth.config import OUTLOOK_SCOPE
from gateway.auth.http import TokenSession
from gateway.auth.tokens import (
    DEFAULT_REFRESH_MARGIN,
    AuthError,
    CachedProvider,
    Token,
    cache_key,
    scrub,
)

PUBLIC_CLOUD = "https://login.microsoftonline.com"

# What an administrator should look at, by OAuth2 error code (Entra's AADSTS text follows).
_HINTS = {
    "invalid_client": "check the client secret or certificate of the app registration "
    "(it may have expired or been replaced)",
    "unauthorized_client": "check the client id and that the app exists in this tenant",
    "invalid_scope": "check the scope; mail needs https://outlook.office365.com/.default",
    "invalid_request": "check tenant id and client id",
}


class MicrosoftProvider(CachedProvider):
    """Access tokens for an Entra ID app (client credentials), cached until near expiry."""

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: str | None = None,
        certificate_path: str | Path | None = None,
        certificate_thumbprint: str | None = None,
        authority_url: str | None = None,
        scopes: tuple[str, ...] | list[str] = (OUTLOOK_SCOPE,),
        cache_path: str | Path | None = None,
        *,
        certificate_passphrase: str | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        verify: bool | str = True,
        timeout: float = 30.0,
    ) -> None:
        super().__init__(cache_path, refresh_margin)
        if not tenant_id or not client_id:
            raise ValueError("MicrosoftProvider needs tenant_id and client_id")
        if (client_secret is None) == (certificate_path is None):
            raise ValueError("MicrosoftProvider needs exactly one of client_secret, certificate")
        self.tenant_id, self.client_id = tenant_id, client_id
        self.scopes = tuple(scopes)
        self.instance = (authority_url or PUBLIC_CLOUD).rstrip("/")
        if urlparse(self.instance).scheme != "https":
            raise ValueError(f"authority_url must be an https URL (MSAL insists): {authority_url}")
        self.authority = f"{self.instance}/{tenant_id}"
        self.verify, self.timeout = verify, timeout
        self._secrets = [client_secret, certificate_passphrase]
        self.certificate_path = Path(certificate_path) if certificate_path else None
        self._credential: str | dict[str, str] = (
            client_secret
            if client_secret is not None
            else _certificate_credential(
                self.certificate_path, certificate_thumbprint, certificate_passphrase
            )
        )
        self._app: msal.ConfidentialClientApplication | None = None

    def describe(self) -> str:
        how = f"certificate {self.certificate_path}" if self.certificate_path else "client secret"
        where = "" if self.instance == PUBLIC_CLOUD else f" at {self.instance}"
        return f"Microsoft Entra ID tenant {self.tenant_id}, client {self.client_id} ({how}){where}"

    def _key(self) -> str:
        return cache_key("microsoft", self.authority, self.client_id, *self.scopes)

    def _application(self) -> msal.ConfidentialClientApplication:
        """Built on first use: MSAL fetches the tenant's OpenID configuration here."""
        if self._app is None:
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.client_id,
                    client_credential=self._credential,
                    authority=self.authority,
                    # Only login.microsoftonline.com & co. are known to MSAL; any other
                    # host (national cloud, test server) would trigger a discovery call.
                    instance_discovery=self.instance == PUBLIC_CLOUD,
                    http_client=TokenSession(self.verify, self.timeout),
                )
            except OSError as exc:  # requests' errors are OSErrors
                raise AuthError(
                    f"{self.describe()}: cannot reach {self.instance}: {exc}", transient=True
                ) from exc
            except ValueError as exc:  # unknown tenant, malformed authority or key
                # MSAL's own text is generic; what the server said is in the context.
                said = exc.__context__ if isinstance(exc.__context__, ValueError) else exc
                raise AuthError(
                    f"{self.describe()}: cannot use this tenant (check tenant_id and "
                    f"authority_url): {self._clean(str(said))}"
                ) from exc
        return self._app

    def _fetch(self) -> Token:
        app = self._application()
        # Our own cache decides when to ask; MSAL's in-memory cache would otherwise hand
        # back the very token the mail server just refused (MSAL has no force_refresh here).
        cache = app.token_cache
        for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(item)
        started = self._clock()
        try:
            result = app.acquire_token_for_client(scopes=list(self.scopes))
        except OSError as exc:
            raise AuthError(
                f"{self.describe()}: cannot reach the token endpoint: {exc}", transient=True
            ) from exc
        except ValueError as exc:  # e.g. a certificate MSAL cannot use
            raise AuthError(f"{self.describe()}: {self._clean(str(exc))}") from exc
        if not isinstance(result, dict) or "access_token" not in result:
            raise AuthError(self._refusal(result if isinstance(result, dict) else {}))
        return Token(result["access_token"], started + float(result.get("expires_in", 3600)))

    def _refusal(self, result: dict[str, object]) -> str:
        error = str(result.get("error") or "no access_token in the answer")
        text = self._clean(str(result.get("error_description") or ""))
        hint = _HINTS.get(error, "")
        return (
            f"{self.describe()}: the token server refused: {error}"
            + (f": {text}" if text else "")
            + (f" ({hint})" if hint else "")
        )

    def _clean(self, text: str) -> str:
        return re.sub(r"\s+", " ", scrub(text, self._secrets)).strip()[:600]


def _certificate_credential(
    path: Path | None, thumbprint: str | None, passphrase: str | None
) -> dict[str, str]:
    """MSAL's client_credential for a certificate: a .pfx/.p12 file, or a PEM file holding
    the private key and (normally) the certificate, from which MSAL takes the thumbprint."""
    assert path is not None
    if path.suffix.lower() in (".pfx", ".p12"):
        credential = {"private_key_pfx_path": str(path)}
        if passphrase:
            credential["passphrase"] = passphrase
        return credential
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise AuthError(f"cannot read the certificate file {path}: {exc.strerror}") from exc
    password = passphrase.encode() if passphrase else None
    try:
        key = serialization.load_pem_private_key(pem, password=password)
    except (ValueError, TypeError) as exc:
        raise AuthError(
            f"{path}: no usable private key in the PEM file (or a wrong passphrase): {exc}"
        ) from exc
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credential = {"private_key": key_pem}
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        certs = []
    if certs:
        credential["public_certificate"] = (
            certs[0].public_bytes(serialization.Encoding.PEM).decode()
        )
    if thumbprint:
        credential["thumbprint"] = thumbprint.replace(":", "").upper()
    if "public_certificate" not in credential and "thumbprint" not in credential:
        raise AuthError(
            f"{path}: the PEM file holds no certificate; add it, or set certificate_thumbprint"
        )
    return credential
