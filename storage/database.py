"""Engines, transactions and migrations for SQLite (default) and PostgreSQL.

Domain code runs as plain functions over a repository (`fn(repo) -> T`). `Database.run` executes one
inside a single transaction on the async engine (aiosqlite / asyncpg) through `run_sync`, so the
change, its timeline events and its domain events commit together (SPEC E2). `Database.run_bulk`
does the same on one synchronous SQLite connection in a worker thread: bulk import awaits no
statement one by one (GUIDE "Ingestion speed"), and PostgreSQL falls back to `run`.

Reads (`query`, the schema check) never take SQLite's write lock: they begin DEFERRED and read a
WAL snapshot while a writer works (D9). A file this process may not write is opened read-only
(`mode=ro`), and `immutable` when its folder is read-only too and holds no WAL files, so a read-only
copy of a desk can still be read.

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
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

from storage.conflicts import rerun_on_conflict
from storage.repository import SqlRepository

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0020"  # the newest migration; tests/test_migrations.py checks it
BUSY_TIMEOUT_MS = int(os.environ.get("DESKLINE_BUSY_TIMEOUT_MS", "10000"))
# How many times a batch runs when it keeps losing to concurrent transactions (run_bulk).
BULK_ATTEMPTS = 6


class DatabaseError(Exception):
    """A database problem worth one clear line to the user (bad URL, locked, unreachable)."""


def normalize_url(url: str) -> str:
    """Accept plain paths and sync-driver URLs (`postgres://` too); return an async SQLAlchemy
    URL."""
    if "://" not in url:
        return f"sqlite+aiosqlite:///{Path(url).expanduser().resolve()}"
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"bad database URL {url!r}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseError(
        f"unsupported database {backend!r} in {url!r}: use a file path, sqlite:///PATH or "
        "postgresql://USER@HOST/DATABASE"
    )


def known_revisions() -> frozenset[str]:
    """The schema revisions this version's migrations know (a newer database has another)."""
    return frozenset(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("*_*.py"))


def _read_only_url(path: Path) -> URL:
    """A URI that opens `path` read-only; `immutable` where SQLite could not open its WAL files
    (a read-only folder without them): nobody can be writing to it then."""
    query = {"mode": "ro", "uri": "true"}
    wal_files = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    if not os.access(path.parent, os.W_OK) and not any(f.exists() for f in wal_files):
        query["immutable"] = "1"
    return URL.create("sqlite+aiosqlite", database=f"file:{quote(str(path))}", query=query)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is switched off: `_sqlite_begin` issues ours.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # Set once (it persists in the file); only asked after, which needs no lock (D9).
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
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


def describe_error(exc: BaseException, where: str | None = None) -> str:
    """One line for a database failure, without a traceback; `where` names the database."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    at = f" {where}" if where else ""
    if "database is locked" in text:
        return (
            f"the database{at} is locked by another process (try again, or stop the other writer)"
        )
    if "readonly database" in text:
        return (
            f"the database{at} is read-only: commands that change it cannot run "
            "(reading commands such as `deskline tickets` work)"
        )
    if "file is not a database" in text:
        return f"{where or 'the file'} is not a database (SQLite says: {text})"
    if isinstance(orig, ConnectionRefusedError):
        return f"cannot connect to the database server{at}: connection refused ({text})"
    if isinstance(orig, OSError | ConnectionError):
        return f"cannot connect to the database{at}: {text}"
    if isinstance(orig, sqlite3.OperationalError | sqlite3.DatabaseError):
        return f"cannot open the database{at}: {text}{_why_unopenable(where, text)}"
    return text


def _why_unopenable(where: str | None, text: str) -> str:
    """What SQLite's "unable to open database file" means for this path."""
    if where is None or "unable to open" not in text or "://" in where:
        return ""
    path = Path(where)
    if path.is_dir():
        return " (it is a folder)"
    if not path.parent.is_dir():
        return f" (the folder {path.parent} does not exist)"
    if not os.access(path.parent, os.W_OK):
        return f" (the folder {path.parent} is not writable)"
    return ""


