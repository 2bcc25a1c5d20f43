"""`deskline serve`: the SSH door (SPEC §11) on asyncssh.

A connection authenticates with a public key only, matched against the desk's keys (the SSH
user name is ignored, S1). A pty session runs the app as the key's user in a forked child
(runtime.ssh_children); an exec request runs one allowed read-only command the same way (S4).
No shell, no port, agent or X11 forwarding, no SFTP, no subsystem. This module never imports
the app: what a child runs is given by the caller (`Launcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from runtime import ssh_children as children
from runtime.files import create_private
from storage.database import Database
from storage.repository import SqlRepository

log = logging.getLogger("deskline.ssh")
T = TypeVar("T")

DEFAULT_LISTEN = "127.0.0.1:2222"
HOST_KEY_NAME = "ssh_host_ed25519_key"
KEY_CHECK_SECONDS = 2.0


@dataclass(frozen=True)
class DoorLimits:
    """SPEC S5's defaults."""

    sessions_per_user: int = 5
    idle_seconds: float = 60 * 60
    failures_allowed: int = 10  # failed logins from one address within failure_window...
    failure_window: float = 60.0
    block_seconds: float = 5 * 60  # ...block it this long


@dataclass(frozen=True)
class Launcher:
    """What the children run, given by the CLI (which may import the app)."""

    app: Callable[[str], int]  # the user's name -> exit code; stdin/stdout are the pty
    command: Callable[[str, list[str]], int]  # the user's name, argv -> exit code
    refusal: Callable[[list[str]], str | None]  # why argv may not run (None: allowed)


@dataclass
class Identity:
    user_id: int
    user_name: str
    fingerprint: str


def parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen takes ADDRESS:PORT (e.g. {DEFAULT_LISTEN}), not {text!r}")
    host = host.strip("[]")
    # A numeric address: asyncio then resolves nothing in a thread (the parent keeps none, S5).
    return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]), int(port)


def load_host_key(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The server's ed25519 host key, generated at the first start (SPEC S6: a file of 0600,
    never in the database); True when it was just made."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise PermissionError(
                f"the host key {path} is readable by others: chmod 600 it (or remove it to "
                "make a new one, which clients will then warn about)"
            )
        return asyncssh.read_private_key(str(path)), False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="deskline")
    with os.fdopen(create_private(path), "wb") as out:
        out.write(key.export_private_key())
    return key, True


