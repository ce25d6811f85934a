"""HTML bodies as the text a person sees: blocks as lines, quotes marked, hidden text out.

Outlook sends HTML-only mail. What a mail client does not show (display:none, zero-size
or white-on-white text, comments) must not name a municipality or make a report urgent.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

# --- HTML ------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    "address article aside blockquote br center dd div dl dt fieldset figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tr ul".split()
)
_PARAGRAPH_TAGS = frozenset("p h1 h2 h3 h4 h5 h6 ul ol table blockquote".split())
_SKIP_TAGS = frozenset({"script", "style", "title", "template"})
_WS = re.compile(r"\s+")


# A tag without attributes (<p>, </p>): most tags of a mail's HTML, read by one regex.
_BARE_START = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)>")
_BARE_END = re.compile(r"</([a-zA-Z][a-zA-Z0-9]*)>")

_VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)
# A style that hides an element and what it holds from a person reading the mail.
_HIDING = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*(?:hidden|collapse)"
    r"|(?:font-size|opacity)\s*:\s*[0.]+(?:px|pt|em|rem|%)?\s*(?:[;!]|$)",
    re.I,
)
_COLOUR = re.compile(r"(?<![\w-])(background(?:-color)?|color)\s*:\s*([^;!]+)", re.I)
_WHITE = frozenset({"white", "#fff", "#ffffff", "rgb(255,255,255)", "#ffffffff"})


def _colour(value: str) -> str:
    """A CSS colour compared as written, white in any of its usual notations as one."""
    value = _WS.sub("", value).lower()
    return "white" if value in _WHITE else value


class _Element:
    """One open element: whether it hides its content, and the colours it shows in."""

    __slots__ = ("tag", "hidden", "colour", "background")

    def __init__(self, tag: str, hidden: bool, colour: str, background: str):
        self.tag, self.hidden, self.colour, self.background = tag, hidden, colour, background


_PAGE = _Element("", False, "black", "white")


def _open(tag: str, attrs: list, parent: _Element) -> _Element:
    """The element's state from its attributes and its parent's: hidden text
    (display:none, visibility:hidden, zero size or opacity, the hidden attribute) and
    text in the colour of its background (white on white) are not read."""
    values = dict(attrs)
    style = values.get("style") or ""
    hidden = parent.hidden or "hidden" in values or bool(_HIDING.search(style))
    colour, background = parent.colour, parent.background
    if values.get("color"):
        colour = _colour(values["color"])
    if values.get("bgcolor"):
        background = _colour(values["bgcolor"])
    for name, value in _COLOUR.findall(style):
        if name.lower() == "color":
            colour = _colour(value)
        else:
            background = _colour(value.split()[0] if value.split() else value)
    return _Element(tag, hidden, colour, background)


class _TextExtractor(HTMLParser):
    """Collects (blockquote depth, line) pairs so quoted HTML stays recognisable as quoted.

    Text a person does not see is left out (see ``_open``); comments always are."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._buf: list[str] = []
        self._depth = 0
        self._skip = 0
        self._pre = 0
        self._stack: list[_Element] = [_PAGE]

    def _flush(self, paragraph: bool = False) -> None:
        if self._buf:  # runs of whitespace as one space (split() and \s agree on it)
            text = " ".join("".join(self._buf).split())
            self._buf = []
            if text:
                self.lines.append((self._depth, text))
        if paragraph:
            self.lines.append((0, ""))

    def _track(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_TAGS and self._stack[-1].tag == "p":  # a block ends an open <p>
            self._stack.pop()
        if tag not in _VOID_TAGS:
            self._stack.append(_open(tag, attrs, self._stack[-1]))

    def _untrack(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, 0, -1):
            if self._stack[i].tag == tag:
                del self._stack[i:]
                return

    def parse_starttag(self, i: int) -> int:
        """A tag without attributes read by one regex, with the result HTMLParser's own
        reading gives (tests/test_text_shortcuts.py); any other as HTMLParser reads it."""
        m = _BARE_START.match(self.rawdata, i)
        if m is None or self.cdata_elem is not None:
            return super().parse_starttag(i)
        self._HTMLParser__starttag_text = m[0]
        tag = self.lasttag = m[1].lower()
        self.handle_starttag(tag, [])
        if tag in self.CDATA_CONTENT_ELEMENTS:
            self.set_cdata_mode(tag)
        return m.end()

    def parse_endtag(self, i: int) -> int:
        """An end tag without spaces read by one regex (see ``parse_starttag``)."""
        m = _BARE_END.match(self.rawdata, i)
        if m is None or self.cdata_elem is not None:
            return super().parse_endtag(i)
        self.handle_endtag(m[1].lower())
        self.clear_cdata_mode()
        return m.end()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._track(tag, attrs)
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in ("td", "th"):
            self._buf.append(" ")
        elif tag in _BLOCK_TAGS:
            self._flush()
            if tag == "blockquote":
                self._depth += 1
            elif tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        self._untrack(tag)
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS and tag != "br":
            self._flush(paragraph=tag in _PARAGRAPH_TAGS)
            if tag == "blockquote":
                self._depth = max(0, self._depth - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        shown = self._stack[-1]
        if self._skip or shown.hidden or shown.colour == shown.background:
            return
        if not self._pre:
            self._buf.append(data)
            return
        first, *rest = data.split("\n")
        self._buf.append(first)
        for part in rest:
            self._flush()
            self._buf.append(part)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (Outlook sends HTML-only mail).

    Block elements end lines, <blockquote> lines get "> " per level so new_text() drops
    them, and runs of blank lines collapse to one.
    """
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
        parser._flush()
        lines = parser.lines
    except Exception:  # broken markup must not stop a report; fall back to tag stripping
        stripped = re.sub(r"(?is)<!--.*?-->|<(script|style)\b.*?</\1\s*>|<[^>]*>", " ", str(html))
        lines = [(0, _WS.sub(" ", unescape(stripped)).strip())]
    out: list[str] = []
    for depth, text in lines:
        if text:
            out.append("> " * depth + text)
        elif out and out[-1]:
            out.append("")
    return "\n".join(out).strip("\n")
