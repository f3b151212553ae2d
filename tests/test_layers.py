"""The layers import in one direction only; a check, not a memory (docs/architecture.md).

domain/ holds pure rules: no Telegram, no database, nothing of the project above it. storage/ is the only
place with SQL and knows nothing of Telegram or the chat layer. conversations/ reach the database through
storage/'s functions (a `Session` passes through as a type), never by building SQL themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"bot", "conversations", "domain", "storage", "sandbox", "scripts", "bench", "tests"}

# package -> (project packages it may import, outside packages it must not import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "domain": ({"domain"}, {"telegram", "sqlalchemy", "sqlmodel", "alembic", "httpx", "babel"}),
    "storage": ({"domain", "storage"}, {"telegram", "httpx"}),
    # conversations -> bot is the wiring's shared parts (i18n, context, logs); see docs/architecture.md.
    "conversations": ({"bot", "conversations", "domain", "storage"}, {"sqlalchemy", "alembic"}),
    # The fake Telegram stands alone, so it can never agree with the bot by sharing its mistakes.
    "sandbox": ({"sandbox"}, set()),
}


def imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute import's top-level package in one file, with its line, also inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(RULES))
def test_a_layer_imports_only_what_is_below_it(package: str) -> None:
    allowed, banned = RULES[package]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in imports(path)
        if (name in PROJECT and name not in allowed) or name in banned
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def late():\n    from telegram import Bot\n    import storage.care\n", encoding="utf-8")
    assert imports(sample) == [(2, "telegram"), (3, "storage")]
