"""The layers import in one direction only; a check, not a memory (docs/architecture.md).

domain/ holds pure rules: no Telegram, no database, nothing of the project above it. storage/ is the only
place with SQL and knows nothing of Telegram or the layers above. services/ holds the use cases and what
every layer above needs (i18n, settings, logs, the outbox): no Telegram. conversations/ reach the database
only through services/ (a `Session` passes through as a type, rows and enums are read from storage.models),
never calling a storage/ query themselves.
bot/ wires it all together on top. No module imports another that imports it back, even from a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"bot", "conversations", "domain", "services", "storage", "sandbox", "scripts", "bench", "tests", "web"}
PRODUCTION = ("bot", "conversations", "domain", "services", "storage", "sandbox", "web")

# package -> (project packages it may import, outside packages it must not import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "domain": ({"domain"}, {"telegram", "sqlalchemy", "sqlmodel", "alembic", "httpx", "babel"}),
    "storage": ({"domain", "storage"}, {"telegram", "httpx", "babel"}),
    "services": ({"domain", "storage", "services"}, {"telegram", "sqlalchemy", "sqlmodel", "alembic", "httpx"}),
    "conversations": ({"conversations", "domain", "services", "storage"}, {"sqlalchemy", "sqlmodel", "alembic"}),
    # The workspace's views sit beside conversations/: they call the same services (reading storage for lists).
    "web": ({"web", "domain", "services", "storage"}, {"telegram", "sqlalchemy", "sqlmodel", "alembic"}),
    # The fake Telegram stands alone, so it can never agree with the bot by sharing its mistakes.
    "sandbox": ({"sandbox"}, set()),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute import's module in one file, with its line, also inside functions.

    `from package import name` counts as importing `package.name` when that is a module of the project."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists():
                    found.append((node.lineno, candidate))
    return found


def imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute import's top-level package in one file, with its line, also inside functions."""
    return sorted({(line, module.split(".")[0]) for line, module in imported_modules(path)})


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Production module -> the production modules it imports (at the top or inside a function)."""
    paths = [path for package in PRODUCTION for path in sorted((ROOT / package).rglob("*.py"))]
    known = {module_name(path) for path in paths}
    return {
        module_name(path): {module for _, module in imported_modules(path) if module in known} - {module_name(path)}
        for path in paths
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one node (Tarjan), each sorted: every one is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
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


# conversations/ parse the update, call a service and render: the only parts of storage/ they may name are the
# `Session` type that passes through (storage.db) and the row types and enums (storage.models).
STORAGE_FOR_CONVERSATIONS = {"storage.db", "storage.models"}


def storage_imports(path: Path) -> list[tuple[int, str]]:
    """Every import of storage/ in one file, as the module it names (`from storage import care` is storage.care)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "storage"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "storage":
                found += [(node.lineno, f"storage.{alias.name}") for alias in node.names]
            elif node.module.split(".")[0] == "storage":
                found.append((node.lineno, node.module))
    return found


def test_conversations_reach_storage_only_through_services() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}: call a use case in services/ instead"
        for path in sorted((ROOT / "conversations").rglob("*.py"))
        for line, module in storage_imports(path)
        if module not in STORAGE_FOR_CONVERSATIONS
    ]
    assert not wrong, "\n".join(wrong)


def test_the_storage_check_sees_a_query_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from storage import care, people\nfrom storage.db import Session\nfrom storage.models import Person\n"
        "def late():\n    import storage.concerns\n    from storage.rights import relay_facts\n",
        encoding="utf-8",
    )
    assert storage_imports(sample) == [
        (1, "storage.care"),
        (1, "storage.people"),
        (2, "storage.db"),
        (3, "storage.models"),
        (5, "storage.concerns"),
        (6, "storage.rights"),
    ]
    assert [module for _, module in storage_imports(sample) if module not in STORAGE_FOR_CONVERSATIONS] == [
        "storage.care",
        "storage.people",
        "storage.concerns",
        "storage.rights",
    ]


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def late():\n    from telegram import Bot\n    import storage.care\n", encoding="utf-8")
    assert imports(sample) == [(2, "telegram"), (3, "storage")]


def test_no_import_cycles_between_modules() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (an import inside a function counts too):\n" + "\n".join(map(" <-> ".join, found))


def test_no_import_cycles_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        packages.setdefault(module.split(".")[0], set()).update(target.split(".")[0] for target in targets)
    found = cycles({package: targets - {package} for package, targets in packages.items()})
    assert not found, found


def test_the_cycle_check_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


# What a session can do with SQL or rows: outside storage/ a session is only passed on, never used.
SESSION_USE = {
    "add", "add_all", "get", "execute", "exec", "merge", "delete", "flush", "refresh", "query", "scalar",
    "scalars", "commit", "rollback", "expire", "expunge",
}  # fmt: skip


def session_uses(path: Path) -> list[tuple[int, str]]:
    """Every `session.<method>(...)` or `db.<method>(...)` call in one file, with its line."""
    return [
        (node.lineno, f"{node.func.value.id}.{node.func.attr}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"session", "db"}
        and node.func.attr in SESSION_USE
    ]


def test_only_storage_uses_a_session() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} calls {call}: write a function in storage/ instead"
        for package in ("bot", "conversations", "domain", "services", "web")
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, call in session_uses(path)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_session_check_sees_a_use(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(session, db):\n    session.add(row)\n    with db.session() as s:\n        pass\n    db.get(Person, 1)\n",
        encoding="utf-8",
    )
    assert session_uses(sample) == [(2, "session.add"), (5, "db.get")]
