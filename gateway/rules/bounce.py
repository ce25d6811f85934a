"""Built-in rule: delivery failure notices (bounces)."""

from __future__ import annotations

from gateway.rules.base import Context

_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"}


class Bounce:
    """See `Rule`."""

    name = "bounce"
    description = "Delivery failure notices (DSN, null sender, MAILER-DAEMON) are never relayed."
    record = True

    def check(self, ctx: Context) -> bool:
        msg = ctx.msg
        ctype = msg.header("content-type").lower()
        if msg.content_type == "multipart/report" and "delivery-status" in ctype:
            ctx.notes.append("delivery status report")
            return True
        if any(v.replace(" ", "") == "<>" for v in msg.headers.get("return-path", ())):
            ctx.notes.append("null sender (Return-Path: <>)")
            return True
        local = msg.from_addr.partition("@")[0]
        if local in _DAEMONS:
            ctx.notes.append(f"sent by {local}")
            return True
        if "x-failed-recipients" in msg.headers:
            ctx.notes.append("X-Failed-Recipients")
            return True
        return False
