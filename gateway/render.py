"""Render outgoing mail from jinja2 templates into MIME messages ready for the outbox.

Every word a recipient reads lives in ``templates/`` (Norwegian bokmål); this module only
builds correct MIME around it: UTF-8, RFC 2047 subjects, attachments carried over, a new
Message-ID, thread headers, and the marker that keeps the gateway from reading its own
mail. A deployment's own template folder is tried first; the built-ins stay reachable
as ``default:<name>``. StrictUndefined makes a missing field an error in the tests,
never a blank in a message to a municipality.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

import jinja2
import jinja2.runtime

from gateway.carried import (
    SPLICE_CHARS,  # read at each message from here, so that a test can change it
    Splice,
    carried_parts,
    copy_attachments,
    identity_encoding,
    message_part,
    splice,
)
from gateway.headers import CONTENT_HEADERS, SMTP, address_header, header, qp_body
from gateway.i18n import DEFAULT_LANGUAGE, phrases
from gateway.models import Outgoing, ParsedMessage
from gateway.rules.base import RuleSet
from gateway.rules.own_mail import MARKER
from gateway.templating import FlowLabels, make_environment, needs_root_render, shipped_rules

RulesSource = Callable[[], RuleSet] | RuleSet | None

# What each kind of mail tells other machines. Mail a person wrote, relayed, asks
# Exchange for no out-of-office or automatic answers (RFC 3834 does not cover it, and
# NDR/DR are left out on purpose: the gateway reads bounces of its relays). Every
# notice the gateway writes itself also says it is automatic (RFC 3834 §5): an answer
# to the message's sender is "auto-replied", anything else "auto-generated".
NO_AUTOMATIC_ANSWERS = {"X-Auto-Response-Suppress": "OOF, AutoReply"}
RELAYED = frozenset({"relay", "reply"})
ANSWERS = frozenset({"receipt", "notice", "command-error", "command-answer"})


def automatic_headers(purpose: str) -> dict[str, str]:
    """The RFC 3834 and Exchange headers for a message of this purpose."""
    if purpose in RELAYED:
        return dict(NO_AUTOMATIC_ANSWERS)
    kind = "auto-replied" if purpose in ANSWERS else "auto-generated"
    return {"Auto-Submitted": kind} | NO_AUTOMATIC_ANSWERS


class Renderer:
    """Templates compiled once per language; ``message()`` renders one outgoing mail.

    ``rules``: the loaded rules (or a callable giving the current ones, like the daemon's
    ``Rules``), which give the language and the flows' labels; without them, ``language``
    and the shipped rules.yaml's flows. A call may still name its own ``language``.
    """

    def __init__(
        self,
        gateway_address: str,
        gateway_name: str,
        override: Path | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
        rules: RulesSource = None,
    ):
        self.override, self.default_language = override, language
        self._rules = rules if rules is None or callable(rules) else (lambda: rules)
        self.gateway_address = gateway_address
        self.gateway_name = gateway_name
        self.domain = gateway_address.rpartition("@")[2] or "localhost"
        self._flow_labels = FlowLabels(self._current_rules)
        self._envs: dict[str, jinja2.Environment] = {}
        self._templates: dict[tuple[str, str], tuple[jinja2.Template, bool]] = {}
        self._flat: dict[int, dict[str, Any]] = {}  # id of a template in _templates
        self._from: str | None = None

    def _current_rules(self) -> RuleSet | None:
        return self._rules() if self._rules is not None else shipped_rules()

    def answer_address(self) -> str | None:
        """Where Reply goes when a message names no other place: the first intake
        mailbox. The gateway's own From address takes in nothing, so without a Reply-To
        an administrator's answer to a triage note would be refused by the intake."""
        rules = self._current_rules()
        return next(iter(rules.mailboxes.values()), None) if rules is not None else None

    @property
    def language(self) -> str:
        """The language of the current rules, else the one given at construction."""
        return self._rules().language if self._rules is not None else self.default_language

    def environment(self, language: str | None = None) -> jinja2.Environment:
        """The Jinja environment of a language (the current one by default), made once."""
        language = language or self.language
        if language not in self._envs:
            self._envs[language] = make_environment(self.override, language, self._flow_labels)
        return self._envs[language]

    @property
    def env(self) -> jinja2.Environment:
        return self.environment()

    def _template(self, name: str, language: str | None = None) -> tuple[jinja2.Template, bool]:
        """The compiled template, and whether its blocks need its root render first."""
        key = (language or self.language, name)
        if key not in self._templates:
            env = self.environment(key[0])
            self._templates[key] = (env.get_template(name), needs_root_render(env, name))
        return self._templates[key]

    def parts(
        self, name: str, context: dict[str, Any], language: str | None = None
    ) -> tuple[str, str]:
        """The ``subject`` and ``body`` blocks of a template, rendered.

        A template that extends another (a deployment's override of ``default:...``) or
        sets something outside its blocks is root-rendered once first, so that it has
        every block, inherited ones too, and what they read.
        """
        template, root_first = self._template(name, language)
        # template.new_context(context), with the template's globals as one dict made once:
        # Jinja keeps them as a ChainMap, and a new context copies them name by name
        flat = self._flat.get(key := id(template)) or self._flat.setdefault(
            key, {**template.globals}
        )
        ctx = jinja2.runtime.new_context(
            template.environment, template.name, template.blocks, context, False, flat
        )
        if root_first:
            for _ in template.root_render_func(ctx):
                pass
        subject, body = ("".join(ctx.blocks[b][0](ctx)) for b in ("subject", "body"))
        return subject, body

    def message(
        self,
        template: str,
        context: dict[str, Any],
        *,
        purpose: str,
        to: list[str],
        cc: list[str] = (),
        reply_to: str | None = None,
        reference: str | None = None,
        original: ParsedMessage | None = None,
        attachments: bool = False,
        attach_original: bytes | None = None,
        headers: dict[str, str] | None = None,
        case_id: int | None = None,
        thread: tuple[str, list[str]] | None = None,
        skip: frozenset[str] = frozenset(),
        language: str | None = None,
        subject_tag: str = "",
    ) -> Outgoing:
        """Render ``template`` into an Outgoing message for the outbox (in ``language``,
        by default the rules'). ``subject_tag``: a party's own ticket number, which its
        helpdesk files our mail by ("[Tellu #12345]"), put after the subject."""
        language = language or self.language
        subject, body = self.parts(template, context, language)
        subject = " ".join(subject.split())
        if subject_tag and subject_tag.lower() not in subject.lower():
            subject = f"{subject} {subject_tag}"
        message_id = email.utils.make_msgid(domain=self.domain)
        build = dict(
            subject=subject,
            body=body,
            message_id=message_id,
            to=to,
            cc=cc,
            reply_to=reply_to or self.answer_address(),
            reference=reference,
            purpose=purpose,
            original=original,
            attachments=attachments,
            attach_original=attach_original,
            headers=headers,
            thread=thread,
            skip=skip,
        )
        carried = []
        if attachments and original is not None:
            unnamed = phrases(language)("render.unnamed_attachment")
            carried = carried_parts(original, skip, unnamed)
        raw = self._raw(self._head(**build), build | {"carried": carried})
        return Outgoing(
            purpose=purpose,
            mail_from=self.gateway_address,
            recipients=tuple(dict.fromkeys([*to, *cc])),
            raw=raw,
            message_id=message_id,
            subject=subject,
            case_id=case_id,
        )

    def _raw(self, head: bytes, build: dict[str, Any]) -> bytes:
        """The whole message: the header block, then the MIME headers and body."""
        if not build["carried"] and build["attach_original"] is None:
            return head + CONTENT_HEADERS + qp_body(build["body"])  # text only: no generator
        splices: dict[str, Splice] = {}
        msg = self._build(**build, splices=splices)
        raw = msg.as_bytes(policy=SMTP)
        if splices:
            raw = splice(msg, raw, splices)
            if raw is None:  # a boundary the generator chose occurs in an attachment
                raw = self._build(**build, splices=None).as_bytes(policy=SMTP)
        return head + raw

    def _head(
        self,
        *,
        subject: str,
        message_id: str,
        to: list[str],
        cc: list[str],
        reply_to: str | None,
        reference: str | None,
        purpose: str,
        original: ParsedMessage | None,
        headers: dict[str, str] | None,
        thread: tuple[str, list[str]] | None,
        **_: Any,
    ) -> bytes:
        """The header block above the MIME headers, written without the stdlib's header
        objects (see gateway/headers.py); the same headers in the same order as msg[...] = ..."""
        if self._from is None:
            self._from = header("From", formataddr((self.gateway_name, self.gateway_address)))
        out = [self._from, address_header("To", to)]
        if cc:
            out.append(address_header("Cc", cc))
        out.append(header("Subject", subject))
        out.append(header("Date", email.utils.format_datetime(dt.datetime.now(dt.UTC))))
        out.append(header("Message-ID", message_id))
        if reply_to:
            out.append(address_header("Reply-To", [reply_to]))
        if thread is not None:  # (In-Reply-To, References) that the recipient has seen
            out.append(header("In-Reply-To", thread[0]))
            out.append(header("References", " ".join(thread[1])))
        elif original is not None and original.message_id:
            out.append(header("In-Reply-To", original.message_id))
            refs = " ".join([*original.references[-10:], original.message_id])
            out.append(header("References", refs))
        out.append(header(MARKER, reference or purpose))
        for name, value in (automatic_headers(purpose) | (headers or {})).items():
            out.append(header(name, value))
        return "".join(out).encode("ascii")

    def _build(
        self,
        *,
        body: str,
        original: ParsedMessage | None,
        attach_original: bytes | None,
        skip: frozenset[str],
        carried: list,
        splices: dict[str, Splice] | None,
        **_: Any,
    ) -> EmailMessage:
        """The MIME body of a message with attachments (its headers come from _head)."""
        msg = EmailMessage(policy=SMTP)
        msg.set_content(body, charset="utf-8", cte="quoted-printable")
        if carried and original is not None:
            copy_attachments(original, msg, skip, splices, carried, SPLICE_CHARS)
        if attach_original is not None:
            if not msg.is_multipart():
                msg.make_mixed()
            msg.attach(message_part(attach_original, splices))
        if msg.is_multipart():  # random: never a line of the original or an attachment
            msg.set_boundary(f"=_avvik_{uuid.uuid4().hex}")
        return msg


# Also what the renderer's callers and tests import from here.
__all__ = [
    "SPLICE_CHARS",
    "Renderer",
    "automatic_headers",
    "carried_parts",
    "copy_attachments",
    "identity_encoding",
]
