"""Built-in rule: the sender's domain failed DMARC at our own mail server (likely forged),
or our server read another From domain than the gateway did."""

from __future__ import annotations

import re

from gateway.models import ParsedMessage
from gateway.rules.base import Context

_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)
_FROM = re.compile(r"\bheader\.from\s*=\s*([^\s;]+)", re.IGNORECASE)


class DmarcFail:
    """See `Rule`."""

    name = "dmarc-fail"
    description = "Mail whose From domain failed DMARC at the receiving server is not trusted."
    record = True

    def check(self, ctx: Context) -> bool:
        other = other_from_domain(ctx.msg)
        if other is not None:
            ctx.notes.append(f"our mail server read the From domain as {other}")
            return True
        results = ctx.msg.headers.get("authentication-results", ())
        if not results or not _FAIL.search(results[0]):
            return False
        domain = ctx.msg.from_addr.rpartition("@")[2]
        ctx.notes.append(f"DMARC failed for {domain}")
        return True


def other_from_domain(msg: ParsedMessage) -> str | None:
    """The From domain our own server's Authentication-Results names (``header.from``)
    when it is not the one the gateway read: the two read different senders, so the
    server's verdict is about another sender than the one the rules see. Only the
    topmost Authentication-Results counts: the one our own receiving server added."""
    results = msg.headers.get("authentication-results", ())
    if not results:
        return None
    domain = msg.from_addr.rpartition("@")[2]
    for claimed in _FROM.findall(results[0]):
        claimed = claimed.strip().strip('"').lower()
        if claimed != domain:
            return claimed
    return None
