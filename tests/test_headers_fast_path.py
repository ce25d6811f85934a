"""header() writes a value that fits on its line and is printable ASCII as it is
(gateway/headers.py, ``_fits``): the same line as folding it word by word gives; and
qp_body() splits a body into lines only when it has a CR, with the same bytes."""

from __future__ import annotations

import binascii

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.headers import _fits, _fold, _tokens, header, qp_body

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


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab \t=.\n\r\u00e6\x0b\x0c\x1c\u2028\u0085")), max_size=60
    )
)
@example("")
@example("a\n")
@example("a\n\n")
def test_a_body_is_split_into_lines_as_before(body):
    """qp_body() splits lines only when there is a CR: the same bytes as always splitting."""
    data = b"\n".join(body.encode("utf-8").splitlines()) + b"\n"
    assert qp_body(body) == binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")
