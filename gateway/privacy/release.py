"""Attachments held back from a party that must not see personal data, and their release.

deidentify() holds an attachment back when personal data is found in it or when it
cannot be read completely. An administrator may look at it and send it on anyway: the
release is a message of its own to the case's receivers, carrying that one attachment,
and an event in the case log says who released what to whom.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

from gateway.i18n import phrases
from gateway.models import Outgoing, ParsedMessage
from gateway.privacy.detect import find_in_name, find_personal_data
from gateway.privacy.extract import part_bytes, read_attachment
from gateway.privacy.normalise import decoded_words
from gateway.privacy.policy import detect_options
from gateway.render import Renderer
from gateway.rules.base import RuleSet


@dataclass(frozen=True)
class Held:
    """One attachment held back: its number among the message's attachments (from 1),
    its name as written, and why (``personal``, or ``unreadable`` and what stopped it)."""

    number: int
    name: str
    reason: str
    why: str = ""


def attachments(msg: ParsedMessage) -> list:
    """The message's attachments in order, as deidentify() and the renderer see them."""
    return [
        part
        for part in msg.message.walk()
        if not part.is_multipart()
        and (part.get_filename() or part.get_content_disposition() == "attachment")
    ]


def held_back(msg: ParsedMessage, ruleset: RuleSet) -> list[Held]:
    """The attachments a redacted party did not get, and why (executables aside: those
    are never relayed, see gateway/attachments.py)."""
    from gateway.attachments import is_executable

    options = detect_options(ruleset)
    held = []
    for number, part in enumerate(attachments(msg), start=1):
        name = decoded_words(" ".join((part.get_filename() or "").split()))
        if is_executable(name):
            continue
        read = read_attachment(name, part.get("Content-Type", ""), part_bytes(part))
        if find_in_name(name, **options) or find_personal_data(read.text, **options):
            held.append(Held(number, name, "personal"))
        elif not read.complete:
            held.append(Held(number, name, "unreadable", read.why))
    return held


def release_message(
    msg: ParsedMessage, held: Held, *, reference: str, to: list[str], by: str,
    renderer: Renderer, ruleset: RuleSet, case_id: int | None = None,
) -> Outgoing:  # fmt: skip
    """The message that carries one held-back attachment to `to`, unchanged."""
    say = phrases(ruleset.language)
    part = attachments(msg)[held.number - 1]
    reason = say(f"privacy.release.reason.{held.reason}", why=held.why)
    name = held.name or say("render.unnamed_attachment")
    values = {"reference": reference, "name": name, "reason": reason, "by": by}
    out = EmailMessage(policy=SMTP)
    out["From"] = email.utils.formataddr((renderer.gateway_name, renderer.gateway_address))
    out["To"] = ", ".join(to)
    out["Subject"] = say("privacy.release.subject", **values)
    out["Date"] = email.utils.formatdate(localtime=True)
    out["Message-ID"] = message_id = email.utils.make_msgid(domain=renderer.domain)
    out["Auto-Submitted"] = "auto-generated"
    out["X-Avviksgateway"] = reference
    out.set_content(say("privacy.release.body", **values) + "\n")
    maintype, _, subtype = part.get_content_type().partition("/")
    if maintype in ("message", "multipart"):  # carried as the file it was saved as
        maintype, subtype = "application", "octet-stream"
    out.add_attachment(part_bytes(part), maintype=maintype, subtype=subtype, filename=name)
    return Outgoing(
        purpose="release",
        mail_from=renderer.gateway_address,
        recipients=tuple(dict.fromkeys(to)),
        raw=out.as_bytes(),
        message_id=message_id,
        subject=str(out["Subject"]),
        case_id=case_id,
    )
