"""XOAUTH2 logins for IMAP and SMTP with one retry on a fresh token.

A cached token can be refused before it expires (consent revoked, app disabled, secret
rotated and old tokens revoked). The first login uses the cached token; if the server
refuses it, we ask the token server for a new one (``force_refresh``) and try once more. A
second refusal is an :class:`AuthError` for the administrator, not a loop.
"""

from __future__ import annotations

import smtplib

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from gateway.auth.tokens import AuthError, TokenProvider, xoauth2_raw


def imap_login(client: IMAPClient, user: str, provider: TokenProvider) -> None:
    """Log ``client`` in as ``user`` with AUTHENTICATE XOAUTH2 (imapclient builds the string)."""
    for attempt in range(2):
        token = provider.token(force_refresh=attempt > 0)
        try:
            client.oauth2_login(user, token)
            return
        except LoginError as exc:
            if attempt > 0:
                raise AuthError(
                    f"IMAP server refused a new token for {user} from {provider.describe()}: "
                    f"{exc} (does the app have access to this mailbox?)"
                ) from exc


def smtp_login(conn: smtplib.SMTP, user: str, provider: TokenProvider) -> None:
    """AUTH XOAUTH2 on an SMTP connection (after EHLO/STARTTLS)."""
    conn.ehlo_or_helo_if_needed()
    for attempt in range(2):
        token = provider.token(force_refresh=attempt > 0)

        def answer(challenge: bytes | None = None, token: str = token) -> str:
            # After a refusal the server sends an error as a 334 challenge; the client
            # acknowledges it with an empty line and gets the final 535 (RFC 7628 3.2.3).
            return xoauth2_raw(user, token) if challenge is None else ""

        try:
            conn.auth("XOAUTH2", answer)
            return
        except smtplib.SMTPAuthenticationError as exc:
            if attempt > 0:
                said = exc.smtp_error.decode(errors="replace") if exc.smtp_error else ""
                raise AuthError(
                    f"SMTP server refused a new token for {user} from {provider.describe()}: "
                    f"{exc.smtp_code} {said} (may the app send as this mailbox?)"
                ) from exc