class Database:
    def __init__(
        self, url: str, *, echo: bool = False, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.url = normalize_url(url)
        self._clock = clock  # None: the real UTC time
        self.is_sqlite = self.url.startswith("sqlite")
        self.path = self._file_path()
        # A file this process may not write is read through a read-only URI (D9).
        self.read_only = self.path is not None and _exists_read_only(self.path)
        engine_url: str | URL = self.url
        if self.read_only and self.path is not None:
            engine_url = _read_only_url(self.path)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        self.engine: AsyncEngine = create_async_engine(engine_url, **kwargs)
        if self.is_sqlite:
            _watch_sqlite(self.engine.sync_engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(
            self.engine.execution_options(read_only=True), expire_on_commit=False
        )
        self._sync_engine: Engine | None = None

    def _file_path(self) -> Path | None:
        """The SQLite file (None: PostgreSQL, or an in-memory database)."""
        if not self.is_sqlite:
            return None
        path = make_url(self.url).database
        return Path(path) if path and path != ":memory:" and not path.startswith("file:") else None

    @property
    def where(self) -> str:
        """The database in words for messages: its file, or its URL without the password."""
        if self.path is not None:
            return str(self.path)
        url = make_url(self.url)
        return url.set(drivername=url.get_backend_name()).render_as_string()

    def _failed(self, exc: BaseException) -> DatabaseError:
        return DatabaseError(describe_error(exc, self.where))

    def now(self) -> datetime:
        """The time this database's changes see: its clock, else the real UTC time."""
        return self._clock() if self._clock is not None else datetime.now(UTC)

    async def run(self, fn: Callable[[Any], T]) -> T:
        """Run `fn` in one transaction; commit on return, roll back on exception."""
        try:
            async with self._sessions() as session, session.begin():
                return await session.run_sync(lambda s: fn(self._repository(s)))
        except OperationalError as exc:
            raise self._failed(exc) from exc

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
            raise self._failed(exc) from exc

    async def read(self, fn: Callable[[SqlRepository], T]) -> T:
        """`query` with a repository: a read through the domain's accessors, never a write
        lock (it returns plain values: what it loaded is expired when it ends)."""
        return await self.query(lambda session: fn(self._repository(session)))

    async def run_bulk(self, fn: Callable[[Any], T]) -> T:
        """Like `run`, on a synchronous SQLite connection in a thread (PostgreSQL: `run`).

        A batch that loses to a concurrent transaction (a deadlock, a serialization failure)
        is rolled back whole and run again, a few times with a growing random pause: its
        messages are not failures (storage/conflicts.py)."""
        if not self.is_sqlite:
            return await rerun_on_conflict(lambda: self.run(fn), BULK_ATTEMPTS, "a batch")
        return await rerun_on_conflict(
            lambda: asyncio.to_thread(self._run_blocking, fn), BULK_ATTEMPTS, "a batch"
        )

    def _run_blocking(self, fn: Callable[[Any], T]) -> T:
        engine = self._blocking_engine()
        try:
            with sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
                return fn(self._repository(session))
        except OperationalError as exc:
            raise self._failed(exc) from exc

    def _repository(self, session: Session) -> SqlRepository:
        return SqlRepository(session, clock=self._clock)

    def _blocking_engine(self) -> Engine:
        if self._sync_engine is None:
            url = make_url(self.url).set(drivername="sqlite+pysqlite")
            if self.read_only and self.path is not None:
                url = _read_only_url(self.path).set(drivername="sqlite+pysqlite")
            self._sync_engine = create_engine(
                url,
                connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
            )
            _watch_sqlite(self._sync_engine)
        return self._sync_engine

    async def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (safe to run any number of times);
        a new SQLite file is created here, with its folder."""
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            async with self.engine.begin() as conn:
                await conn.run_sync(_upgrade)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise DatabaseError(f"cannot create the database {self.where}: {reason}") from exc
        except (OperationalError, DBAPIError) as exc:
            raise self._failed(exc) from exc

    def exists(self) -> bool:
        """False only for a SQLite file that is not there (yet)."""
        return self.path is None or self.path.exists()

    async def schema_revision(self) -> str | None:
        """The Alembic revision of this database, or None before `init`. A read: no write lock,
        and a missing SQLite file is not created."""
        if not self.exists():
            return None
        try:
            async with self.engine.execution_options(read_only=True).connect() as conn:
                if not await conn.run_sync(lambda c: inspect(c).has_table("alembic_version")):
                    return None
                result = await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                return result.scalar()
        except (OperationalError, DBAPIError, OSError) as exc:
            raise self._failed(exc) from exc

    async def is_initialized(self) -> bool:
        return await self.schema_revision() is not None

    async def close(self) -> None:
        await self.engine.dispose()
        if self._sync_engine is not None:
            self._sync_engine.dispose()


def _exists_read_only(path: Path) -> bool:
    return path.exists() and not os.access(path, os.W_OK)


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
