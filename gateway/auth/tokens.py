"""OAuth2 access tokens for IMAP and SMTP (XOAUTH2): the provider protocol, errors, disk cache.

Microsoft 365 and Google Workspace accept only OAuth2 on IMAP and SMTP. A provider hands out
an access token; it keeps the token in memory and, when given a ``cache_path``, in a JSON
file only the gateway's user can read (mode 0600), so a restart does not ask the token
server again. A token is reused until ``refresh_margin`` seconds before it expires;
``token(force_refresh=True)`` skips the cache, for when the mail server refused the token
(revoked consent, disabled app) although it had not yet expired.

The IMAP side needs no helper of ours: ``IMAPClient.oauth2_login(user, token)`` builds and
sends the XOAUTH2 string itself (see also :func:`gateway.auth.login.imap_login`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

log = logging.getLogger("gateway.auth")

DEFAULT_REFRESH_MARGIN = 60.0  # seconds before expiry at which a cached token is renewed
CACHE_MODE = 0o600


class AuthError(Exception):
    """A token could not be had. The message says which provider, which tenant/client and
    what the token server answered, and never contains a secret. ``transient`` is true when
    the server could not be reached (try again later), false when it refused (fix settings).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@runtime_checkable
class TokenProvider(Protocol):
    """Something that hands out OAuth2 access tokens for one mailbox or smarthost."""

    def token(self, force_refresh: bool = False) -> str:
        """A valid access token; ``force_refresh`` asks the token server for a new one."""
        ...

    def describe(self) -> str:
        """Who we are at the token server (provider, tenant, client), for log lines."""
        ...


def xoauth2_raw(user: str, token: str) -> str:
    """The XOAUTH2 initial client response, *not* base64-encoded.

    Use this with ``smtplib.SMTP.auth("XOAUTH2", ...)`` and ``imaplib.authenticate``: both
    base64-encode what the callback returns, so a pre-encoded string would be encoded twice.
    """
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 string as it goes on the wire: ``base64(user=..^Aauth=Bearer ..^A^A)``.

    For raw protocol use, e.g. ``smtp.docmd("AUTH", "XOAUTH2 " + xoauth2_string(u, t))``.
    """
    return base64.b64encode(xoauth2_raw(user, token).encode()).decode("ascii")


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every (non-trivial) secret replaced, for messages built from replies."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class Token:
    """An access token and when it stops working (seconds since the epoch)."""

    access_token: str = field(repr=False)
    expires_at: float

    def fresh(self, margin: float, now: float) -> bool:
        return now < self.expires_at - margin


class TokenCache:
    """One token in a JSON file readable by the gateway's user only.

    The file is written to a temporary file made with ``os.open(..., 0o600)`` and renamed
    over the old one, so a reader never sees half a file and the token is never readable by
    others, not even for a moment. ``key`` identifies the provider settings: a file written
    for another tenant, client or scope is ignored. A file that others can read, or that
    belongs to another user, is ignored too (and replaced on the next save).
    """

    def __init__(self, path: Path | str, key: str) -> None:
        self.path = Path(path)
        self.key = key

    def load(self) -> Token | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("token cache %s cannot be read: %s", self.path, exc)
            return None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
                log.warning(
                    "token cache %s ignored: mode %o or owner uid %d is not private",
                    self.path,
                    stat.S_IMODE(info.st_mode),
                    info.st_uid,
                )
                return None
            try:
                data = json.loads(f.read())
                if data.get("key") != self.key:
                    return None
                return Token(str(data["access_token"]), float(data["expires_at"]))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning(
                    "token cache %s is damaged (%s); asking for a new token", self.path, exc
                )
                return None

    def save(self, token: Token, describe: str = "") -> None:
        payload = {
            "key": self.key,
            "provider": describe,
            "access_token": token.access_token,
            "expires_at": token.expires_at,
            "saved_at": time.time(),
        }
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC, CACHE_MODE)
        try:
            os.fchmod(fd, CACHE_MODE)  # exact, whatever the umask
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def cache_key(*parts: object) -> str:
    """A short stable key for the settings a cached token belongs to (no secrets in it)."""
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:32]


class CachedProvider(ABC):
    """The caching half of every provider: memory, then disk, then the token server.

    Subclasses implement :meth:`_fetch` (one request to the token server, raising
    :class:`AuthError` on refusal), :meth:`describe` and :meth:`_key`. One lock per provider
    keeps threads sharing it (IMAP intake and sender) from asking the server twice.
    """

    def __init__(
        self,
        cache_path: Path | str | None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._memory: Token | None = None
        self._disk: TokenCache | None = None

    @property
    def cache(self) -> TokenCache | None:
        if self.cache_path is not None and self._disk is None:
            self._disk = TokenCache(self.cache_path, self._key())
        return self._disk

    def token(self, force_refresh: bool = False) -> str:
        with self._lock:
            now = self._clock()
            if not force_refresh:
                if self._memory is not None and self._memory.fresh(self.refresh_margin, now):
                    return self._memory.access_token
                saved = self.cache.load() if self.cache is not None else None
                if saved is not None and saved.fresh(self.refresh_margin, now):
                    self._memory = saved  # left by an earlier run or another process
                    return saved.access_token
            fetched = self._fetch()
            self._memory = fetched
            log.info(
                "%s: new access token, valid for %.0f s",
                self.describe(),
                fetched.expires_at - self._clock(),
            )
            if self.cache is not None:
                try:
                    self.cache.save(fetched, self.describe())
                except OSError as exc:  # the token still works; only the next start pays
                    log.warning("token cache %s cannot be written: %s", self.cache.path, exc)
            return fetched.access_token

    def forget(self) -> None:
        """Drop the cached token (memory and disk), e.g. after the settings changed."""
        with self._lock:
            self._memory = None
            if self.cache is not None:
                self.cache.clear()

    @abstractmethod
    def describe(self) -> str: ...

    @abstractmethod
    def _key(self) -> str: ...

    @abstractmethod
    def _fetch(self) -> Token: ...
