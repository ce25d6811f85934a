"""new_text() looks for a quote only on the lines where one can start (gateway/text.py):
a forward header or "From:" line found by one scan of the whole text, a line with an
attribution word near. On random texts built from the words these patterns look for,
it cuts where the patterns tried on every line cut. html_to_text() reads a tag without
attributes by a regex, with what HTMLParser's own reading gives, and whitespace as
before."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway import text as t
from gateway.html_text import _TextExtractor, html_to_text
from gateway.reading import READING


def _starts_quote_plain(lines: list[str], i: int) -> bool:
    line = lines[i]
    if t._FORWARD.fullmatch(line):
        return True
    if t._FROM_FIELD.match(line):
        for field_line in lines[i + 1 : i + 5]:
            if not field_line.strip():
                break
            if t._DATE_FIELD.match(field_line):
                return True
    span = t._attribution_lines(lines, i)
    return span == 1 or (
        span > 1 and not any(t._attribution_lines(lines, j) for j in range(i + 1, i + span))
    )


def _new_text_plain(body: str) -> str:
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    lines = body.split("\n")
    kept: list[str] = []
    cut = False
    for i, line in enumerate(lines):
        if t._QUOTED.match(line):
            continue
        if _starts_quote_plain(lines, i):
            cut = True
            break
        kept.append(line)
    while kept and (not kept[-1].strip() or (cut and t._SEPARATOR.fullmatch(kept[-1]))):
        kept.pop()
    return "\n".join(kept)


_WORDS = [
    *READING.forward,
    *READING.header_from,
    *READING.header_date,
    *READING.attribution_words,
    "Original Message",
    "ORIGINAL MESSAGE",
    "Videresendt melding",
    "\u0130",
    "\u0131",
    "\u212a",
    "\u017f",
    "\x0b",
    "\u2028",
    "\r",
    "\t",
    "-----",
    "---------- ",
    ":",
    " ",
    "\n",
    "\n\n",
    "> ",
    "*",
    "Kari",
    "12.03.2026",
    "kl. 10:15",
    "Am",
    "On",
    "Den",
    ",",
    ".",
]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=40))
@example(["Hei\n\nDen 12. mars 2026 kl. 10:15\nskrev Kari Nordmann <kari@x.no>:\ngammel"])
@example(["Hei\n\n--Original Message--\ngammel"])
@example(["Hei\n \u2028Videresendt melding:\x0b\ngammel"])
@example(["Hei\n\nOn Tue, Mar 12, 2026 at 10:15 AM Kari <kari@x.no>\nwrote:\ngammel"])
def test_new_text_cuts_where_the_patterns_alone_cut(pieces):
    body = "".join(pieces)
    assert t.new_text(body) == _new_text_plain(body)


def test_a_header_wrapped_over_two_lines_is_cut_at_its_first():
    body = "Hei\n\nDen 12. mars 2026 kl. 10:15\nskrev Kari Nordmann <kari@x.no>:\ngammel"
    assert t.new_text(body) == "Hei"


_TAGS = st.sampled_from(
    ["<p>", "</p>", "<div>", "</div>", "<br>", "<b>", "</b>", "<span style='color:white'>",
     "</span>", "<blockquote>", "</blockquote>", "<pre>", "</pre>", "<td>", "Hei", " ",
     "\u00a0", "\t\n", "du", "&nbsp;", "\u2003", "x\u200by"]
)  # fmt: skip
_WS = re.compile(r"\s+")


@settings(max_examples=300, deadline=None)
@given(st.lists(_TAGS, max_size=30))
def test_html_lines_are_the_text_with_whitespace_runs_as_one_space(pieces):
    text = html_to_text("".join(pieces))
    for line in text.split("\n"):
        assert line == line.strip() or line.startswith("> ")
        assert _WS.sub(" ", line) == line


class _Recording(_TextExtractor):
    """Records every call HTMLParser makes, then handles it as html_to_text does."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list = []

    def handle_starttag(self, tag, attrs):
        self.calls.append(("start", tag, attrs, self.get_starttag_text(), self.lasttag))
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.calls.append(("end", tag, self.cdata_elem))
        super().handle_endtag(tag)

    def handle_data(self, data):
        self.calls.append(("data", data, self.cdata_elem))
        super().handle_data(data)


class _Plain(_Recording):
    """HTMLParser's own reading of every tag."""

    parse_starttag = HTMLParser.parse_starttag
    parse_endtag = HTMLParser.parse_endtag


_HTML = st.sampled_from(
    ["<p>", "</p>", "<P>", "</P >", "<br>", "<br/>", "<br />", "<b>", "</b>", "<h1>", "</h1>",
     "<script>", "</script>", "<style>", "</STYLE>", "<!-- x -->", "<!DOCTYPE html>",
     "<span style='color:white'>", "<a href=\"x?a=1&amp;b\">", "</a>", "</ p>", "</>",
     "<p", "<", ">", "&amp;", "&#248;", "&nbsp", "Hei", "\n", " ", "<pre>", "</pre>",
     "<blockquote>", "</blockquote>", "<div hidden>", "</div>", "<x1>", "</x1>", "<1>", "<?x>"]
)  # fmt: skip


def _read(cls, html: str):
    parser = cls()
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.calls, parser.lines


@settings(max_examples=500, deadline=None)
@given(st.lists(_HTML, max_size=30))
def test_bare_tags_read_by_a_regex_as_htmlparser_reads_them(pieces):
    html = "".join(pieces)
    assert _read(_Recording, html) == _read(_Plain, html)