class Door:
    """The listening server: the desk's keys, the sessions open per user, the failures per
    address, the login records; each database use opens and closes its own connection, so
    that a fork never copies one (S5)."""

    def __init__(self, url: str, launcher: Launcher, limits: DoorLimits | None = None) -> None:
        self.url = url
        self.launcher = launcher
        self.limits = limits or DoorLimits()
        self.sessions: dict[int, set[DoorSession]] = defaultdict(set)
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.blocked_until: dict[str, float] = {}
        self._quiet = asyncio.Lock()  # held by each database use and by each fork
        self.server: asyncssh.SSHAcceptor | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._key_watch: asyncio.Future[None] | None = None

    async def start(self, host: str, port: int, host_key: asyncssh.SSHKey) -> None:
        self.server = await asyncssh.create_server(
            lambda: DoorConnection(self),
            host,
            port,
            server_host_keys=[host_key],
            encoding=None,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            sftp_factory=None,
            login_timeout=60,
            keepalive_interval=60,
        )
        self._key_watch = asyncio.ensure_future(self._watch_keys())

    async def close(self) -> None:
        if self._key_watch is not None:
            self._key_watch.cancel()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for sessions in list(self.sessions.values()):
            for session in list(sessions):
                session.stop("the server is stopping")

    async def _watch_keys(self) -> None:
        """A key removed (or its user) ends the sessions it opened within seconds (S1)."""
        while True:
            await asyncio.sleep(KEY_CHECK_SECONDS)
            live = [session for sessions in self.sessions.values() for session in sessions]
            if not live:
                continue
            try:
                owners = await self.with_database(
                    lambda repo: {key.fingerprint: key.user_id for key in repo.ssh_keys()}
                )
            except Exception:  # the database is busy or away: the next round tries again
                log.warning("could not read the keys", exc_info=True)
                continue
            for session in live:
                if owners.get(session.who.fingerprint) != session.who.user_id:
                    session.stop(
                        "your key was removed from the desk: the session ends", "key removed"
                    )

    # --- the database, briefly ------------------------------------------------------------

    async def with_database(self, fn: Callable[[SqlRepository], T]) -> T:
        async with self._quiet:
            db = Database(self.url)
            try:
                return await db.run(fn)
            finally:
                await db.close()

    async def fork(self, start: Callable[[], children.Child]) -> children.Child:
        """Fork with no database connection open and no other thread (S5)."""
        async with self._quiet:
            self._fresh_executor()
            deadline = time.monotonic() + 2.0
            while threading.active_count() > 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            if threading.active_count() > 1:
                log.warning("forking with threads alive: %s", threading.enumerate())
            return start()

    def _fresh_executor(self) -> None:
        """asyncio's default executor keeps idle threads: a new one (no thread yet) replaces
        it before each fork, and the old one's threads are joined."""
        old, self._executor = self._executor, ThreadPoolExecutor(thread_name_prefix="door")
        asyncio.get_running_loop().set_default_executor(self._executor)
        if old is not None:
            old.shutdown(wait=True)

    async def identify(self, fingerprint: str) -> Identity | None:
        def find(repo: SqlRepository) -> Identity | None:
            key = repo.ssh_key_by_fingerprint(fingerprint)
            if key is None:
                return None
            return Identity(key.user_id, key.user.name, fingerprint)

        return await self.with_database(find)

    async def open_login(self, who: Identity, address: str, kind: str, outcome: str) -> int:
        def record(repo: SqlRepository) -> int:
            user = repo.user(who.user_id)
            if user is None:
                return 0
            return repo.open_ssh_login(
                user, fingerprint=who.fingerprint, address=address, kind=kind, outcome=outcome
            )

        return await self.with_database(record)

    async def end_login(self, login_id: int, outcome: str) -> None:
        if login_id:
            await self.with_database(lambda repo: repo.end_ssh_login(login_id, outcome=outcome))

    # --- failed logins (S5) ---------------------------------------------------------------

    def is_blocked(self, address: str) -> bool:
        return self.blocked_until.get(address, 0.0) > time.monotonic()

    def failed(self, address: str) -> None:
        now = time.monotonic()
        recent = self.failures[address]
        recent.append(now)
        while recent and recent[0] < now - self.limits.failure_window:
            recent.popleft()
        log.warning("failed SSH login from %s", address)
        if len(recent) >= self.limits.failures_allowed:
            self.blocked_until[address] = now + self.limits.block_seconds
            recent.clear()
            log.warning(
                "%s blocked for %d s after %d failed logins",
                address,
                self.limits.block_seconds,
                self.limits.failures_allowed,
            )


class DoorConnection(asyncssh.SSHServer):
    """One client connection: public-key authentication against the desk's keys."""

    def __init__(self, door: Door) -> None:
        self.door = door
        self.address = "?"
        self.who: Identity | None = None
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.address = str(peer[0]) if peer else "?"

    def connection_lost(self, exc: Exception | None) -> None:
        if self.who is None and not self.door.is_blocked(self.address):
            self.door.failed(self.address)

    def begin_auth(self, username: str) -> bool:
        if self.door.is_blocked(self.address) and self.conn is not None:
            self.conn.close()
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # The SSH user name is ignored: the key says who connects (S1).
        who = await self.door.identify(key.get_fingerprint("sha256"))
        if who is not None:
            self.who = who
        return who is not None

    def session_requested(self) -> DoorSession | bool:
        if self.who is None:
            return False
        return DoorSession(self.door, self.who, self.address)

    # Port forwarding either way, and Unix sockets: refused (the defaults, said here).
    def connection_requested(self, *args: Any) -> bool:
        return False

    def server_requested(self, *args: Any) -> bool:
        return False

    def unix_connection_requested(self, *args: Any) -> bool:
        return False

    def unix_server_requested(self, *args: Any) -> bool:
        return False


