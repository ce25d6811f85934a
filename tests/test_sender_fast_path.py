"""A From of the common form ("Kari Nordmann <kari@x.no>", UTF-8 encoded words in the name
too, or the address alone) is read by a regex (gateway/from_header.py, ``_simple``): the
same Sender as both parsers give, on random values near that form, with every character
that could make them differ."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.from_header import _read_sender, _simple, read_sender

_PIECES = st.sampled_from(
    [
        "Kari",
        "Nordmann",
        "K\u00e5re",
        "\u00c5s",
        "O'Neil",
        "Berg-Hansen",
        "_",
        "-",
        "'",
        "3",
        " ",
        "  ",
        "\t",
        "\u00a0",
        ".",
        ",",
        '"',
        "\\",
        "(",
        ")",
        "<",
        ">",
        "@",
        ":",
        ";",
        "[",
        "]",
        "=?utf-8?q?K=C3=A5re?=",
        "=?UTF-8?Q?=C3=98ystein_L=C3=B8v=C3=A5s?=",
        "=?utf-8?b?w5hkZWfDpXJk?=",
        "=?utf-8?b?w5hkZWfDpXJ?=",
        "=?utf-8?b?w5hkZWfDpX*k?=",
        "=?utf-8?q?=0A?=",
        "=?utf-8?q?=FF?=",
        "=?utf-8?q?a=2Cb?=",
        "=?utf-8?q?=3C?=",
        "=?utf-8?q?_?=",
        "=?utf-8?q??=",
        "=?utf-8?x?abc?=",
        "=?iso-8859-1?q?=E5?=",
        "=?utf-8?q?=E2=80=A8?=",
        "=?utf-8?q?a",
        "kari",
        "kari.nordmann",
        "x.no",
        "valle.kommune.example",
        "a..b",
        ".a",
        "b.",
        "!#$%&*+/=?^`{|}~",
        "\u0131",
        "\u212a",
        "\u00b2",
        "\udce6",
    ]
)


@st.composite
def _values(draw) -> str:
    name = "".join(draw(st.lists(_PIECES, max_size=5)))
    local = "".join(draw(st.lists(_PIECES, min_size=1, max_size=3)))
    domain = "".join(draw(st.lists(_PIECES, min_size=1, max_size=3)))
    addr = f"{local}@{domain}"
    form = draw(st.sampled_from(["{n} <{a}>", "{n}<{a}>", "<{a}>", "{a}", " {a} ", "{n} <{a}> "]))
    return form.format(n=name, a=addr)


@settings(max_examples=1500, deadline=None)
@given(_values())
@example("Kari Nordmann <kari@x.no>")
@example("kari@x.no")
@example("Kari  \t Nordmann <KARI@X.NO>")
@example("=?utf-8?q?=C3=85se?= Karlsen <ase.karlsen@bygland.kommune.example>")
@example("Gunn =?utf-8?b?w5hkZWfDpXJk?=<gunn@x.no>")
@example("=?utf-8?q?=C3=98ystein_L=C3=B8v=C3=A5s?=  <oystein.lovas@x.no>")
def test_the_fast_path_reads_a_from_as_both_parsers_do(value):
    fast = _simple(value)
    if fast is not None:
        assert fast == _read_sender([value])
        assert not fast.ambiguous


def test_the_common_forms_take_the_fast_path():
    assert _simple("Kari Nordmann <kari@x.no>") == read_sender(["Kari Nordmann <kari@x.no>"])
    assert _simple("K\u00e5re \u00c5s <kaare.aas@valle.kommune.example>") is not None
    assert _simple("kari@x.no") is not None
    assert _simple("=?utf-8?q?=C3=85se?= Karlsen <ase@x.no>") is not None
    assert _simple('"Nordmann, Kari" <kari@x.no>') is None  # left to both parsers
