"""The ceiling: the least any IMAP-to-SMTP gateway must do, as its own process.

It waits in IDLE like the gateway, and on EXISTS fetches every new message by UID in
batches (BODY.PEEK[], imapclient) and sends it unchanged over one SMTP connection:
no parsing, no database, no moving to a processed folder. It runs as a subprocess, as
the gateway does, so that neither competes with the benchmark's SMTP sink for one GIL.

    python -m bench.bare --port P --user U --password-env VAR --smtp-port S --count N
"""

from __future__ import annotations

import argparse
import os
import smtplib
import sys
import time

from imapclient import IMAPClient

LOOPBACK = "127.0.0.1"


def run(args: argparse.Namespace) -> int:
    """Forward ``args.count`` messages (or give up at ``args.timeout``); 0 when all went."""
    deadline = time.monotonic() + args.timeout
    imap = IMAPClient(LOOPBACK, port=args.port, ssl=False, timeout=30)
    imap.login(args.user, os.environ[args.password_env])
    imap.select_folder("INBOX")
    last = max(imap.search("ALL"), default=0)
    smtp = smtplib.SMTP(LOOPBACK, args.smtp_port, timeout=30)
    sent = 0
    print("ready", flush=True)
    while sent < args.count and time.monotonic() < deadline:
        imap.idle()
        woken = False
        while not woken and time.monotonic() < deadline:
            responses = imap.idle_check(timeout=1.0)
            woken = any(isinstance(r, tuple) and r[1:2] == (b"EXISTS",) for r in responses)
        imap.idle_done()
        uids = sorted(u for u in imap.search(["UID", f"{last + 1}:*"]) if u > last)
        for start in range(0, len(uids), args.batch):
            batch = uids[start : start + args.batch]
            fetched = imap.fetch(batch, ["BODY.PEEK[]"])
            for uid in batch:
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is not None:
                    smtp.sendmail(args.mail_from, [args.rcpt], bytes(raw))
                    sent += 1
            last = batch[-1]
    smtp.quit()
    imap.logout()
    print(f"sent {sent} of {args.count}", flush=True)
    return 0 if sent >= args.count else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="IMAP port on 127.0.0.1")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", required=True, help="variable holding the password")
    parser.add_argument("--smtp-port", type=int, required=True, help="SMTP port on 127.0.0.1")
    parser.add_argument("--count", type=int, required=True, help="stop after this many")
    parser.add_argument("--batch", type=int, default=50, help="UIDs per FETCH (gateway: 50)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after seconds")
    parser.add_argument("--mail-from", default="avviksgateway@trygghet-agder.example")
    parser.add_argument("--rcpt", default="support@leverandor.example")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
