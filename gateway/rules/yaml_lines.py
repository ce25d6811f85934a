"""YAML that remembers its lines, and problems reported as ``file:line: what``.

Every check of rules.yaml reports through `Problems`, so an administrator reads each
problem with the line to fix, and all of them at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class RulesError(Exception):
    """rules.yaml is broken; ``problems`` lists each as 'file:line: what'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class LineDict(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line = 0
    lines: dict


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line, out.lines = node.start_mark.line + 1, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Problems:
    """The problems found so far, each as 'file:line: what'."""

    def __init__(self, path: Path):
        self.path, self.items = path, []

    def add(self, line: int, message: str) -> None:
        self.items.append(f"{self.path}:{line}: {message}")


def line_of(mapping: Any, key: str | None = None) -> int:
    if isinstance(mapping, LineDict):
        return mapping.lines.get(key, mapping.line) if key else mapping.line
    return 0


def read(path: Path) -> LineDict:
    """The YAML of a rules file, with lines; RulesError when it cannot be read at all."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise RulesError([f"{path}: cannot read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise RulesError([f"{path}:{line}: {getattr(exc, 'problem', None) or exc}"]) from exc
    if not isinstance(data, LineDict):
        raise RulesError([f"{path}:1: expected a mapping at the top level"])
    return data
