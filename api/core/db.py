"""The database layer shared by every domain: engine, declarative base, session per request.

One request (or one CLI job) gets one session; the request boundary commits it once when
the response is a success, and rolls it back otherwise. Operations only ``flush()``.
"""

from __future__ import annotations

import enum
import math
import select
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Enum, MetaData, String, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

# Stable constraint names, so Alembic migrations are the same on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """An instant in UTC. Stored naive-UTC on every backend, always returned aware."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def str_enum(enum_cls: type[enum.StrEnum], name: str, length: int = 32) -> Enum:
    """A column type storing a StrEnum's values as plain strings (CHECK-free, portable)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class IdMixin:
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def insert_ignoring_conflicts(
    db: Session, model: type[Base], rows: list[dict[str, Any]], index_elements: list[str]
) -> int:
    """INSERT ... ON CONFLICT DO NOTHING on either backend: concurrent first writes of
    the same key both succeed, and only one row exists. Returns how many were inserted."""
    if not rows:
        return 0
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(rows).on_conflict_do_nothing(index_elements=index_elements)
    # RETURNING counts what went in on both backends (rowcount is -1 under psycopg here).
    keys = list(model.__table__.primary_key.columns)  # type: ignore[attr-defined]  # mapped model
    return len(db.execute(statement.returning(*keys)).all())


CHUNK = 500  # values per IN list (PostgreSQL allows 65,535 bound parameters in all)


def in_chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``, for IN lists that must stay bounded. The
    one way every domain splits them."""
    chunk: list[T] = []
    for value in values:
        chunk.append(value)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def hw_distance(lat1: float, lng1: float, lat2: float, lng2: float) -> float | None:
    """Great-circle distance in metres; PostgreSQL has the same as a SQL function."""
    if None in (lat1, lng1, lat2, lng2):
        return None
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(min(1.0, a)))


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    """The settings every SQLite connection gets once, when it is opened."""

    def _set(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("hw_distance", 4, hw_distance, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # A lock held longer than this is a 503 (api/core/errors.py), not a hung request.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # Deleted rows are overwritten, not left in free pages (erasure, crypto-shredding).
        cursor.execute("PRAGMA secure_delete=ON")
        # A reset log is truncated, so stale frames (old rows) do not linger at its end.
        cursor.execute("PRAGMA journal_size_limit=0")
        cursor.close()

    return _set


# PostgreSQL pool: connections older than this are replaced (a server or proxy that drops
# idle connections after a while, a failover); libpq waits for ever to connect unless told.
POOL_RECYCLE_SECONDS = 1800
POOL_TIMEOUT_SECONDS = 10
CONNECT_TIMEOUT_SECONDS = 5
DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5000


def _dead_on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled PostgreSQL connection the server has already ended (a restart,
    ``pg_terminate_backend``, a cut network): the pool then connects afresh, so the request
    never sees the dead one. An idle connection has nothing to read; when its socket is
    readable (or hung up), the server said goodbye. One poll(2), no round trip, unlike
    ``pool_pre_ping``; a false alarm (a parameter report after a configuration reload)
    costs one reconnect."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        ready = poller.poll(0)
    except (OSError, ValueError) as error:  # no usable socket any more
        raise DisconnectionError("connection socket unusable") from error
    if ready:
        raise DisconnectionError("the server closed the connection while it was idle")


def make_engine(
    url: str, echo: bool = False, *, sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    # hide_parameters: a database error in the logs must not carry what a member wrote.
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        # Pooled (the default for a file), so the PRAGMAs run once per connection, not per
        # request; an in-memory database gets SQLAlchemy's single shared connection.
        # ``timeout`` is the busy wait while the connection is set up; the PRAGMA in
        # ``_sqlite_pragmas`` the one every statement gets.
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": sqlite_busy_timeout_ms / 1000},
        )
        event.listen(engine, "connect", _sqlite_pragmas(sqlite_busy_timeout_ms))
        return engine
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in make_url(url).query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    # A connection the server ended is found on checkout (``_dead_on_checkout``) or, at the
    # latest, by the error it gives: SQLAlchemy then invalidates it and every connection
    # pooled before it, so one restart costs at most the requests that were running.
    engine = create_engine(
        url,
        echo=echo,
        pool_size=5,
        max_overflow=10,
        pool_recycle=POOL_RECYCLE_SECONDS,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        hide_parameters=True,
        connect_args=connect_args,
    )
    event.listen(engine, "checkout", _dead_on_checkout)
    return engine


class Database:
    """Holds the engine and session factory of one app."""

    def __init__(
        self,
        url: str,
        echo: bool = False,
        sqlite_busy_timeout_ms: int = DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
    ) -> None:
        self.url = url
        self.engine = make_engine(url, echo, sqlite_busy_timeout_ms=sqlite_busy_timeout_ms)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def share(self, key: str, value: Any) -> None:
        """Give every session of this app ``value`` as ``session.info[key]`` (what a session
        event listener needs of its app: the keyring, the sync declarations)."""
        info = dict(self.sessionmaker.kw.get("info") or {})
        info[key] = value
        self.sessionmaker.configure(info=info)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"


def init_app(app: Flask) -> Database:
    database = Database(
        app.config["DATABASE_URL"],
        app.config["SQL_ECHO"],
        app.config.get("SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS),
    )
    app.extensions["homeward.db"] = database

    @app.teardown_appcontext
    def _close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None or session.in_transaction():
                _rollback(session)
            session.close()

    return database


def get_db() -> Database:
    database: Database = current_app.extensions["homeward.db"]
    return database


def get_session() -> Session:
    """The session of the current request or CLI command (created on first use)."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    session: Session = g.db_session
    return session


def commit_session() -> None:
    """Commit the current session, if one was opened. Called once, at the boundary."""
    session: Session | None = g.get("db_session")
    if session is not None:
        session.commit()


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    except DBAPIError:
        # Only a connection that is gone fails to roll back, and the server has dropped
        # its transaction with it: nothing was saved. The connection is not pooled again.
        session.invalidate()


def rollback_session() -> None:
    session: Session | None = g.get("db_session")
    if session is not None:
        _rollback(session)
