"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL (`alembic check`)."""

from __future__ import annotations

from alembic import command

from storage import migrate


def test_the_migrated_schema_is_the_models_schema(database_url: str) -> None:
    migrate.upgrade(database_url)
    # Raises when autogenerate would find a difference: a model changed without its migration.
    command.check(migrate.alembic_config(database_url))
