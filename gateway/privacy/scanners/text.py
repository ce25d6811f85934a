"""Text, HTML, XML and RTF attachments, in whatever encoding they come.

For the detector, more readings are better than one wrong one: a text whose encoding is
not certain (NUL bytes: UTF-16 or UTF-32 without a byte-order mark) is read in each
candidate, and the readings are scanned together. HTML is read twice, as shown and with
every tag dropped (hidden text and comments are there for anyone who opens the file).
"""

from __future__ import annotations

import html
import logging
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from gateway.privacy.scanners.base import Contents
from gateway.privacy.scanners.formats import declared_type

log = logging.getLogger(__name__)


def decode_text(payload: bytes, charset: str | None = None) -> str:
    """Decode with the declared charset, else UTF-8 (with/without BOM), cp1252, latin-1."""
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = [charset] if charset else []
    for encoding in [*candidates, "utf-8-sig", "cp1252"]:
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # never fails


def readings(payload: bytes, charset: str | None = None) -> list[str]:
    """The text as declared or guessed, plus every other likely reading when the bytes
    hold NULs (wide encodings without a byte-order mark)."""
    first = decode_text(payload, charset)
    if b"\x00" not in payload[:4096]:
        return [first]
    more = [payload.decode(e, errors="ignore") for e in ("utf-16-le", "utf-16-be", "utf-32")]
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(payload[:2_000_000]).best()
        if best is not None:
            more.append(str(best))
    except Exception:  # the guess is one reading more, never a reason to fail
        log.debug("charset-normalizer failed", exc_info=True)
    return [first.replace("\x00", ""), *more]


def read_text(payload: bytes, *, content_type: str = "", **_) -> Contents:
    _, charset = declared_type(content_type)
    return Contents("\n".join(readings(payload, charset)), True)


# HTML's white space: outside <pre> a run of it, line breaks too, is one space on screen,
# so "151086\n- 95088" in the source reads "151086 - 95088".
_WHITE = re.compile(r"[ \t\r\n\f]+")


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "head", "title", "template"}
    _BLOCK = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"}
    _PRE = {"pre", "textarea", "listing", "plaintext"}  # white space shown as written

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._PRE:
            self._pre += 1
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")  # keep cells apart so numbers in adjacent cells don't join

    def handle_endtag(self, tag: str) -> None:
        if tag in self._PRE and self._pre:
            self._pre -= 1
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:  # a browser shows a run of white space as one space
            self.parts.append(data if self._pre else _WHITE.sub(" ", data))


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document (entities decoded, scripts and styles dropped)."""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; never let odd markup stop a scan
        log.warning("HTML parse error; returning text found so far", exc_info=True)
    return "".join(parser.parts)


_TAG = re.compile(r"<[^>]*>")


def read_html(payload: bytes, *, content_type: str = "", **_) -> Contents:
    _, charset = declared_type(content_type)
    texts = readings(payload, charset)
    shown = [html_to_text(t) for t in texts]
    stripped = [html.unescape(_TAG.sub("", t)) for t in texts]  # hidden text, comments too
    return Contents("\n".join(shown + stripped), True)


# Elements whose text runs on inside a paragraph (runs, spans, insertions, fields,
# content controls); any other element ends a line, so cells and fields stay apart.
_INLINE = {
    "r", "t", "delText", "ins", "del", "hyperlink", "smartTag", "sdt", "sdtContent",
    "fldSimple", "instrText", "span", "a", "s", "moveFrom", "moveTo", "customXml",
    "bookmarkStart", "bookmarkEnd", "proofErr", "rPr", "lastRenderedPageBreak",
}  # fmt: skip
_BLOCK = {"p", "h", "tr", "row", "si", "list-item", "table-row", "txbxContent"}
_CELL = {"tc", "c", "table-cell", "tab"}
# Attributes that hold text a person typed or reads (form values, alt texts, links), and
# not the ids (w:rsidR="41234567") that would look like phone numbers.
_VALUES = {"value", "string-value", "lastValue", "title", "descr", "alias", "tag",
           "displayText", "href", "text", "author", "initials"}  # fmt: skip


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _walk(element, out: list[str], in_block: bool) -> None:
    name = _local(element.tag)
    block = name in _BLOCK
    inline = in_block and not block
    if element.text:
        out.append(element.text)
    for key, value in element.attrib.items():  # what people typed lands in some attributes
        if _local(key) in _VALUES:
            out.append(f"\n{value}\n")
    for child in element:
        _walk(child, out, in_block or block)
        if child.tail:
            out.append(child.tail)
    if name in _CELL:
        out.append("\t")
    elif name in ("br", "cr", "line-break") or not (inline and name in _INLINE):
        out.append("\n")


def xml_text(payload: bytes) -> str:
    """The text of an XML document: runs inside a paragraph joined as Word shows them."""
    root = ET.fromstring(payload)
    out: list[str] = []
    _walk(root, out, False)
    return "".join(out)


def read_xml(payload: bytes, **_) -> Contents:
    try:
        return Contents(xml_text(payload), True)
    except (ET.ParseError, RecursionError):  # not well-formed: read it as text, tags and all
        return Contents("\n".join(readings(payload)), True)


_RTF_HEX = re.compile(rb"\\'([0-9a-fA-F]{2})")
_RTF_UNICODE = re.compile(rb"\\u(-?\d+) ?(?:\\'[0-9a-fA-F]{2}|\?)?")
_RTF_BREAK = re.compile(rb"\\(?:par|line|row|cell|tab)\b ?")
_RTF_WORD = re.compile(rb"\\[a-zA-Z]+-?\d* ?|\\[^a-zA-Z]|[{}]|\r|\n")


def read_rtf(payload: bytes, **_) -> Contents:
    """RTF's text: escapes decoded, control words dropped (all groups kept: more text)."""
    text = _RTF_UNICODE.sub(lambda m: chr(int(m.group(1)) % 65536).encode("utf-8"), payload)
    text = _RTF_HEX.sub(lambda m: bytes([int(m.group(1), 16)]).decode("cp1252", "replace")
                        .encode("utf-8"), text)  # fmt: skip
    text = _RTF_WORD.sub(b"", _RTF_BREAK.sub(b"\n", text))
    return Contents(text.decode("utf-8", errors="replace"), True)
