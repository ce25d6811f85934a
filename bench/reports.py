"""Realistic deviation reports for the benchmark, modelled on the scenario examples.

Every report is flow a (a municipality employee writing to ``support``), so the shipped
rules relay it to the supplier and send the reporter a receipt: the benchmark measures
the full path, never triage. Shapes follow the examples: plain UTF-8 and ISO-8859-1 text
with quoted-printable, HTML-only as Outlook sends it, multipart/alternative, and
multipart/mixed with small attachments. Bodies are padded with Norwegian log lines to
the wanted size, and every message has its own Message-ID, subject detail and body, so
no duplicate detection can merge two of them. Sizes are of the raw bytes (CRLF lines).
"""

from __future__ import annotations

import binascii
import email.policy
import email.utils
import html
import random
from email.message import EmailMessage, MIMEPart

# The 25 municipalities of rules.yaml (name, address slug): staff write from *@slug.kommune.example.
MUNICIPALITIES: tuple[tuple[str, str], ...] = (
    ("Arendal", "arendal"),
    ("Birkenes", "birkenes"),
    ("Bygland", "bygland"),
    ("Bykle", "bykle"),
    ("Evje og Hornnes", "evje-og-hornnes"),
    ("Farsund", "farsund"),
    ("Flekkefjord", "flekkefjord"),
    ("Froland", "froland"),
    ("Gjerstad", "gjerstad"),
    ("Grimstad", "grimstad"),
    ("Hægebostad", "haegebostad"),
    ("Iveland", "iveland"),
    ("Kristiansand", "kristiansand"),
    ("Kvinesdal", "kvinesdal"),
    ("Lillesand", "lillesand"),
    ("Lindesnes", "lindesnes"),
    ("Lyngdal", "lyngdal"),
    ("Risør", "risor"),
    ("Sirdal", "sirdal"),
    ("Tvedestrand", "tvedestrand"),
    ("Valle", "valle"),
    ("Vegårshei", "vegarshei"),
    ("Vennesla", "vennesla"),
    ("Åmli", "amli"),
    ("Åseral", "aseral"),
)
SUPPORT = "support@trygghet-agder.example"
SUPPLIER = "support@leverandor.example"  # where rules.yaml relays flow a

_FIRST = (
    "Kari Ole Anne Per Lise Jon Ingrid Geir Siri Lars Marit Bjørn Hilde Terje Åse Øystein "
    "Randi Knut Solveig Eirik Tone Arne Gunn Håkon"
).split()
_LAST = (
    "Nordmann Hansen Berg Olsen Dahl Lie Moen Aas Johansen Larsen Pedersen Nilsen Kristiansen "
    "Jensen Karlsen Haugen Bakke Eide Strand Solberg Tveit Løvås Ødegård"
).split()
_TITLES = (
    "Kontaktperson trygghetsteknologi",
    "Sykepleier, hjemmetjenesten",
    "Avdelingsleder, hjemmebaserte tjenester",
    "Helsefagarbeider",
    "Koordinator velferdsteknologi",
)
_SUBJECTS = (
    "Trygghetsalarm uten kontakt med plattform",
    "Fallsensor varsler ikke",
    "Dørsensor melder falske alarmer",
    "Medisindispenser låst",
    "Alarm ble ikke mottatt i plattformen",
    "Batterivarsel mangler på trygghetsalarm",
    "GPS-klokke viser feil posisjon",
    "Røykvarsler koblet fra alarmsentralen",
    "Trygghetsalarm går i feil modus etter oppdatering",
    "HASTER: alarmknapp virker ikke",
    "Forbedringsforslag: varsel om lavt batteri på SMS",
)
_OPENINGS = (
    "Trygghetsalarmen hos en bruker i hjemmetjenesten har ikke hatt kontakt med plattformen "
    "siden fredag. Batteriet er skiftet, men alarmen viser fortsatt rødt lys.",
    "Fallsensoren hos brukeren ga ikke alarm da brukeren falt på badet i natt. Sensoren er "
    "testet etterpå og sender testalarm, men ikke ved reelle fall.",
    "Dørsensoren melder at døren er åpnet flere ganger hver natt, selv om brukeren ligger i "
    "sengen. Pårørende bekrefter at døren har vært låst.",
    "Medisindispenseren har låst seg og gir ikke ut morgendosen. Hjemmetjenesten har måttet "
    "dele ut medisinene manuelt de siste tre dagene.",
    "Plattformen viser ikke alarmer fra denne enheten, men responssenteret mottar dem på "
    "telefon. Vi ber om at dere ser på koblingen mellom enheten og plattformen.",
    "Etter siste programvareoppdatering har flere enheter gått over i feil modus og sender "
    "ikke lenger statusmeldinger.",
)
_EVENTS = (
    "alarm utløst, ingen talekontakt",
    "testalarm sendt fra enheten, ikke mottatt",
    "enheten startet på nytt av hjemmetjenesten",
    "batteri skiftet, lampen lyser fortsatt rødt",
    "bruker ringt opp, alt i orden hos bruker",
    "statusmelding mangler i plattformen",
    "pårørende varslet om feilen",
    "teknisk personell sjekket strømtilførsel",
    "sensoren flyttet nærmere basestasjonen",
    "mobildekning målt til to streker",
)
_ATTACHMENTS = (
    ("logg.pdf", "application/pdf"),
    ("bilde.jpg", "image/jpeg"),
    ("hendelser.csv", "text/csv"),
    ("skjermbilde.png", "image/png"),
)
_SHAPES = ("plain", "latin1", "html", "alternative", "attachment")
_SHAPE_WEIGHTS = (40, 10, 15, 15, 20)


