"""Built-in rule: a message the gateway itself sent, come back (loop brake)."""

from __future__ import annotations

from gateway.rules.base import Context

MARKER = "X-Avviksgateway"  # set on every message the gateway sends


class OwnMail:
    """See `Rule`."""

    name = "own-mail"
    description = "Mail the gateway sent itself is never taken in again."
    record = True

    def check(self, ctx: Context) -> bool:
        if MARKER.lower() in ctx.msg.headers:
            ctx.notes.append(f"carries {MARKER}")
            return True
        return False
