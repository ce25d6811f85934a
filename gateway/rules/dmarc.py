"""Built-in rule: the sender's domain failed DMARC at our own mail server (likely forged)."""

from __future__ import annotations

import re

from gateway.rules.base import Context

_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)
_FROM = re.compile(r"\bheader\.from\s*=\s*([^\s;]+)", re.IGNORECASE)


class DmarcFail:
    """See `Rule`."""

    name = "dmarc-fail"
    description = "Mail whose From domain failed DMARC at the receiving server is not trusted."
    record = True

    def check(self, ctx: Context) -> bool:
        # Only the topmost Authentication-Results: the one our own receiving server added.
        results = ctx.msg.headers.get("authentication-results", ())
        if not results or not _FAIL.search(results[0]):
            return False
        domain = ctx.msg.from_addr.rpartition("@")[2]
        claimed = _FROM.search(results[0])
        if claimed and claimed.group(1).strip().lower() != domain:
            return False  # a verdict about another domain than the one in From
        ctx.notes.append(f"DMARC failed for {domain}")
        return True
