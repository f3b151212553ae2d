"""Apply Alembic migrations from code, so `python -m bot` brings any database up to date at start.

Alembic itself (a quarter of a second to import) is loaded only when there is something to migrate: a
database already at the newest revision is recognised by reading its `alembic_version` row.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*['\"]?([^'\"\s]+)['\"]?", re.MULTILINE)


def alembic_config(url: str) -> Config:
    """The Alembic configuration for the database at `url`, pointing at our migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revisions() -> set[str]:
    """The newest revisions, read from the migration files (those no other file names as its parent)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for kind, value in _REVISION.findall(path.read_text()):
            if kind == "revision":
                revisions.add(value)
            elif value != "None":
                parents.add(value)
    return revisions - parents


def is_at_head(url: str) -> bool:
    """Whether the database already has every migration (false when unsure: then Alembic looks)."""
    from storage.db import make_engine

    heads = head_revisions()
    if not heads:
        return False
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = {str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    except DBAPIError:
        return False
    finally:
        engine.dispose()
    return current == heads


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to a revision (the latest by default)."""
    if revision == "head" and is_at_head(url):
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` back to a revision."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)
