"""Render outgoing mail from jinja2 templates into MIME messages ready for the outbox.

Every word a recipient reads lives in ``templates/`` (Norwegian bokmål); this module only
builds correct MIME around it: UTF-8, RFC 2047 subjects, attachments carried over, a new
Message-ID, thread headers, and the marker that keeps the gateway from reading its own
mail. A deployment's own template folder is tried first; the built-ins stay reachable
as ``default:<name>``. StrictUndefined makes a missing field an error in the tests,
never a blank in a message to a municipality.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import io
import re
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any

import jinja2
import jinja2.runtime

from gateway.attachments import is_executable
from gateway.headers import CONTENT_HEADERS, SMTP, address_header, header, qp_body
from gateway.i18n import DEFAULT_LANGUAGE, phrases
from gateway.models import Outgoing, ParsedMessage
from gateway.rules.base import RuleSet
from gateway.rules.own_mail import MARKER
from gateway.templating import FlowLabels, make_environment, needs_root_render, shipped_rules

# Carried attachments from this size on are not run through the generator, which writes
# them line by line into several buffers: a placeholder is, and the encoded text goes
# into the finished bytes in its place, with the same CRLF line endings (see _splice).
SPLICE_CHARS = 64 * 1024
_SPLICE_PIECE = 1 << 20
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what email.generator takes for a line break
_LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")
Splice = str | tuple[bytes, int, int]  # encoded text, or its place in an original's raw bytes


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
            raw = _splice(msg, raw, splices)
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
            copy_attachments(original, msg, skip, splices, carried)
        if attach_original is not None:
            if not msg.is_multipart():
                msg.make_mixed()
            msg.attach(_message_part(attach_original, splices))
        if msg.is_multipart():  # random: never a line of the original or an attachment
            msg.set_boundary(f"=_avvik_{uuid.uuid4().hex}")
        return msg


def identity_encoding(data: bytes) -> str:
    """The encoding a message/rfc822 part declares for these CRLF bytes: RFC 2046
    §5.2.1 allows only 7bit, 8bit or binary there (never base64, which mail clients and
    Python's parser then do not open as a message)."""
    lines = data.split(b"\r\n")
    if b"\0" in data or b"\r" in data.replace(b"\r\n", b"") or max(map(len, lines)) > 998:
        return "binary"
    return "7bit" if data.isascii() else "8bit"


def _message_part(raw: bytes, splices: dict[str, Splice] | None) -> EmailMessage:
    """The original as an attached message, its bytes unchanged (line breaks made CRLF),
    spliced into the finished bytes; without ``splices``, as the generator writes it."""
    data = _LINE_BREAK_BYTES.sub(b"\r\n", raw)
    data = data if data.endswith(b"\r\n") else data + b"\r\n"
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = "message/rfc822"
    part.add_header("Content-Disposition", "attachment", filename="original.eml")
    part["Content-Transfer-Encoding"] = identity_encoding(data)
    if splices is None:
        part.set_payload([email.message_from_bytes(data, policy=SMTP)])
        return part
    token = f"AVVIKSPLICE{uuid.uuid4().hex}"
    splices[token] = (data, 0, len(data))
    part.set_payload(token)
    return part


def _splice(msg: EmailMessage, raw: bytes, splices: dict[str, Splice]) -> bytes | None:
    """``raw`` with each placeholder replaced by what the generator would have written
    for its payload: the text with every line break (CRLF, CR or LF) made CRLF, in ASCII
    with surrogate escapes. None when a MIME boundary occurs in a payload (the generator
    picks boundaries that do not occur in the text, and did not see these payloads)."""
    boundaries = [p.get_boundary() for p in msg.walk() if p.is_multipart()]
    texts = [payload for payload in splices.values() if isinstance(payload, str)]
    if any(b and b in text for b in boundaries for text in texts):
        return None  # (a run of base64 lines has no line starting with "--")
    places = sorted((raw.index(token.encode("ascii")), token) for token in splices)
    out = io.BytesIO()
    done = 0
    for at, token in places:
        out.write(raw[done:at])
        _write_payload(out, splices[token])
        done = at + len(token)
    out.write(raw[done:])
    return out.getvalue()


def _write_payload(out: io.BytesIO, payload: Splice) -> None:
    if not isinstance(payload, str):  # ASCII base64 lines in the raw bytes of the original
        raw, start, end = payload
        crlf = raw.count(b"\r\n", start, end)
        if raw.count(b"\n", start, end) == crlf and raw.count(b"\r", start, end) == crlf:
            out.write(memoryview(raw)[start:end])
            return
        payload = str(memoryview(raw)[start:end], "ascii")
    crlf = payload.count("\r\n")
    clean = payload.count("\n") == crlf and payload.count("\r") == crlf
    start = 0
    while start < len(payload):
        end = start + _SPLICE_PIECE
        if payload[end - 1 : end] == "\r":  # never split a CRLF between two pieces
            end += 1
        piece = payload[start:end]
        if not clean:
            piece = _LINE_BREAK.sub("\r\n", piece)
        out.write(piece.encode("ascii", "surrogateescape"))
        start = end


def carried_parts(
    original: ParsedMessage, skip: frozenset[str] = frozenset(), unnamed: str | None = None
) -> list:
    """The original's parts that a relay carries: (part, clean file name) pairs.

    Executable files (and macro-enabled Office files) are not carried: they stay with
    the case in the message log, and the relay's text says they were held back.
    ``skip`` holds names not to carry ("": the parts without one); ``unnamed`` is the
    file name a part without one gets (default: the built-in language's word).
    """
    unnamed = unnamed or phrases(DEFAULT_LANGUAGE)("render.unnamed_attachment")
    carried = []
    for part in original.message.walk():
        if part.is_multipart() or part.get_content_maintype() == "multipart":
            continue
        filename = part.get_filename()
        if part.get_content_disposition() != "attachment" and not filename:
            continue
        if is_executable(filename or "") or (filename or "") in skip:
            continue
        carried.append((part, _clean_filename(filename, unnamed)))
    return carried


def copy_attachments(
    original: ParsedMessage,
    target: EmailMessage,
    skip: frozenset[str] = frozenset(),
    splices: dict[str, Splice] | None = None,
    carried: list | None = None,
) -> int:
    """Carry the original's attachments over, bytes unchanged; returns how many.

    A base64 or quoted-printable part is carried as it was encoded: its payload text is
    reused, not decoded and encoded again, so a 25 MB attachment costs no extra copies.
    Given ``splices``, a big payload is put there under a placeholder, for ``_splice``.
    See carried_parts for what is carried.
    """
    if carried is None:
        carried = carried_parts(original, skip)
    for part, filename in carried:
        if not target.is_multipart():
            target.make_mixed()
        target.attach(_attachment_part(part, filename, splices))
    return len(carried)


def _attachment_part(part, filename: str, splices: dict[str, Splice] | None = None) -> EmailMessage:
    cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    copy = EmailMessage(policy=SMTP)
    copy["Content-Type"] = part.get_content_type()
    copy.add_header("Content-Disposition", "attachment", filename=filename)
    if cte in ("base64", "quoted-printable"):
        copy["Content-Transfer-Encoding"] = cte
        lazy = getattr(part, "_lazy", None)  # still in the raw bytes (see parse._Part)
        if lazy is not None and splices is not None:
            token = f"AVVIKSPLICE{uuid.uuid4().hex}"
            splices[token] = lazy
            copy.set_payload(token)
            return copy
        payload = _encoded_payload(part)  # the encoded text, shared
    else:  # 7bit/8bit/binary/missing: encode the bytes, which always travels safely
        copy["Content-Transfer-Encoding"] = "base64"
        payload = base64.encodebytes(part.get_payload(decode=True) or b"").decode("ascii")
    if splices is not None and isinstance(payload, str) and len(payload) >= SPLICE_CHARS:
        token = f"AVVIKSPLICE{uuid.uuid4().hex}"
        splices[token] = payload
        payload = token
    copy.set_payload(payload)
    return copy


def _encoded_payload(part):
    """``part.get_payload(decode=False)``; for ASCII text (which cannot hold surrogate
    escapes) the stored text itself, without get_payload's check, which encodes a copy."""
    payload = part._payload
    if isinstance(payload, str) and payload.isascii():
        return payload
    return part.get_payload(decode=False)


def _clean_filename(name: str | None, unnamed: str) -> str:
    name = " ".join((name or unnamed).split())  # no CR/LF into the relay's headers
    return name.replace("/", "_").replace("\\", "_")[:200] or unnamed
