"""Find personal data in free text: Nordic identity numbers, phone numbers, e-mail addresses.

Identity numbers are accepted only when python-stdnum's check digits (and the date they encode)
hold, so random 10-12 digit numbers rarely match. Phone numbers have no checksum; they are
matched only in common Norwegian notations and filtered by the numbering plan (phonenumbers)
and by context, because a plain 8-digit run is more often an id, amount or date than a phone.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable, Iterable, Iterator

import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum import luhn
from stdnum.exceptions import ValidationError
from stdnum.no import fodselsnummer
from stdnum.se import personnummer

from gateway.privacy.kinds import Detector, Finding, Kind
from gateway.privacy.normalise import has_line_joins, normalise
from gateway.privacy.shape import Shape, shape
from gateway.reading import READING, alternatives

__all__ = ["KINDS", "Finding", "find_personal_data"]

# A space inside a number may be a no-break space, also as an HTML entity in raw HTML bodies.
_SP = r"(?:[ \u00a0\u202f]|&nbsp;|&\#160;)"
_SP1 = r"[ \u00a0\u202f]"  # fixed width, for look-behind
# Stand-alone: no digit next to the number, and not the tail/head of a decimal like 3.1415...
_NUM_START = r"(?<!\d)(?<!\d[.,])"
_NUM_END = r"(?!\d)(?![.,]\d)"

# The look-behinds of _NUM_START are checked after the first digit (each one a character
# longer), so the regex engine only tries positions where a digit is: the same matches,
# several times faster on a long text with few numbers.
_FIRST_DIGIT = r"\d(?<!\d\d)(?<!\d[.,]\d)"
# Between the groups: a space, a dash or a dot, the last two with a space either side.
_GROUPS = rf"(?:{_SP}?[-.]{_SP}?|{_SP})"
_NO_ID = re.compile(rf"({_FIRST_DIGIT}\d{{5}}){_GROUPS}?(\d{{5}}){_NUM_END}")
# Swedish numbers have one Luhn digit only, so also refuse tokens like message ids and hex.
_SE_ID = re.compile(
    rf"({_FIRST_DIGIT}(?<![^\W\d_]\d)(?<![^\W_][.]\d)(?:\d{{7}}|\d{{5}}))({_GROUPS}|\+)?(\d{{4}})"
    rf"{_NUM_END}(?![^\W\d_])(?![.@][^\W_])"
)


def _norwegian_kind(digits: str) -> str | None:
    """Kind of a valid Norwegian number (stdnum accepts D- and H-numbers), else None."""
    if digits[0] in "89":
        # FH-number (felles hjelpenummer, used in health care for people without a
        # fødselsnummer): no date, same check digits. stdnum rejects it, so check by hand.
        ok = digits[9] == fodselsnummer.calc_check_digit1(digits)
        ok = ok and digits[10] == fodselsnummer.calc_check_digit2(digits)
        return "fodselsnummer" if ok else None
    if not fodselsnummer.is_valid(digits):
        return None
    return "d-nummer" if int(digits[:2]) > 40 else "fodselsnummer"


def _swedish_kind(date: str, sep: str, serial: str) -> str | None:
    """Kind of a valid Swedish number, else None.

    stdnum.se.personnummer rejects samordningsnummer (day + 60) as an invalid date, so the
    date is checked with the day moved back and the Luhn digit on the number as written.
    """
    if len(date) == 8 and date[:2] not in ("18", "19", "20"):
        return None
    if not luhn.is_valid(date[-6:] + serial):
        return None
    day = int(date[-2:])
    kind = "samordningsnummer" if 61 <= day <= 91 else "personnummer"
    if kind == "samordningsnummer":
        date = f"{date[:-2]}{day - 60:02d}"
    try:
        born = personnummer.get_birth_date(date + (sep if sep == "+" else "-") + serial)
    except ValidationError:
        return None
    return kind if born <= datetime.date.today() else None


# Both patterns start with a run of six or more digits: none can match before the first
# such run, and text without one (log lines, dates, times) needs no scan at all.
_SIX_DIGITS = re.compile(r"\d{6}")


def _id_start(text: str) -> int | None:
    """Where the first run of six digits starts (the look-behinds still see the text
    before it); None when there is none, and so no identity number."""
    first = _SIX_DIGITS.search(text)
    return None if first is None else first.start()


def _norwegian_ids(text: str, start: int) -> list[Finding]:
    """Fødselsnummer (also FH-numbers) and D-nummer, from ``start`` on."""
    found = []
    for m in _NO_ID.finditer(text, start):
        kind = _norwegian_kind(m.group(1) + m.group(2))
        if kind:
            found.append(Finding(kind, m.start(), m.end(), m.group()))
    return found


def _swedish_ids(text: str, start: int) -> list[Finding]:
    """Personnummer and samordningsnummer, from ``start`` on."""
    found = []
    for m in _SE_ID.finditer(text, start):
        kind = _swedish_kind(m.group(1), m.group(2) or "", m.group(3))
        if kind:
            found.append(Finding(kind, m.start(), m.end(), m.group()))
    return found


def _id_findings(text: str, known: Iterable[str] = ()) -> list[Finding]:
    """Every national identity number, Norwegian ones first. One detector for the four
    kinds (see `Kind`), so the text is searched for its first six digits once."""
    start = _id_start(text)
    if start is None:
        return []
    return _norwegian_ids(text, start) + _swedish_ids(text, start)


# Norwegian subscriber numbers: 8 digits starting 2-9, optionally after +47/0047.
_PHONE = re.compile(
    rf"""
    (?=[(+0-9])  # what a match starts with: other positions skip the look-behinds below
    (?<![\w+.\#@=&%$€£§<])(?<![^\d\n\r][/-])  # not glued to a word, reference, amount,
    # path or id (at the start of a line as at the start of the text: nothing before it)
    (?<!\d:)(?<!\d{_SP1})              # not a time, not the next group of a digit sequence
    (?<![0-9a-fA-F]\d{_SP1})(?<!\d[a-fA-F]{_SP1})     # not inside a hex dump
    (?P<prefix>\(?(?:\+|00)47\)?(?:{_SP}|-)?)?
    (?P<number>[2-9]\d{{7}}  # groups: 3-2-3 or 2-2-2-2, one separator all through
      |[2-9]\d\d(?P<s3>{_SP}|[-.])\d\d(?P=s3)\d{{3}}
      |[2-9]\d(?P<s2>{_SP}|-)\d\d(?P=s2)\d\d(?P=s2)\d\d)  # with dots: an IPv4 address
    (?![\w@%€$£>])(?![/-][^\d\s])(?![.:]\d)(?![.@]\w)  # a "/" or "-" glues it to what
    # follows it on the line ("91234567/abc"), and at the end of a line or text to nothing
    (?!{_SP1}(?:\d|[a-fA-F]\d))
    """,
    re.VERBOSE,
)
# Phone words near a number win over the label and amount rules below.
# Abbreviated ("Mobnr", "Telnr") and the labels of a contact's numbers ("Kontaktnr",
# "Direkte", "Privat", "Vakttelefon"): all say phone, not reference.
_PHONE_WORDS = re.compile(
    r"tlf|telef|mobil|\bmob|phone|\btel(?:nr|\b)|fax|faks|sms|\bring|kontakt|direkte|"
    r"privat|hjemme|sentralbord|\bvakt",
    re.I,
)
_AMOUNT_BEFORE = re.compile(r"(?:\b(?:kr|nok|sek|dkk|eur|usd|gbp)|[$€£])[.:\s]*$", re.I)
# A label such as "Ordrenummer:", "Saksnr", "TID :" or "Invoice #" names an identifier.
_LABEL_BEFORE = re.compile(
    rf"(?:{alternatives(READING.label_endings)}|\b{alternatives(READING.label_words)})[.:#\s]*$",
    re.I,
)
# Punctuation between numbers makes a list of ids or a decimal, unless a phone word says so.
# \Z, not $: "$" also matches before a line break, so "punkt 4." at the end of one line
# hid a phone number at the start of the next (in LF text only: CRLF put \r in the way).
_DIGIT_BEFORE = re.compile(r"\d[^\w\s]{1,2}\Z")
_DIGIT_AFTER = re.compile(r"[^\w\s]{1,2}\d")
# A unit after the number, on the same line: "kr" opening the next line is no unit of it.
_UNIT_AFTER = re.compile(
    r"[^\S\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?:kr\b|nok\b|,-|\.-|bytes?\b|octets?\b|[kmg]i?b\b)",
    re.I,
)
_PERSONAL_LINES = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


def _is_date(digits: str) -> bool:
    """True for DDMMYYYY or YYYYMMDD in 1900-2099: common in ids and file names."""
    for year, month, day in (
        (digits[4:], digits[2:4], digits[:2]),
        (digits[:4], digits[4:6], digits[6:]),
    ):
        try:
            datetime.date(int(year), int(month), int(day))
        except ValueError:
            continue
        if 1900 <= int(year) <= 2099:
            return True
    return False


def _context_says_not_phone(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    # Collapse padding so a label in a wide, column-aligned form stays in view.
    before = re.sub(r"\s+", " ", text[max(line_start, start - 200) : start])[-30:]
    if _PHONE_WORDS.search(before):
        return False
    return bool(
        _DIGIT_BEFORE.search(text, max(0, start - 3), start)  # "(22001)(71702078)", "5,2"
        or _DIGIT_AFTER.match(text, end, end + 3)
        or _AMOUNT_BEFORE.search(before)
        or _LABEL_BEFORE.search(before)
        or _UNIT_AFTER.match(text, end, end + 10)
    )


# What every phone number's number group matches (without the back-references), as a
# pattern that starts with a character: text without it needs no scan with _PHONE, and
# no match of _PHONE starts more than _PREFIX_MAX characters before the first of them.
_NUMBER_CANDIDATE = re.compile(
    rf"[2-9](?:\d{{7}}|\d\d(?:{_SP}|[-.])\d\d(?:{_SP}|[-.])\d{{3}}"
    rf"|\d(?:{_SP}|-)\d\d(?:{_SP}|-)\d\d(?:{_SP}|-)\d\d)"
)
_PREFIX_MAX = 16  # "(0047)" and "&nbsp;": 12 characters, and a margin


def _phone_matches(text: str) -> Iterator[re.Match[str]]:
    """_PHONE's matches, as ``finditer`` gives them, from where the first can start."""
    first = _NUMBER_CANDIDATE.search(text)
    if first is not None:
        yield from _PHONE.finditer(text, max(0, first.start() - _PREFIX_MAX))


def _phone_findings(text: str, known: Iterable[str] = ()) -> list[Finding]:
    """Norwegian phone numbers of persons. A detector: see `Kind`."""
    found = []
    for m in _phone_matches(text):
        digits = re.sub(r"\D", "", m.group("number").replace("&#160;", " "))
        prefixed = m.group("prefix") is not None
        if not prefixed and digits == m.group("number") and _is_date(digits):
            continue
        if _context_says_not_phone(text, m.start(), m.end()):
            continue
        number = phonenumbers.parse(digits, "NO")
        if not phonenumbers.is_valid_number(number):
            continue
        # Service numbers (8xx) belong to businesses, not persons.
        if phonenumbers.number_type(number) not in _PERSONAL_LINES:
            continue
        found.append(Finding("telefonnummer", m.start(), m.end(), m.group()))
    return found


_EMAIL = re.compile(r"(?<![\w.%+'-])[\w%+'-]+(?:\.[\w%+'-]+)*@(?:[\w-]+\.)+[^\W\d_]{2,}(?![\w-])")


def _is_known(address: str, exact: frozenset[str], domains: frozenset[str]) -> bool:
    address = address.lower()
    return address in exact or address.rpartition("@")[2] in domains


def _email_findings(text: str, known_addresses: Iterable[str]) -> list[Finding]:
    """E-mail addresses other than ``known_addresses``. A detector: see `Kind`."""
    if "@" not in text:  # no address can match: skip the scan
        return []
    matches = list(_email_matches(text))
    if not matches:
        return []
    exact, domains = _known(tuple(known_addresses))
    return [
        Finding("e-postadresse", m.start(), m.end(), m.group())
        for m in matches
        if not _is_known(m.group(), exact, domains)
    ]


@functools.lru_cache(maxsize=16)
def _known(addresses: tuple[str, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """The known addresses and the domains of "*@domain", in lower case. Cached: the
    same list comes with every text of a message (some dozen addresses, no text)."""
    exact: set[str] = set()
    domains: set[str] = set()
    for entry in addresses:
        entry = entry.strip().lower()
        if entry.startswith("*@"):
            domains.add(entry[2:])
        elif entry:
            exact.add(entry)
    return frozenset(exact), frozenset(domains)


_LOCAL = "_.%+'-"  # with the letters and digits: what _EMAIL's look-behind refuses before it


def _email_matches(text: str) -> Iterator[re.Match[str]]:
    """_EMAIL's matches, as ``finditer`` gives them, tried only where they can start:
    where the run of local-part characters before an "@" begins. _EMAIL begins with a
    look-behind, so ``finditer`` tried it at every position of the text."""
    end, at = 0, text.find("@")
    while at != -1:
        start = at
        while start > end and (text[start - 1].isalnum() or text[start - 1] in _LOCAL):
            start -= 1
        inside = start == end > 0 and (text[end - 1].isalnum() or text[end - 1] in _LOCAL)
        m = None if inside else _EMAIL.match(text, start)
        if m is not None:
            yield m
            end = m.end()
        at = text.find("@", max(at + 1, end))


def _merge(text: str, findings: list[Finding]) -> list[Finding]:
    """Sort and merge overlapping findings into one span so no part of either leaks.

    The merged finding takes the kind of its longest member (e.g. an identity number used as
    the local part of an e-mail address becomes one e-mail finding).
    """
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -(f.end - f.start))):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            longest = max(last, f, key=lambda x: x.end - x.start)
            end = max(last.end, f.end)
            merged[-1] = Finding(longest.kind, last.start, end, text[last.start : end])
        else:
            merged.append(f)
    return merged


# The kinds of personal data, in the order their detectors run (see gateway/privacy/kinds.py).
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("fodselsnummer", _id_findings),
        Kind("d-nummer", _id_findings),
        Kind("personnummer", _id_findings),
        Kind("samordningsnummer", _id_findings),
        Kind("telefonnummer", _phone_findings, switch="phones"),
        Kind("e-postadresse", _email_findings, switch="emails"),
    )
}

# What each detector needs to find anything, as its text's shape tells (see shape.py).
_NEEDS: dict[Detector, Callable[[Shape], bool]] = {
    _id_findings: Shape.may_hold_id,
    _phone_findings: Shape.may_hold_phone,
}


def find_personal_data(
    text: str,
    *,
    known_addresses: Iterable[str] = (),
    phones: bool = True,
    emails: bool = True,
) -> list[Finding]:
    """Return personal data in `text`, sorted by start and non-overlapping.

    The text is read as a mail client shows it (see normalise.py): the findings' spans are
    in `text` as written. Identity numbers are always searched. `known_addresses` lists
    addresses that are not personal data for this purpose (the parties' own mailboxes);
    `*@domain` allows any address at exactly that domain (not its subdomains). Comparison
    is case-insensitive.
    """
    off = {switch for switch, on in (("phones", phones), ("emails", emails)) if not on}
    detectors = dict.fromkeys(k.detector for k in KINDS.values() if k.switch not in off)
    found: list[Finding] = []
    seen = shape(text)
    readings = [(normalise(text, seen=seen), detectors)]
    # A soft line break (with a space, or with nothing: DelSp) between digits: a shape
    # that leaves the text as written has none.
    if not seen.normal and has_line_joins(text):
        numbers = [d for d in detectors if d is not _email_findings]
        readings.append((normalise(text, joined=True, seen=seen), numbers))
    for reading, run in readings:
        # A normal shape was taken of the text with its dashes as "-": the reading's own.
        held = seen if seen.normal else shape(reading.text)
        for detector in run:
            if detector in _NEEDS and not _NEEDS[detector](held):
                continue  # nothing it looks for can be there
            for f in detector(reading.text, known_addresses):
                start, end = reading.span(f.start, f.end)
                found.append(Finding(f.kind, start, end, text[start:end]))
    return _merge(text, found)


def find_in_name(name: str, **options) -> list[Finding]:
    """Personal data in a file name: in the whole name, and in the name before its
    extension, where a number glued to ".txt" reads as one to a person but not to the
    patterns (which refuse a number glued to a word, as in "41234567.no")."""
    found = find_personal_data(name, **options)
    stem, dot, extension = name.rpartition(".")
    if dot and stem and extension.isalnum() and len(extension) <= 5:
        found = _merge(name, found + find_personal_data(stem, **options))
    return found
