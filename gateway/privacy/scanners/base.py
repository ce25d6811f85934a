"""What the scanners share: their result, the limits, and the budget of one read."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Contents:
    """The text read, and whether it is all the text there is."""

    text: str
    complete: bool
    why: str = ""  # when incomplete: "image", "encrypted", "time limit", ...
    known: bool = True  # False: a format no scanner reads


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20_000_000  # one attachment, as sent
    max_expanded: int = 100_000_000  # everything an archive unpacks to, nested ones too
    max_entries: int = 1_000  # files in archives, nested ones too
    max_depth: int = 3  # archives and forwarded messages inside each other
    seconds: float = 20.0  # the whole read


@dataclass
class Budget:
    """What is left of the limits while one attachment is read (nested reads share it)."""

    limits: Limits
    deadline: float
    expanded: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    def spend(self, size: int, entries: int = 0) -> bool:
        """Count `size` unpacked bytes and `entries` files; False when over a limit."""
        self.expanded += size
        self.entries += entries
        if self.expanded > self.limits.max_expanded or self.entries > self.limits.max_entries:
            self.problems.append("archive limit")
            return False
        if time.monotonic() > self.deadline:
            self.problems.append("time limit")
            return False
        return True


# A scanner reads an inner file (in an archive, a document, a message) through this:
# file name, content type, bytes, budget, depth -> what was read. It is read_part of
# scanners/__init__.py, passed in so that no scanner imports the package (no cycle).
Recurse = Callable[[str, str, bytes, "Budget", int], Contents]