def _log_line(rng: random.Random, seq: int) -> str:
    day, hour, minute = rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59)
    return (
        f"{day:02d}.03.2026 kl. {hour:02d}:{minute:02d} - enhet {rng.randint(10000, 99999)}: "
        f"{rng.choice(_EVENTS)} (loggpost {seq}-{rng.randint(100, 999)})."
    )


def _text(rng: random.Random, seq: int, name: str, municipality: str, padding: int) -> str:
    """The body text: a report, a log padded with about ``padding`` characters, a signature."""
    lines = ["Hei,", "", rng.choice(_OPENINGS)]
    if rng.random() < 0.5:
        lines.append(f"Avviket er registrert i TQM {rng.randint(10000, 99999)}.")
    lines += ["", "Logg fra hjemmetjenesten:"]
    used = 0
    while used < padding:
        line = _log_line(rng, seq)
        lines.append(line)
        used += len(line) + 1
    lines += ["", "Med vennlig hilsen", name, rng.choice(_TITLES), f"{municipality} kommune", ""]
    return "\n".join(lines)


def _html(text: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p)
    return f'<html><head><meta charset="utf-8"></head><body>{paragraphs}</body></html>'


def _build(
    rng: random.Random,
    seq: int,
    tag: str,
    shape: str,
    padding: int,
    attachment: tuple[str, bytes, str] | None,
) -> bytes:
    """One report; the rng state is saved by the caller so sizing retries are identical."""
    municipality, slug = rng.choice(MUNICIPALITIES)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    ascii_local = f"{first}.{last}".lower().translate(str.maketrans("æøå", "eoa"))
    address = f"{ascii_local}@{slug}.kommune.example"
    name = f"{first} {last}"
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr((name, address))
    msg["To"] = SUPPORT
    msg["Subject"] = f"{rng.choice(_SUBJECTS)} (bruker {rng.randint(1000, 9999)}-{seq})"
    msg["Date"] = email.utils.formatdate(localtime=True)
    msg["Message-ID"] = f"<bench.{tag}.{seq}.{rng.getrandbits(48):x}@{slug}.kommune.example>"
    text = _text(rng, seq, name, municipality, padding)
    if shape == "latin1":
        msg.set_content(text, charset="iso-8859-1", cte="quoted-printable")
    elif shape == "html":
        msg.set_content(_html(text), subtype="html", cte="quoted-printable")
    else:
        msg.set_content(text, cte="quoted-printable")
        if shape == "alternative":
            msg.add_alternative(_html(text), subtype="html", cte="quoted-printable")
    if attachment is None:
        return msg.as_bytes(policy=email.policy.SMTP)
    filename, data, ctype = attachment
    part = MIMEPart(policy=email.policy.default)
    part["Content-Type"] = ctype
    part["Content-Transfer-Encoding"] = "base64"
    part["Content-Disposition"] = f'attachment; filename="{filename}"'
    part.set_payload(_PLACEHOLDER.decode() + "\n")
    msg.make_mixed()
    msg.attach(part)
    raw = msg.as_bytes(policy=email.policy.SMTP)
    return raw.replace(_PLACEHOLDER + b"\r\n", _base64_lines(data), 1)


