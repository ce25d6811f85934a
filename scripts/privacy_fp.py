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


def main(folders: list[str]) -> None:
    counts: Counter[str] = Counter()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.eml")):
            try:
                msg = parse(path.read_bytes())
            except Exception:
                continue
            for where, text in (("subject", msg.subject), ("body", msg.body)):
                for f in find_personal_data(text, emails=False):
                    counts[f.kind] += 1
                    print(f"{path}\t{where}\t{f.kind}\t{f.text!r}")
    for kind, n in sorted(counts.items()):
        print(f"# {kind}: {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
