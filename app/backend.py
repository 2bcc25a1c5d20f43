"""The app's back office: a runtime desk (`runtime.desk.Desk`) on its own thread.

The Textual event loop only draws and handles keys. Every query, every change and the live mail
services run on a second asyncio loop in a background thread; screens `await` their results
(`Backend.query`, `Backend.act`) without blocking a frame. A change is the desk's `act`: it runs
as the signed-in user, then the engine drains, so the screen can show at once what status
actions did (SPEC E2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar, runtime_checkable

from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from runtime.desk import Desk, DeskError, Me
from storage import views
from storage.repository import SqlRepository

T = TypeVar("T")
log = logging.getLogger("deskline.app")

# Background services the app can run beside the screens: given the desk and a stop event,
# run until it is set (the mail worker, the demo's customer feed).
Service = Callable[[Desk, asyncio.Event], Coroutine[Any, Any, None]]
BackendError = DeskError  # the database cannot be opened or used; the message is for the user
__all__ = ["Backend", "BackendError", "Me", "Service", "backend_of"]


class Backend:
    def __init__(self, url: str, *, as_user: str | None = None) -> None:
        self.url = url
        self.as_user = as_user
        self._me: Me | None = None
        self.on_error: Callable[[str], None] = lambda message: log.error("%s", message)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="deskline-backend")
        self._desk: Desk | None = None
        self._stop: asyncio.Event | None = None
        self._services: list[asyncio.Task[None]] = []
        self._marker: Any = None
        self._watch_conn: sqlite3.Connection | None = None
        self._version: int | None = None

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    async def open(self) -> Me:
        """Check the schema and find who the user is; raises BackendError with the reason."""
        self._me = await self._call(self._open())
        return self._me

    @property
    def me(self) -> Me:
        """The signed-in user (screens open after `open`)."""
        if self._me is None:
            raise BackendError("the help desk is not open yet")
        return self._me

    async def _open(self) -> Me:
        self._desk = await Desk.open(self.url, as_user=self.as_user, identify=True)
        self._stop = asyncio.Event()
        db = self._desk.db
        if db.is_sqlite:
            path = make_url(db.url).database
            if path and path != ":memory:":
                self._watch_conn = sqlite3.connect(path)
        # The first marker is read now, before any screen reads the desk: a change committed
        # between a screen's first load and the first look must count as a change, not be
        # taken as the starting point (heartbeats no longer make a later reload that hid it).
        await self._changed()
        assert self._desk.me is not None
        return self._desk.me

    def run_service(self, name: str, service: Service) -> None:
        """Start a background service on the backend loop; a crash becomes a notice."""

        def start() -> None:
            assert self._desk is not None and self._stop is not None
            task = self._loop.create_task(service(self._desk, self._stop), name=name)
            task.add_done_callback(self._service_done)
            self._services.append(task)

        self._loop.call_soon_threadsafe(start)

    def _service_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("%s stopped", task.get_name(), exc_info=error)
            self.on_error(f"{task.get_name()} stopped: {error}")

    async def close(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                await self._call(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 10)

    async def _close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._services:
            _, pending = await asyncio.wait(self._services, timeout=5)
            for task in pending:
                task.cancel()
        if self._watch_conn is not None:
            self._watch_conn.close()
            self._watch_conn = None
        if self._desk is not None:
            await self._desk.close()

    # --- work -------------------------------------------------------------------------------

    async def _call(self, coro: Coroutine[Any, Any, T], *, finish: bool = False) -> T:
        """Run `coro` on the backend's thread. A caller cancelled meanwhile (its screen closed,
        a newer search) cancels a read there too; a write (`finish`) is carried through once
        asked for, so what a person did is never cut off halfway by a screen closing."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        waiting = asyncio.wrap_future(future)
        if not finish:
            return await waiting
        try:
            return await asyncio.shield(waiting)
        except asyncio.CancelledError:
            waiting.add_done_callback(_retrieved)  # a failure nobody is left to hear is logged
            raise

    @property
    def desk(self) -> Desk:
        if self._desk is None:
            raise BackendError("the database is not open")
        return self._desk

    async def query(self, fn: Callable[[Session], T]) -> T:
        """A read-only function over a Session (storage.views), on the backend thread."""
        return await self._call(self.desk.query(fn))

    async def act(self, fn: Callable[[SqlRepository, Any], T]) -> T:
        """A change as the signed-in user, committed, then handled by the engine."""
        return await self._call(self.desk.act(fn), finish=True)

    async def read(self, fn: Callable[[SqlRepository, Any], T]) -> T:
        """A read through the repository as the signed-in user (snippets): no write lock."""
        desk = self.desk
        return await self._call(desk.read(lambda repo: fn(repo, desk.user_of(repo))))

    async def store(self, fn: Callable[[SqlRepository], None]) -> None:
        """A bookkeeping write (drafts): no actor, no engine."""
        await self._call(self.desk.store(fn), finish=True)

    async def changed(self) -> bool:
        """True when another connection committed since the last call (live screens)."""
        return await self._call(self._changed())

    async def _changed(self) -> bool:
        if self._stop is None or self._stop.is_set():  # not open yet, or closing
            return False
        if self._watch_conn is not None:
            # Microseconds, and on this (the backend's) thread: `_close` runs here too, so the
            # connection is never closed under a running read (that crashed sqlite3). Only
            # when some connection committed is the marker read: most commits of an idle
            # desk are the heartbeats of its sessions, and those change no screen (a desk
            # with 30 sessions open reloaded every screen several times a second).
            version = _data_version(self._watch_conn)
            if version == self._version:
                return False
            self._version = version
            marker: Any = _sqlite_marker(self._watch_conn)
        else:
            marker = await self.desk.query(views.change_marker)
        if marker == self._marker:
            return False
        first = self._marker is None
        self._marker = marker
        return not first


def _retrieved(done: asyncio.Future[Any]) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        log.warning("a write whose screen had closed failed: %s", error)


def _data_version(conn: sqlite3.Connection) -> int:
    # Changes whenever another connection commits to the file (sqlite.org/pragma.html).
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


# Compiled once, at import: `serve` imports the app before it forks its sessions.
_MARKER_SQL = views.change_marker_sqlite()


def _sqlite_marker(conn: sqlite3.Connection) -> tuple[Any, ...]:
    # fetchall: the statement is done, no read transaction stays open on the file
    return tuple(conn.execute(_MARKER_SQL).fetchall()[0])


@runtime_checkable
class HasBackend(Protocol):
    """What screens need of the App: its backend (the App itself sits above the screens)."""

    backend: Backend


def backend_of(app: object) -> Backend:
    """The running Deskline app's backend, typed."""
    if not isinstance(app, HasBackend):
        raise TypeError("a Deskline screen runs inside the Deskline app")
    return app.backend
