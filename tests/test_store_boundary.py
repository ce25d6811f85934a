"""SQL and table names live in gateway/store/ only.

Every module under gateway/ is read as source (ast, nothing imported). Outside
gateway/store/, a module may not import sqlite3 or sqlite_utils, hold a string that
reads as SQL, or name a table the way the store does (``db["cases"]``,
``insert(db, "messages", ...)``). Modules still being moved are allow-listed by path in
``NOT_YET_MOVED``; the list may only shrink: an allow-listed module that no longer
breaks the rule fails the test until it is taken off.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
STORE = GATEWAY / "store"

# Modules that still hold SQL, a table name or a sqlite import; emptied as they move.
NOT_YET_MOVED = ()

SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b", re.S)
TABLES = frozenset(
    {
        "messages",
        "raw_messages",
        "cases",
        "events",
        "outbox",
        "reference_numbers",
        "mailboxes",
        "participants",
        "job_runs",
        "alerts",
    }
)
# Store helpers that take a table name: insert(db, "messages", row), blobopen("raw_messages" ...
TABLE_TAKERS = frozenset({"insert", "update", "update_where", "blobopen", "table"})
SQLITE_MODULES = ("sqlite3", "sqlite_utils")


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _text(node: ast.AST) -> str | None:
    """The literal text of a string, an f-string's literal parts joined by a blank."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(_text(part) or "" for part in node.values)
    return None


def _docstrings(tree: ast.Module) -> set[int]:
    """ids of the docstring nodes, which may talk about SQL."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and _text(body[0].value) is not None:
                found.add(id(body[0].value))
    return found


def _imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in SQLITE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in SQLITE_MODULES:
                found.append(node.module)
    return [f"imports {name}" for name in found]


def _sql(tree: ast.Module) -> list[str]:
    """SQL text, and table names given to ``db[...]`` or the store's helpers."""
    found, docs = [], _docstrings(tree)
    for node in ast.walk(tree):
        text = _text(node) if id(node) not in docs else None
        if text and SQL.search(text):
            found.append(f"line {node.lineno}: SQL {text[:60]!r}")
        if isinstance(node, ast.Subscript) and _name(node.value).endswith("db"):
            table = _text(node.slice)
            if table in TABLES:
                found.append(f"line {node.lineno}: table {table!r}")
        if isinstance(node, ast.Call) and _name(node.func) in TABLE_TAKERS:
            for arg in node.args[:2]:
                if _text(arg) in TABLES:
                    found.append(f"line {node.lineno}: table {_text(arg)!r}")
    return found


def offences(path: Path) -> tuple[list[str], list[str]]:
    """(sqlite imports, SQL and table names) of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return _imports(tree), _sql(tree)


def _modules() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in GATEWAY.rglob("*.py") if STORE not in p.parents)


@pytest.mark.parametrize("module", _modules())
def test_sql_only_in_the_store(module):
    imports, sql = offences(ROOT / module)
    if module in NOT_YET_MOVED:
        assert imports or sql, f"{module} holds no SQL any more: take it off NOT_YET_MOVED"
        return
    assert not (imports + sql), f"{module} must leave SQL to gateway/store/: {imports + sql}"


def test_the_allow_lists_name_modules_that_exist():
    for module in NOT_YET_MOVED:
        assert (ROOT / module).is_file(), module


def test_the_check_sees_sql_and_table_names():
    samples = {
        "db.execute('SELECT id FROM cases WHERE x = ?')": True,
        "db.execute(f'UPDATE outbox SET state = {s} WHERE id = ?')": True,
        "insert(db, 'messages', row)": True,
        "db['cases'].get(1)": True,
        "self.db['alerts'].update('k', {})": True,
        "import sqlite3": True,
        "from sqlite_utils import Database": True,
        "log.info('update the cases from the digest')": False,
        "event(db, 'delivered', 'sent')": False,
    }
    for source, expected in samples.items():
        tree = ast.parse(source)
        found = _imports(tree) + _sql(tree)
        assert bool(found) is expected, (source, found)
