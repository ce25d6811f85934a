"""The token provider that a mailbox's or the smarthost's OAuth2 settings make.

Apart from gateway/auth/config.py, which the provider modules import for their defaults:
config imports no provider, and this module imports them only when one is built. They
load MSAL or google-auth (with requests and cryptography), tens of MB that a gateway
signing in with passwords never needs.
"""

from __future__ import annotations

from pathlib import Path

from gateway.auth.config import GMAIL_SCOPE, OUTLOOK_SCOPE, OAuthSettings
from gateway.auth.tokens import TokenProvider


def build_provider(o: OAuthSettings, default_cache: Path | None = None) -> TokenProvider:
    """The provider for these settings; the token is cached in ``o.token_cache`` or else in
    ``default_cache`` (e.g. ``data_dir / "tokens" / f"{mailbox}.json"``, data_dir is 0700)."""
    from gateway.auth.google import GoogleProvider  # loaded when first used, see above
    from gateway.auth.microsoft import MicrosoftProvider

    cache = o.token_cache or default_cache
    verify: bool | str = str(o.ca_file) if o.ca_file else True
    if o.kind == "oauth2-microsoft":
        return MicrosoftProvider(
            o.tenant_id,
            o.client_id,
            client_secret=o.client_secret or None,
            certificate_path=o.certificate_file,
            certificate_thumbprint=o.certificate_thumbprint or None,
            authority_url=o.authority_url or None,
            scopes=o.scopes or (OUTLOOK_SCOPE,),
            cache_path=cache,
            certificate_passphrase=o.certificate_passphrase or None,
            verify=verify,
        )
    if o.service_account_file:
        return GoogleProvider(
            service_account_file=o.service_account_file,
            subject=o.user,
            scopes=o.scopes or (GMAIL_SCOPE,),
            cache_path=cache,
            verify=verify,
        )
    return GoogleProvider(
        refresh_token=o.refresh_token,
        client_id=o.client_id,
        client_secret=o.client_secret,
        token_uri=o.token_uri,
        scopes=o.scopes or (GMAIL_SCOPE,),
        cache_path=cache,
        verify=verify,
    )
