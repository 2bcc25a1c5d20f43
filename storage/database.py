"""Engines, transactions and migrations for SQLite (default) and PostgreSQL.

Domain code runs as plain functions over a repository (`fn(repo) -> T`). `Database.run` executes one
inside a single transaction on the async engine (aiosqlite / asyncpg) through `run_sync`, so the
change, its timeline events and its domain events commit together (SPEC E2). `Database.run_bulk`
does the same on one synchronous SQLite connection in a worker thread: bulk import awaits no
statement one by one (GUIDE "Ingestion speed"), and PostgreSQL falls back to `run`.

A `Database` may be given a clock (`Database(url, clock=fn)`, `fn() -> aware datetime`): the
repositories it hands out read the time from it (`repo.now()`) and stamp every row they write
with it. The default is the real UTC time.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from storage.repository import SqlRepository

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0007"  # the newest migration; tests/test_migrations.py checks it
BUSY_TIMEOUT_MS = int(os.environ.get("DESKLINE_BUSY_TIMEOUT_MS", "10000"))


class DatabaseError(Exception):
    """A database problem worth one clear line to the user (bad URL, locked, unreachable)."""


def normalize_url(url: str) -> str:
    """Accept plain paths and sync-driver URLs; return an async SQLAlchemy URL."""
    if "://" not in url:
        return f"sqlite+aiosqlite:///{Path(url).expanduser().resolve()}"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"bad database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is switched off: `_sqlite_begin` issues ours.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-16384")  # 16 MiB of pages per connection
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Write transactions start with BEGIN IMMEDIATE: they wait (busy timeout) for another
    writer instead of failing when their read snapshot went stale, which is what a deferred
    transaction in WAL mode does. Reads (`Database.query`) stay deferred and never wait."""
    mode = "DEFERRED" if conn.get_execution_options().get("read_only") else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _watch_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)


def describe_error(exc: BaseException) -> str:
    """One line for a database failure, without a traceback."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if "database is locked" in text:
        return "the database is locked by another process (try again, or stop the other writer)"
    if isinstance(orig, ConnectionRefusedError):
        return f"cannot connect to the database server: connection refused ({text})"
    if isinstance(orig, sqlite3.OperationalError | OSError | ConnectionError):
        return f"cannot open the database: {text}"
    return text


class Database:
    def __init__(
        self, url: str, *, echo: bool = False, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.url = normalize_url(url)
        self._clock = clock  # None: the real UTC time
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _watch_sqlite(self.engine.sync_engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )
        self._sync_engine: Engine | None = None

    def now(self) -> datetime:
        """The time this database's changes see: its clock, else the real UTC time."""
        return self._clock() if self._clock is not None else datetime.now(UTC)

    async def run(self, fn: Callable[[Any], T]) -> T:
        """Run `fn` in one transaction; commit on return, roll back on exception."""
        try:
            async with self._sessions() as session, session.begin():
                return await session.run_sync(lambda s: fn(self._repository(s)))
        except OperationalError as exc:
            raise DatabaseError(describe_error(exc)) from exc

    async def query(self, fn: Callable[[Session], T]) -> T:
        """Run a read-only function over a plain Session (the read models in `storage.queries`).

        On SQLite it reads a snapshot without taking the write lock; nothing it does is kept."""
        try:
            async with self._read_sessions() as session, session.begin():
                try:
                    return await session.run_sync(fn)
                finally:
                    await session.rollback()
        except OperationalError as exc:
            raise DatabaseError(describe_error(exc)) from exc

    async def run_bulk(self, fn: Callable[[Any], T]) -> T:
        """Like `run`, on a synchronous SQLite connection in a thread (PostgreSQL: `run`)."""
        if not self.is_sqlite:
            return await self.run(fn)
        return await asyncio.to_thread(self._run_blocking, fn)

    def _run_blocking(self, fn: Callable[[Any], T]) -> T:
        engine = self._blocking_engine()
        try:
            with sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                return fn(self._repository(session))
        except OperationalError as exc:
            raise DatabaseError(describe_error(exc)) from exc

    def _repository(self, session: Session) -> SqlRepository:
        return SqlRepository(session, clock=self._clock)

    def _blocking_engine(self) -> Engine:
        if self._sync_engine is None:
            url = make_url(self.url).set(drivername="sqlite+pysqlite")
            self._sync_engine = create_engine(
                url,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _watch_sqlite(self._sync_engine)
        return self._sync_engine

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run any number of times)."""
        try:
            async with self.engine.begin() as conn:
                await conn.run_sync(_upgrade)
        except (OperationalError, DBAPIError, OSError) as exc:
            raise DatabaseError(describe_error(exc)) from exc

    async def schema_revision(self) -> str | None:
        """The Alembic revision of this database, or None before `init`."""
        try:
            async with self.engine.connect() as conn:
                if not await conn.run_sync(lambda c: inspect(c).has_table("alembic_version")):
                    return None
                result = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                return result.scalar()
        except (OperationalError, DBAPIError, OSError) as exc:
            raise DatabaseError(describe_error(exc)) from exc

    async def is_initialized(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                return await conn.run_sync(lambda c: inspect(c).has_table("alembic_version"))
        except (OperationalError, DBAPIError, OSError) as exc:
            raise DatabaseError(describe_error(exc)) from exc

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def alembic_config() -> Config:
    from alembic.config import Config  # imported here: 0.15 s that only `init` needs

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _upgrade(connection: Connection) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def default_database_url() -> str:
    """`DESKLINE_DB`, else a file in the user's data directory (XDG)."""
    env = os.environ.get("DESKLINE_DB")
    if env:
        return env
    from platformdirs import user_data_dir

    return str(Path(user_data_dir("deskline")) / "deskline.db")