_PLACEHOLDER = b"BENCH-ATTACHMENT-DATA"


def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character CRLF lines, as mail clients write attachments.

    Spliced in after generation: the stdlib encodes and writes line by line in Python,
    which makes a hundred 1 MB reports take most of a minute to generate.
    """
    encoded = binascii.b2a_base64(data, newline=False)
    return b"".join(encoded[i : i + 76] + b"\r\n" for i in range(0, len(encoded), 76))


def _sized(
    rng: random.Random,
    seq: int,
    tag: str,
    shape: str,
    target: int,
    attachment: tuple[str, bytes, str] | None,
    learned: dict[str, float],
) -> bytes:
    """Pad the report until its raw size reaches ``target`` bytes, in two or three builds.

    Building a message costs milliseconds (the stdlib's QP encoder), so the padding is
    estimated from the unpadded size and the raw bytes per padding character (QP and an
    alternative part's HTML copy make it more than one), not searched. That ratio is
    ``learned`` from the reports before it in the same call, starting from a fair
    guess: learned per process, a seed gave other bytes after another call had run.
    """
    state = rng.getstate()
    base = len(_build(rng, seq, tag, shape, 0, attachment))
    ratio = learned.get(shape, 2.3 if shape in ("html", "alternative") else 1.05)
    padding = 0
    raw = b""
    for _ in range(5):  # bounded: the second build normally reaches the target
        padding += max(int((target - (len(raw) or base)) / ratio), 0) + 40
        rng.setstate(state)
        raw = _build(rng, seq, tag, shape, padding, attachment)
        ratio = max((len(raw) - base) / padding, 0.5)
        learned[shape] = ratio
        if len(raw) >= target:
            break
    return raw


def small_reports(n: int, seed: int = 1, tag: str = "s") -> list[bytes]:
    """``n`` reports of 5-20 KB (10^3 bytes), about a fifth with a small attachment."""
    rng = random.Random(seed)
    out: list[bytes] = []
    learned: dict[str, float] = {}
    for seq in range(n):
        target = rng.randint(5_000, 20_000)
        shape = rng.choices(_SHAPES, _SHAPE_WEIGHTS)[0]
        attachment = None
        if shape == "attachment":
            filename, ctype = rng.choice(_ATTACHMENTS)
            size = rng.randint(500, max(600, target // 3))
            data = (
                "\n".join(_log_line(rng, seq) for _ in range(size // 80 + 1)).encode()
                if ctype == "text/csv"
                else rng.randbytes(size)
            )
            attachment = (filename, data, ctype)
        out.append(_sized(rng, seq, tag, shape, target, attachment, learned))
    return out


def attachment_reports(n: int, attachment_bytes: int, seed: int = 2, tag: str = "l") -> list[bytes]:
    """``n`` reports of about 5 KB of text, each with an attachment of ``attachment_bytes``."""
    rng = random.Random(seed)
    out = []
    for seq in range(n):
        data = rng.randbytes(attachment_bytes)
        attachment = ("skjermopptak.zip", data, "application/zip")
        out.append(_build(rng, seq, tag, "plain", 4_000, attachment))
    return out


def message_of_size(total_bytes: int, seed: int = 3, tag: str = "b") -> bytes:
    """One report whose raw size is about ``total_bytes`` (base64 grows data by 4/3 + CRLF)."""
    rng = random.Random(seed)
    data_bytes = int((total_bytes - 4_000) * 57 / 78)  # 57 bytes per 76-char base64 line
    raw = b""
    for _ in range(3):  # bounded: one correction is normally enough
        attachment = ("videoopptak.zip", rng.randbytes(data_bytes), "application/zip")
        raw = _build(random.Random(seed), 0, tag, "plain", 2_000, attachment)
        if abs(len(raw) - total_bytes) < 1_000:
            break
        data_bytes += int((total_bytes - len(raw)) * 57 / 78)
    return raw
