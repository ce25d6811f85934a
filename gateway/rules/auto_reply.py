"""Built-in rule: out-of-office and other automatic replies, and mailing-list mail."""

from __future__ import annotations

from gateway.rules.base import Context

# Header -> values that mark automatic mail (None: the header's presence is enough).
_MARKERS: dict[str, tuple[str, ...] | None] = {
    "x-autoreply": None,
    "x-autorespond": None,
    "x-auto-response-suppress": None,
    "list-id": None,
    "list-unsubscribe": None,
    "precedence": ("bulk", "junk", "list", "auto_reply"),
    "x-precedence": ("bulk", "junk", "list", "auto_reply"),
}


class AutoReply:
    """See `Rule`."""

    name = "auto-reply"
    description = "Automatic replies (RFC 3834, out-of-office) and list mail are never relayed."
    record = True

    def check(self, ctx: Context) -> bool:
        msg = ctx.msg
        submitted = msg.header("auto-submitted").split(";")[0].strip().lower()
        if submitted and submitted != "no":
            ctx.notes.append(f"Auto-Submitted: {submitted}")
            return True
        for name, values in _MARKERS.items():
            value = msg.header(name)
            if name in msg.headers and (values is None or value.strip().lower() in values):
                ctx.notes.append(f"header {name}: {value[:60]}")
                return True
        if "disposition-notification" in msg.header("content-type").lower():
            ctx.notes.append("read receipt (MDN)")
            return True
        pattern = ctx.ruleset.vocabulary.get("automatic_subject")
        if pattern is not None and (hit := pattern.search(msg.subject)):
            ctx.notes.append(f"automatic subject: {hit.group(0)!r}")
            return True
        return False
