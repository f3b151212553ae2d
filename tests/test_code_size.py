"""Sizes a newcomer can hold (issue 13): a check, not a memory.

Every production module is at most 600 lines, every function (methods and nested functions too) at most 60
lines from its `def` to its last line, and every function has a docstring saying what it is for. The
migrations are generated, so they are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ("bot", "conversations", "domain", "services", "storage", "web", "sandbox")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def production_files() -> list[Path]:
    """Every Python file of the production packages, the migrations left out."""
    return [
        path
        for package in PRODUCTION
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.relative_to(ROOT).parts
    ]


def functions(path: Path) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function defined in one file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def where(path: Path, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """A function as `package/module.py:line name`, for a failure message."""
    return f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"


def test_the_check_sees_the_production_code() -> None:
    files = production_files()
    assert len(files) > 100
    assert not any("migrations" in path.parts for path in files)


def test_no_module_is_over_600_lines() -> None:
    too_long = [
        f"{path.relative_to(ROOT)} ({count} lines)"
        for path in production_files()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them): {too_long}"


def test_no_function_is_over_60_lines() -> None:
    too_long = [
        f"{where(path, node)} ({count} lines)"
        for path in production_files()
        for node in functions(path)
        if (count := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {too_long}"


def test_every_function_has_a_docstring() -> None:
    missing = [
        where(path, node) for path in production_files() for node in functions(path) if not ast.get_docstring(node)
    ]
    assert not missing, f"functions without a docstring (one line saying what it is for): {missing}"
