"""Built-in rule: out-of-office and other automatic replies, and mailing-list mail."""

from __future__ import annotations

from gateway.helpdesk.new_ticket import new_ticket
from gateway.references import strip_prefixes
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
        if (party := new_ticket(ctx.ruleset, msg)) is not None:
            ctx.notes.append(f"a new ticket from {party.name}'s helpdesk, not automatic mail")
            return False  # its ticket system marks all its mail automatic (headers)
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
        return self._begins_as_automatic(ctx)

    @staticmethod
    def _begins_as_automatic(ctx: Context) -> bool:
        """No header says so, but the subject or the first line begins as automatic
        mail does (rules.yaml ``automatic_mail:``); a mention further in does not count."""
        automatic = ctx.ruleset.automatic
        subject = strip_prefixes(ctx.msg.subject)
        if automatic.subject is not None and (hit := automatic.subject.match(subject)):
            ctx.notes.append(f"automatic subject: {hit.group(0).strip()!r}")
            return True
        first = next((line for line in ctx.msg.new_text.splitlines() if line.strip()), "")
        if automatic.opening is not None and (hit := automatic.opening.match(first)):
            ctx.notes.append(f"automatic opening line: {hit.group(0).strip()!r}")
            return True
        return False
