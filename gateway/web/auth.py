"""Sign-in without passwords: one-time links, server-side sessions, rate limits, CSRF.

Links and sessions are kept in this process's memory, never on disk: a stolen copy of
the database holds no way in, and a restart signs everyone out and voids the links not
yet used (people ask for a new one). Only a hash of a link's token is kept, so not even
a memory dump gives a usable link. Each link works once, for ``link_minutes``; a session
ends ``session_hours`` after sign-in, or at sign-out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    address: str
    expires: float


class Links:
    """Sign-in links not yet used: token hash -> address and expiry."""

    def __init__(self, minutes: float, clock: Callable[[], float] = time.time):
        self.seconds, self.clock = minutes * 60, clock
        self._links: dict[str, Link] = {}
        self._lock = threading.Lock()

    def issue(self, address: str) -> str:
        """A new token for ``address`` (its earlier links stay valid until they expire)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expire()
            self._links[_hash(token)] = Link(address, self.clock() + self.seconds)
        return token

    def peek(self, token: str) -> str | None:
        """The address of a valid link, without using it (the confirmation page)."""
        with self._lock:
            link = self._links.get(_hash(token))
            return link.address if link and link.expires > self.clock() else None

    def redeem(self, token: str) -> str | None:
        """The address of a valid link, used up: a second try gets None."""
        with self._lock:
            link = self._links.pop(_hash(token), None)
        return link.address if link and link.expires > self.clock() else None

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, v in self._links.items() if v.expires <= now]:
            del self._links[key]


@dataclass(frozen=True)
class Session:
    address: str
    expires: float
    csrf: str


class Sessions:
    """Signed-in sessions: an unguessable id (the cookie) -> who and until when."""

    def __init__(self, hours: float, clock: Callable[[], float] = time.time):
        self.seconds, self.clock = hours * 3600, clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, address: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            for key in [k for k, v in self._sessions.items() if v.expires <= now]:
                del self._sessions[key]
            self._sessions[_hash(sid)] = Session(
                address, now + self.seconds, secrets.token_urlsafe(32)
            )
        return sid

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            found = self._sessions.get(_hash(sid))
            if found and found.expires <= self.clock():
                del self._sessions[_hash(sid)]
                return None
            return found

    def end(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(_hash(sid), None)


class RateLimit:
    """At most ``limit`` events per key in a sliding window of ``seconds``."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.time):
        self.limit, self.seconds, self.clock = limit, seconds, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False when over the limit (not counted then)."""
        with self._lock:
            now = self.clock()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys: memory stays bounded
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return True


def same(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (no timing hint)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
