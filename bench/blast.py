"""The sink's own capacity: send prepared messages over one SMTP connection, no IMAP.

aiosmtpd reads DATA line by line in Python, so with big messages the sink, not the
client, can set the pace; this number says how close a ceiling is to that limit. It
runs as a subprocess, like the bare loop, and reads its messages from a file written by
``write_messages`` (each one preceded by its length as 8 bytes, big-endian).

    python -m bench.blast --smtp-port S FILE
"""

from __future__ import annotations

import argparse
import smtplib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"


def write_messages(path: Path, raws: Sequence[bytes]) -> None:
    with open(path, "wb") as out:
        for raw in raws:
            out.write(len(raw).to_bytes(8, "big"))
            out.write(raw)


def read_messages(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while header := source.read(8):
            yield source.read(int.from_bytes(header, "big"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.blast", description=__doc__)
    parser.add_argument("--smtp-port", type=int, required=True, help="SMTP port on 127.0.0.1")
    parser.add_argument("--mail-from", default="avviksgateway@trygghet-agder.example")
    parser.add_argument("--rcpt", default="support@leverandor.example")
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    raws = list(read_messages(args.file))  # read first: only sending is measured
    smtp = smtplib.SMTP(LOOPBACK, args.smtp_port, timeout=60)
    for raw in raws:
        smtp.sendmail(args.mail_from, [args.rcpt], raw)
    smtp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