class DoorSession(asyncssh.SSHServerSession[bytes]):
    """One channel: the app on a pty, or one allowed command."""

    def __init__(self, door: Door, who: Identity, address: str) -> None:
        self.door = door
        self.who = who
        self.address = address
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.term: str | None = None
        self.size = (80, 24)
        self.command: str | None = None
        self.child: children.Child | None = None
        self.open_streams: set[str] = set()
        self.last_input = time.monotonic()
        self.login_id = 0
        self.outcome = "ended"
        self.tasks: set[asyncio.Task[Any]] = set()
        self.exited = False
        # What the client sent before its child was forked (`attachment put < file`: the bytes
        # and the EOF may arrive at once), handed over when the child is there.
        self.early_input: list[bytes] = []
        self.early_eof = False

    # --- requests -------------------------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any
    ) -> bool:
        self.term = term_type
        self.size = (term_size[0] or 80, term_size[1] or 24)
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return False

    def session_started(self) -> None:
        self._spawn(self._start())

    # --- the child ------------------------------------------------------------------------

    async def _start(self) -> None:
        assert self.chan is not None
        env = children.client_env(self.chan.get_environment())
        mine = self.door.sessions[self.who.user_id]
        if len(mine) >= self.door.limits.sessions_per_user:
            await self.door.open_login(
                self.who, self.address, self._kind(), "refused: too many sessions"
            )
            self._refuse(
                f"{self.who.user_name} has {len(mine)} sessions open already, the most a user "
                "may have: close one first",
                code=1,
            )
            return
        if self.command is not None:
            argv = _split(self.command)
            reason = "cannot read the command" if argv is None else self.door.launcher.refusal(argv)
            if reason is not None or argv is None:
                self._refuse(f"{reason}", code=2)
                return
            start = self._command_child(argv, env)
        elif self.term is not None:
            start = self._session_child(env)
        else:
            self._refuse(
                "this server runs the help desk in a terminal (ssh -t) or one of its read-only "
                "commands (e.g. `tickets --json`)",
                code=2,
            )
            return
        mine.add(self)
        self.login_id = await self.door.open_login(self.who, self.address, self._kind(), "open")
        self.child = await self.door.fork(start)
        self._watch_child()
        early, self.early_input = self.early_input, []
        for data in early:
            self.data_received(data, None)
        if self.early_eof:
            self.eof_received()

    def _session_child(self, env: dict[str, str]) -> Callable[[], children.Child]:
        env = {k: v for k, v in os.environ.items() if k not in children.SESSION_ENV_DROPPED} | env
        env["TERM"] = self.term or "xterm"
        name, cols, rows = self.who.user_name, *self.size
        app = self.door.launcher.app
        return lambda: children.fork_session(lambda: app(name), env=env, cols=cols, rows=rows)

    def _command_child(self, argv: list[str], env: dict[str, str]) -> Callable[[], children.Child]:
        env = {k: v for k, v in os.environ.items() if k not in children.SESSION_ENV_DROPPED} | env
        name, command = self.who.user_name, self.door.launcher.command
        if self.term is not None:  # `ssh -t desk tickets`: on a pty, as OpenSSH gives it
            env["TERM"] = self.term or "xterm"
            cols, rows = self.size
            run = lambda: command(name, argv)  # noqa: E731
            return lambda: children.fork_session(run, env=env, cols=cols, rows=rows)
        return lambda: children.fork_command(lambda: command(name, argv), env=env)

    def _watch_child(self) -> None:
        assert self.child is not None
        loop = asyncio.get_running_loop()
        for stream, fd in self.child.fds.items():
            if stream != "stdin":
                self.open_streams.add(stream)
                loop.add_reader(fd, self._relay, stream, fd)
        loop.add_reader(self.child.pidfd, self._child_exited)
        if self.term is not None:
            self._spawn(self._idle_watch())

    def _relay(self, stream: str, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the pty's other side closed
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(fd)
            self.open_streams.discard(stream)
            self._maybe_finish()
            return
        if self.chan is not None and not self.exited:
            if stream == "stderr":
                self.chan.write_stderr(data)
            else:
                self.chan.write(data)

    def _child_exited(self) -> None:
        assert self.child is not None
        asyncio.get_running_loop().remove_reader(self.child.pidfd)
        self.child.fds["exit"] = children.exit_code(self.child.pid)
        # A pty may hold the last frame still: read what is left, then finish.
        for stream in list(self.open_streams):
            self._relay(stream, self.child.fds[stream])
        if "master" in self.open_streams:
            self.open_streams.discard("master")
            asyncio.get_running_loop().remove_reader(self.child.fds["master"])
        self._maybe_finish()

    def _maybe_finish(self) -> None:
        if self.child is None or "exit" not in self.child.fds or self.open_streams:
            return
        code = self.child.fds["exit"]
        if self.outcome == "ended" and code:
            self.outcome = f"exit {code}"
        self._end(code)

    def _end(self, code: int) -> None:
        if self.exited:
            return
        self.exited = True
        self._release()
        if self.chan is not None:
            with contextlib.suppress(OSError, asyncssh.Error):
                self.chan.exit(code)
        self._spawn(self.door.end_login(self.login_id, self.outcome))

    def _release(self) -> None:
        self.door.sessions[self.who.user_id].discard(self)
        if self.child is None:
            return
        loop = asyncio.get_running_loop()
        for name, fd in self.child.fds.items():
            if name in ("master", "stdin", "stdout", "stderr"):
                loop.remove_reader(fd)
                with contextlib.suppress(OSError):
                    os.close(fd)

    async def _idle_watch(self) -> None:
        limit = self.door.limits.idle_seconds
        while not self.exited:
            await asyncio.sleep(min(limit, 30.0))
            if time.monotonic() - self.last_input >= limit:
                self.stop(f"no key for {int(limit // 60)} minutes: the session ends", "idle")

    def stop(self, why: str, outcome: str = "stopped") -> None:
        """End the session from here: say why, stop its child."""
        if self.exited:
            return
        self.outcome = outcome
        if self.chan is not None:
            with contextlib.suppress(OSError, asyncssh.Error):
                self.chan.write(f"\r\n{why}\r\n".encode())
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.child.pid, signal.SIGHUP)
        else:
            self._end(1)

    # --- the client's side ----------------------------------------------------------------

    def data_received(self, data: bytes, datatype: int | None) -> None:
        self.last_input = time.monotonic()
        if self.child is None and not self.exited:
            self.early_input.append(data)
            return
        if self.child is None or self.exited:
            return
        fd = self.child.fds.get("master", self.child.fds.get("stdin"))
        if fd is not None:
            with contextlib.suppress(OSError):
                _write_all(fd, data)

    def eof_received(self) -> bool:
        if self.child is None:
            self.early_eof = True
            return True
        if self.child is not None and "stdin" in self.child.fds and not self.exited:
            with contextlib.suppress(OSError):
                os.close(self.child.fds.pop("stdin"))
        return True

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width or 80, height or 24)
        if self.child is not None and "master" in self.child.fds and not self.exited:
            with contextlib.suppress(OSError):
                children.set_window_size(self.child.fds["master"], *self.size)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.child.pid, signal.SIGWINCH)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.exited:
            self.outcome = "disconnected"
            if self.child is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.child.pid, signal.SIGHUP)
            self.chan = None
            if self.child is None:
                self._end(255)

    # --- helpers --------------------------------------------------------------------------

    def _refuse(self, message: str, *, code: int) -> None:
        if self.chan is not None:
            newline = "\r\n" if self.term else "\n"
            self.chan.write_stderr(f"deskline: {message}{newline}".encode())
            self.chan.exit(code)
        self.exited = True

    def _kind(self) -> str:
        return "command" if self.command is not None else "session"

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SSH session failed", exc_info=task.exception())
            self.stop("the session failed on the server", "failed")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            time.sleep(0.001)


def _split(command: str) -> list[str] | None:
    import shlex

    try:
        return shlex.split(command)
    except ValueError:
        return None
