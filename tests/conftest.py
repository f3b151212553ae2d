"""Shared fixtures: fresh databases (SQLite always, PostgreSQL where a server is reachable)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from domain.clock import FakeClock

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg
    except ImportError as error:  # pragma: no cover - psycopg is a dependency
        return f"psycopg not importable: {error}"
    try:
        with psycopg.connect(_plain(POSTGRES_ADMIN_URL), connect_timeout=3) as connection:
            connection.execute("select 1")
    except Exception as error:
        return f"no PostgreSQL server at {POSTGRES_ADMIN_URL.split('@')[-1]} ({type(error).__name__})"
    return None


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


_PROBLEM = _postgres_problem()
requires_postgres = pytest.mark.skipif(_PROBLEM is not None, reason=f"PostgreSQL tests skipped: {_PROBLEM}")


def create_postgres_database() -> tuple[str, str]:
    """A new, empty database on the test server; returns (url, name)."""
    import psycopg

    name = f"waakvlam_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(POSTGRES_ADMIN_URL), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _sep, _db = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{name}", name


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(_plain(POSTGRES_ADMIN_URL), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/waakvlam.sqlite3"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if _PROBLEM is not None:
        pytest.skip(f"PostgreSQL tests skipped: {_PROBLEM}")
    url, name = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
