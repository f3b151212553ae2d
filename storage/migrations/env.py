"""Alembic environment: the tables are the SQLModel metadata."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on the metadata)
from storage.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url
    engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename); with foreign keys enforced the drop of a table
            # that other rows point at fails. SQLite's own advice: switch them off for the rebuild, outside
            # any transaction (where the pragma would do nothing), and check them afterwards.
            # Straight on the driver's connection: SQLAlchemy would open its transaction (BEGIN IMMEDIATE) first.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds tables instead.
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            driver = connection.connection.driver_connection
            broken = driver.execute("PRAGMA foreign_key_check").fetchall()  # type: ignore[union-attr]
            driver.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
            assert not broken, f"the migration left rows pointing nowhere: {broken[:5]}"
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
