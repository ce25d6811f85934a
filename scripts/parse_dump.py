"""Dump what ``parse()`` makes of every message in the corpus and the examples.

One JSON line per file: every ParsedMessage field but ``.message``, or the reason
an UnparseableMessage gave. Two runs (before and after a change to parsing) are diffed:

    .venv/bin/python scripts/parse_dump.py ../shared/corpus/real-world \\
        ../shared/scenario/examples profiles/*/examples > /tmp/parse.jsonl

A file name of ten lower-case letters and .txt or .rtf is masked: mail-parser named an
attachment without a name so, at random.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

from gateway.parse import UnparseableMessage, parse

_RANDOM_NAME = re.compile(r"[a-z]{10}\.(txt|rtf)")


def _files(root: Path) -> list[Path]:
    index = root / "index.tsv"
    if index.exists():
        rows = index.read_text(encoding="utf-8").splitlines()[1:]
        return [root / row.split("\t", 1)[0] for row in rows]
    return sorted(root.glob("*.eml"))


def _fields(raw: bytes) -> dict:
    try:
        msg = parse(raw)
    except UnparseableMessage as exc:
        return {"unparseable": str(exc)}
    out = {f.name: getattr(msg, f.name) for f in dataclasses.fields(msg) if f.name != "message"}
    out["attachments"] = [
        [_RANDOM_NAME.sub(r"<random>.\1", a.filename), a.content_type, a.size]
        for a in msg.attachments
    ]
    out["headers"] = list(msg.headers.items())
    return out


def main(roots: list[str]) -> None:
    for root in roots:
        for path in _files(Path(root)):
            line = {"path": str(path), **_fields(path.read_bytes())}
            print(json.dumps(line, ensure_ascii=False, default=list))


if __name__ == "__main__":
    main(sys.argv[1:])
