"""RT's sendmail in the tests: hand each message RT sends to the gateway's SMTP intake.

Called by RT as ``sendmail [-t] [recipients]`` with the message on stdin; the first two
arguments (the intake port and a folder for copies) come from the wrapper script
tests/rt_helpdesk.py writes. A copy of every message is kept for the test to read.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import re
import smtplib
import sys
import time
from pathlib import Path


def _short_lines(raw: bytes) -> bytes:
    """RT writes its HTML parts in 8bit with lines over SMTP's 998 octets; a mail server
    would re-encode them on the way (the gateway's intake refuses such lines): do so."""
    if all(len(line) <= 998 for line in raw.splitlines()):
        return raw
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        if not part.is_multipart() and part.get_content_maintype() == "text":
            subtype = part.get_content_subtype()
            part.set_content(part.get_content(), subtype=subtype, cte="quoted-printable")
    return msg.as_bytes(policy=email.policy.SMTP)


def main() -> None:
    port, folder, args = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    raw = _short_lines(sys.stdin.buffer.read())
    (folder / f"{time.time_ns()}.eml").write_bytes(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    named = [a for a in args if not a.startswith("-")]
    if not named or "-t" in args:
        fields = [str(msg.get(h, "")) for h in ("To", "Cc", "Bcc")]
        named += [a for _, a in email.utils.getaddresses(fields) if a]
    sender = email.utils.parseaddr(str(msg.get("From", "")))[1]
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail(sender, named, re.sub(rb"\r?\n", b"\r\n", raw))  # RT writes bare LF


if __name__ == "__main__":
    main()
