"""Engine and sessions. SQLite is the embedded default; PostgreSQL is reached through psycopg 3."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, delete, event, insert, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidRequestError
from sqlmodel import Session, col, create_engine

DEFAULT_SQLITE_PATH = Path("data") / "waakvlam.sqlite3"


def default_database_url() -> str:
    """The SQLite file the bot uses when no DATABASE_URL is set."""
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; for SQLite, make every transaction take the write lock up front."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        # The project ships psycopg 3 only.
        url = str(parsed.set(drivername="postgresql+psycopg"))
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite safe for several processes: WAL, foreign keys, a busy timeout and BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        """Each new SQLite connection: our own transactions, WAL, foreign keys, a busy timeout."""
        # pysqlite's own transaction handling defers BEGIN and would make two processes
        # read the same due row; we issue BEGIN IMMEDIATE ourselves instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        """Take the write lock at the start of every transaction, so two processes never read the same due row."""
        # Straight on the driver's connection: SQLAlchemy's execution path would cost more than the BEGIN.
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE")


def rowcount(result: Any) -> int:
    """Rows touched by an UPDATE, DELETE or INSERT (typed Result objects hide the attribute)."""
    return int(getattr(result, "rowcount", 0) or 0)


Row = TypeVar("Row")


def saved(session: Session, row: Row) -> Row:
    """Add a new row and flush, so it has its id; the row."""
    session.add(row)
    session.flush()
    return row


def saved_if_new(session: Session, row: Row, *same: Any) -> Row | None:
    """Add a new row and flush, unless a row of its table already holds every condition in `same`: then None."""
    if session.execute(select(type(row)).where(*same).limit(1)).first() is not None:
        return None
    return saved(session, row)


def fresh(session: Session, model: type[Row], key: Any) -> Row | None:
    """A row as stored now (never a copy cached earlier in the session), or None."""
    return session.get(model, key, populate_existing=True)


def reread(*, session: Session, row: Row) -> Row:
    """The same row with what a bulk UPDATE in this transaction just changed."""
    session.refresh(row)
    return row


def attached(*, session: Session, row: Row) -> Row:
    """A row read earlier in this update's other transaction, joined to this session without reading it again.

    A row changed since (not saved) cannot join that way; it is read again instead, as stored."""
    try:
        return session.merge(row, load=False)
    except InvalidRequestError:
        found = session.get(type(row), inspect(row).identity)
        assert found is not None, "a row read in this update is still there"
        return found


def dialect_insert(dialect: str) -> Any:
    """The INSERT construct of a dialect (imported when first needed: a SQLite bot never loads PostgreSQL's)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def upsert_insert(session: Session, model: type[Any]) -> Any:
    """An INSERT of the session's dialect, which can say what to do ON CONFLICT."""
    return dialect_insert(session.get_bind().dialect.name)(model)


# Built once per dialect, table, conflict target, returned column and set of columns given.
_INSERT_NEW: dict[tuple[str, type[Any], tuple[str, ...], str, tuple[str, ...]], Any] = {}


def insert_new(
    session: Session, model: type[Any], values: Mapping[str, Any], *, conflict: Sequence[str], returning: Any
) -> Any:
    """Insert a row unless one with the same `conflict` columns exists: the `returning` value, or None.

    RETURNING, not rowcount: rowcount is not reliable for ON CONFLICT DO NOTHING on every driver. The
    statement is built once and reused (the values are bound parameters), on the table rather than the ORM
    class and run on the session's connection: these inserts are on the hot path, and the ORM's bulk-insert
    layer added a third of their cost while giving nothing here (no objects come back).
    """
    connection = session.connection()
    dialect = connection.dialect.name
    name = str(getattr(returning, "key", ""))
    key = (dialect, model, tuple(conflict), name, tuple(values))
    statement = _INSERT_NEW.get(key) if name else None
    if statement is None:
        table = model.__table__
        statement = (
            dialect_insert(dialect)(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c[name] if name else returning)
        )
        if name:
            _INSERT_NEW[key] = statement
    return connection.execute(statement, dict(values)).scalar_one_or_none()


# One INSERT per table, built once; SQLAlchemy compiles it once per set of columns given.
_INSERT_ROW: dict[type[Any], Any] = {}


def insert_row(session: Session, model: type[Any], values: Mapping[str, Any]) -> None:
    """Insert one row now, on the session's connection, for a write nothing reads back as an object.

    The timeline and the audit log take a row or two per update: made as ORM objects they cost a model
    instance and a unit-of-work flush each, three times what the statement costs."""
    statement = _INSERT_ROW.get(model)
    if statement is None:
        statement = _INSERT_ROW[model] = insert(model.__table__)
    session.connection().execute(statement, dict(values))


def set_given(row: Any, **values: Any) -> None:
    """Set the attributes given (those not None) on a loaded row; the others stay as they are."""
    for name, value in values.items():
        if value is not None:
            setattr(row, name, value)


def updated(session: Session, model: type[Any], *where: Any, **values: Any) -> int:
    """Set `values` on the rows of `model` that every condition in `where` holds for; how many it changed."""
    return rowcount(session.execute(update(model).where(*where).values(**values)))


def set_once(session: Session, model: type[Any], row_id: int, empty: Any, *also: Any, **values: Any) -> bool:
    """Set `values` on one row (by id) while its `empty` column is NULL (and `also` holds); false when it was not."""
    return updated(session, model, col(model.id) == row_id, col(empty).is_(None), *also, **values) == 1


def null_where(session: Session, value: Any, *columns: Any) -> None:
    """Set each of these columns to NULL on the rows of its table where it holds `value` (a person who leaves)."""
    for column in columns:
        updated(session, column.class_, col(column) == value, **{column.key: None})


def delete_where(session: Session, value: Any, *columns: Any) -> None:
    """Delete the rows of each column's table where that column holds `value`, in the order given."""
    for column in columns:
        session.execute(delete(column.class_).where(col(column) == value))


class _Narrowable(Protocol):
    """A query that takes more conditions (a SELECT or an UPDATE)."""

    def where(self, *conditions: Any) -> Any:
        """The query with these conditions added."""


Query = TypeVar("Query", bound=_Narrowable)


def of_families(query: Query, family_column: Any, family_ids: Sequence[int] | None) -> Query:
    """The query narrowed to the rows whose `family_column` is one of these families (None: every family)."""
    return query if family_ids is None else query.where(col(family_column).in_(list(family_ids)))


def update_given(session: Session, model: type[Any], where: Any, **values: Any) -> None:
    """Set the values given (those not None) on the rows `where` holds; nothing given, nothing done."""
    given = {name: value for name, value in values.items() if value is not None}
    if given:
        updated(session, model, where, **given)


# A session that queued outbox rows says so here; its commit then wakes the sender (see `Database`).
OUTBOX_QUEUED = "waakvlam_outbox_queued"
# ... and this when one of them is urgent: the sender looks for it even in the middle of a pass.
OUTBOX_URGENT = "waakvlam_outbox_urgent"


class Database:
    """Owns the engine; hands out short transactions."""

    def __init__(self, url: str) -> None:
        """Connect to the database at `url` (SQLite or PostgreSQL)."""
        self.url = url
        self.engine = make_engine(url)
        # Called after every commit that queued outbox rows, so nobody has to remember to wake the sender.
        self.after_outbox_commit: Callable[[], None] | None = None
        # How many commits queued an urgent message (the sender compares it between its sends).
        self.urgent_commits = 0

    @property
    def dialect(self) -> str:
        """The database's kind: "sqlite" or "postgresql"."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            if session.info.pop(OUTBOX_URGENT, False):
                self.urgent_commits += 1
            if session.info.pop(OUTBOX_QUEUED, False) and self.after_outbox_commit is not None:
                self.after_outbox_commit()

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown, or before a process forks)."""
        self.engine.dispose()


def backup_sqlite(url: str, target: Path) -> int:
    """Copy a SQLite database to `target` while the bot runs (SQLite's online backup); returns bytes.

    The copy is consistent even mid-write: the backup API copies pages under SQLite's own locking,
    unlike `cp`, which can catch a WAL file halfway.
    """
    import sqlite3

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        raise ValueError("backup_sqlite takes a SQLite file URL; for PostgreSQL use pg_dump")
    if target.exists():
        raise FileExistsError(str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(parsed.database)
    copy = sqlite3.connect(str(target))
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target.stat().st_size
