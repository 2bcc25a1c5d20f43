"""The processes of the SSH door (SPEC S5): each session or remote command is a child forked from
the `serve` process, which has already imported the app and holds no database connection or
thread at that moment. A session's child gets a pty (the app sees a terminal, as over any SSH
server); a command's child gets three pipes. The parent only relays bytes."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import os
import signal
import struct
import sys
import termios
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Taken from the client, and nothing else (SPEC S2): TERM comes from the pty request.
CLIENT_ENV_NAMES = ("LANG", "COLORTERM", "NO_COLOR")
CLIENT_ENV_PREFIXES = ("LC_",)
# The server's own values of these never reach a session: the client's (or none) do.
SESSION_ENV_DROPPED = ("TERM", "COLORTERM", "NO_COLOR", "LANG", "DESKLINE_USER", "DESKLINE_DB")


@dataclass
class Child:
    pid: int
    pidfd: int
    fds: dict[str, int]  # the parent's ends: master (a session) or stdin, stdout, stderr


def client_env(given: Mapping[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in given.items()
        if name in CLIENT_ENV_NAMES or name.startswith(CLIENT_ENV_PREFIXES)
    }


def set_window_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def fork_session(run: Callable[[], int], *, env: dict[str, str], cols: int, rows: int) -> Child:
    """`run` in a child on the slave side of a new pty, as the session leader of its terminal."""
    master, slave = os.openpty()
    set_window_size(master, max(cols, 1), max(rows, 1))
    pid = _fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        _child(run, env, stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    os.set_blocking(master, False)
    return Child(pid, os.pidfd_open(pid), {"master": master})


def fork_command(run: Callable[[], int], *, env: dict[str, str]) -> Child:
    """`run` in a child whose stdin, stdout and stderr are pipes to the parent."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    stderr_r, stderr_w = os.pipe()
    pid = _fork()
    if pid == 0:
        os.setsid()
        _child(run, env, stdin=stdin_r, stdout=stdout_w, stderr=stderr_w)
    for fd in (stdin_r, stdout_w, stderr_w):
        os.close(fd)
    for fd in (stdout_r, stderr_r):
        os.set_blocking(fd, False)
    fds = {"stdin": stdin_w, "stdout": stdout_r, "stderr": stderr_r}
    return Child(pid, os.pidfd_open(pid), fds)


def fork_service(run: Callable[[], int], *, keep: tuple[int, ...] = ()) -> int:
    """A long-lived helper (the mail worker, the web server) with the server's stdout and
    stderr; `keep`: descriptors it inherits (the web server's listening socket)."""
    pid = _fork()
    if pid == 0:
        os.setsid()
        _child(
            run,
            dict(os.environ),
            stdin=os.open(os.devnull, os.O_RDONLY),
            stdout=1,
            stderr=2,
            keep=keep,
        )
    return pid


def exit_code(pid: int) -> int:
    """The child's exit status as a shell gives it (128 + the signal that killed it)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 255
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _fork() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    return os.fork()


def _child(
    run: Callable[[], int],
    env: dict[str, str],
    *,
    stdin: int,
    stdout: int,
    stderr: int,
    keep: tuple[int, ...] = (),
) -> None:
    """In the child: its three standard descriptors, nothing else of the parent's (listening
    sockets, other sessions' ptys, the event loop), default signals, a fresh event loop; never
    returns."""
    gc.freeze()  # the parent's objects stay as they are: none closes a descriptor reused here
    code = 1
    try:
        for target, fd in ((0, stdin), (1, stdout), (2, stderr)):
            if fd != target:
                os.dup2(fd, target)
        low = 3
        for fd in sorted(fd for fd in keep if fd >= 3):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, min(os.sysconf("SC_OPEN_MAX"), 65536))
        signal.set_wakeup_fd(-1)
        for number in (
            signal.SIGINT,
            signal.SIGTERM,
            signal.SIGHUP,
            signal.SIGCHLD,
            signal.SIGWINCH,
        ):
            signal.signal(number, signal.SIG_DFL)
        asyncio.events._set_running_loop(None)
        os.environ.clear()
        os.environ.update(env)
        code = run()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
