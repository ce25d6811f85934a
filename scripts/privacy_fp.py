"""Count what the detector finds in the real-world corpus and the public examples.

Neither holds real personal data (the corpus is public test mail of mail libraries, the
examples are made up), so every finding there is a false positive or a documented fake.
Prints one line per finding, then a count per kind, so two runs can be diffed:

    .venv/bin/python scripts/privacy_fp.py ../shared/corpus/real-world ../shared/scenario/examples
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from gateway.parse import parse
from gateway.privacy import find_personal_data


def _files(msg) -> list[tuple[str, str | None]]:
    """(where, text) per attachment: its name, and its text (None: not read completely;
    before the scanners, only the formats attachment_text read were held back)."""
    try:
        from gateway.privacy.extract import part_bytes, read_attachment
    except ImportError:  # the code before this change
        from gateway.privacy import attachment_text

        def read(name, ctype, part):
            return attachment_text(name, ctype, part.get_payload(decode=True) or b"") or ""
    else:

        def read(name, ctype, part):
            got = read_attachment(name, ctype, part_bytes(part))
            return got.text if got.complete else None

    out = []
    for part in msg.message.walk():
        name = part.get_filename()
        if part.is_multipart() or not (name or part.get_content_disposition() == "attachment"):
            continue
        out.append((f"name {name!r}", name or ""))
        out.append((f"file {name!r}", read(name or "", part.get("Content-Type", ""), part)))
    return out


def main(folders: list[str]) -> None:
    counts: Counter[str] = Counter()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.eml")):
            try:
                msg = parse(path.read_bytes())
            except Exception:
                continue
            for where, text in (("subject", msg.subject), ("body", msg.body), *_files(msg)):
                if text is None:  # an attachment not read completely: held back
                    counts["held back (not read completely)"] += 1
                    print(f"{path}\t{where}\tunreadable")
                    continue
                for f in find_personal_data(text, emails=False):
                    counts[f.kind] += 1
                    print(f"{path}\t{where}\t{f.kind}\t{f.text!r}")
    for kind, n in sorted(counts.items()):
        print(f"# {kind}: {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
