"""header() writes a value that fits on its line and is printable ASCII as it is
(gateway/headers.py, ``_fits``): the same line as folding it word by word gives."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.headers import _fits, _fold, _tokens, header

_NAMES = st.sampled_from(["Subject", "Date", "Thread-Topic", "References", "Message-ID"])
_CHARS = st.sampled_from(list(" \tabcXYZ019=?_,.:;<>@-()\"'\u00e6\x7f\x00"))


@settings(max_examples=800, deadline=None)
@given(_NAMES, st.text(alphabet=_CHARS, min_size=1, max_size=90))
@example("Date", "Thu, 03 Dec 2026 12:54:37 +0000")
@example("X-Auto-Response-Suppress", "OOF, AutoReply")
@example("Subject", "a  b ")
def test_a_value_that_fits_is_written_as_folding_writes_it(name, value):
    if len(name) + 2 + len(value) <= 78 and _fits(value):
        ids = name.lower() in ("references", "message-id")
        assert header(name, value) == _fold(name, _tokens(value, ids))


def test_values_that_need_folding_or_encoding_do_not_fit():
    assert _fits("Thu, 03 Dec 2026 12:54:37 +0000")
    assert not _fits(" leading space")
    assert not _fits("=?utf-8?q?x?=")
    assert not _fits("tab\there")
    assert not _fits("\u00e6")
