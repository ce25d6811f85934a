"""Header blocks and text bodies written by hand, for the renderer.

EmailMessage(policy=SMTP) parses every value it is given into a header object and
folds it again on output: about 1.5 ms a message. What the gateway writes is simple
(addr-specs, message ids, a subject), so it is written here: unstructured text folded
at spaces to 78 characters, words that are not printable ASCII (or look like an
encoded word, or do not fit on a line) as RFC 2047 UTF-8 "Q" encoded words. Anything
else (an address with a display name, surrogates) goes through the stdlib as before.
"""

from __future__ import annotations

import binascii
import re
from email import headerregistry
from email.policy import SMTP as _SMTP


class _HeaderClasses(headerregistry.HeaderRegistry):
    """The stdlib's header factory, making each header class once: its ``__getitem__``
    builds a new class with ``type()`` for every header of every message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls


SMTP = _SMTP.clone(header_factory=_HeaderClasses())  # the same policy, a cheaper factory


_MAX = 78
_EW_OPEN, _EW_CLOSE = "=?utf-8?q?", "?="
_EW_ROOM = 12  # the longest one character can take (4 bytes, =XX each)
_Q_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_SPACES = re.compile(r"([ \t]+)")
_PLAIN_WORD = re.compile(r"[!-~]+")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*")
_ID_HEADERS = frozenset({"in-reply-to", "references", "message-id"})
CONTENT_HEADERS = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"MIME-Version: 1.0\r\n\r\n"
)


def _stdlib_header(name: str, value: str) -> str:
    """The header as EmailMessage(policy=SMTP) writes it."""
    return SMTP.fold(name, SMTP.header_store_parse(name, value)[1])


def _q_char(ch: str) -> str:
    if ch in _Q_SAFE:
        return ch
    if ch == " ":
        return "_"
    return "".join(f"={b:02X}" for b in ch.encode("utf-8"))


def header(name: str, value: str) -> str:
    """``Name: value`` CRLF, folded, non-ASCII as encoded words. Raises ValueError for a
    value with a line break inside, as the stdlib does (no header injection)."""
    if len(value.splitlines()) > 1:
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    if not value:
        return f"{name}:\r\n"
    if len(name) + 2 + len(value) <= _MAX and _fits(value):
        return f"{name}: {value}\r\n"  # the common case: short printable ASCII
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # surrogates: the stdlib writes them as unknown-8bit
        return _stdlib_header(name, value)
    return _fold(name, _tokens(value, name.lower() in _ID_HEADERS))


def _fits(value: str) -> bool:
    """Whether a value that fits on the line is written as it is: printable ASCII (spaces
    too, not at its start), and nothing that looks like an encoded word. ``_fold`` would
    give the same line (tests/test_render_fast.py)."""
    return value.isascii() and value.isprintable() and value[0] != " " and "=?" not in value


def _tokens(value: str, ids: bool) -> list[list]:
    """(spaces before, text, encode?) of a value's words; consecutive words that need
    encoding are merged with the spaces between them (one encoded word, or a run)."""
    parts = _SPACES.split(value)  # word, spaces, word, ..., word
    tokens: list[list] = []
    for k in range(0, len(parts), 2):
        space = " " if k == 0 else parts[k - 1]
        word = parts[k]
        plain = not word or (
            _PLAIN_WORD.fullmatch(word) is not None
            and "=?" not in word
            and (ids or len(word) < _MAX - 1)
        )
        if not plain and tokens and tokens[-1][2]:
            tokens[-1][1] += space + word
        else:
            tokens.append([space, word, not plain])
    return tokens


def _fold(name: str, tokens: list[list]) -> str:
    """The header's lines, folded at _MAX; encoded text split into encoded words."""
    lines: list[str] = []
    line = f"{name}:"
    for space, text, encode in tokens:
        if not encode:
            if len(line) + len(space) + len(text) > _MAX and line.strip():
                lines.append(line)
                line = ""
            line += space + text
            continue
        chars = [_q_char(ch) for ch in text]
        i = 0
        while i < len(chars):
            room = _MAX - len(line) - len(space) - len(_EW_OPEN) - len(_EW_CLOSE)
            if room < _EW_ROOM and line.strip():
                lines.append(line)
                line = ""
                room = _MAX - len(space) - len(_EW_OPEN) - len(_EW_CLOSE)
            used = 0
            j = i
            while j < len(chars) and used + len(chars[j]) <= room:
                used += len(chars[j])
                j += 1
            line += space + _EW_OPEN + "".join(chars[i:j]) + _EW_CLOSE
            space = " "  # between two encoded words: not part of the text
            i = j
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def address_header(name: str, addresses: list[str]) -> str:
    """An address header of bare addr-specs, folded after a comma; anything else (a
    display name, non-ASCII) as the stdlib writes it."""
    value = ", ".join(addresses)
    if not all(_ADDR_SPEC.fullmatch(a) and "=?" not in a for a in addresses):
        return _stdlib_header(name, value)
    lines: list[str] = []
    line = f"{name}:"
    for k, address in enumerate(addresses):
        piece = address + ("," if k < len(addresses) - 1 else "")
        if len(line) + 1 + len(piece) > _MAX and line.strip() != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + piece
    lines.append(line)
    return "\r\n".join(lines) + "\r\n"


def qp_body(body: str) -> bytes:
    """The body as set_content(body, charset="utf-8", cte="quoted-printable") and the
    generator write it: lines ending in CRLF, quoted-printable (binascii's encoder)."""
    data = body.encode("utf-8")
    if b"\r" in data:  # lines split at CR too
        data = b"\n".join(data.splitlines()) + b"\n"
    elif not data.endswith(b"\n"):  # (without a CR, the same as splitting and joining)
        data += b"\n"
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")
