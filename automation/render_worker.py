"""Templates render in worker processes, within a CPU and an output budget (SPEC D10, R-A9).

A runaway render cannot be stopped reliably inside the process that runs it (a long C call holds
the interpreter), so it runs in a small, long-lived worker process. The worker stops its own render
after the CPU budget (a profiling timer) and counts the output as it is made; the operating system
ends it if a single call outlives the budget by a second (RLIMIT_CPU), and the parent kills it when
it has not answered in a wall-clock backstop. A killed worker is replaced at the next render.

Requests and answers are pickles with a length prefix over the worker's stdin and stdout.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from automation.templates import (
    RENDER_MAX_BYTES,
    RENDER_SECONDS,
    Rendered,
    TemplateRenderError,
    render,
)

_HEADER = struct.Struct("!I")
_MEMORY = 1 << 30  # a worker's address space: a render that wants more fails, the desk goes on
_POOL_SIZE = 2


@dataclass(frozen=True)
class Budget:
    seconds: float = RENDER_SECONDS  # CPU seconds
    max_bytes: int = RENDER_MAX_BYTES

    def over_time(self) -> str:
        return f"the template took more than {self.seconds:g} s to render (the limit)"

    def backstop(self) -> float:
        """Wall-clock seconds after which the parent kills a worker that has not answered."""
        return self.seconds * 3 + 5


class OverBudget(TemplateRenderError):
    """The render used up its time budget and was stopped."""


# --- the worker process ------------------------------------------------------------------------


class _OutOfTime(BaseException):
    """Raised by the profiling timer inside a render (a BaseException: nothing swallows it)."""


def _out_of_time(signum: int, frame: FrameType | None) -> None:
    raise _OutOfTime


def main() -> None:
    """The worker's loop: one request at a time until stdin closes."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))
    signal.signal(signal.SIGPROF, _out_of_time)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (request := _read(stdin)) is not None:
        try:
            answer = _serve(request)
        except _OutOfTime:  # the timer fired after the render was done
            answer = ("error", Budget(request[3]).over_time(), "")
        _write(stdout, answer)


def _serve(request: tuple[str, str, dict[str, Any], float, int]) -> tuple[str, str, str]:
    subject, body, variables, seconds, max_bytes = request
    used = _cpu_used()
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used + seconds) + 1  # the OS ends a single call that outlives the timer
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard < 0 else min(soft, hard), hard))
    try:
        signal.setitimer(signal.ITIMER_PROF, seconds)
        done = render(subject, body, variables, max_bytes)
        signal.setitimer(signal.ITIMER_PROF, 0)
    except _OutOfTime:
        return ("error", Budget(seconds).over_time(), "")
    except TemplateRenderError as exc:
        signal.setitimer(signal.ITIMER_PROF, 0)
        return ("error", str(exc), "")
    except MemoryError:
        signal.setitimer(signal.ITIMER_PROF, 0)
        return ("error", "the template needs too much memory to render", "")
    return ("ok", done.subject, done.body)


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _write(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


# --- the parent's side -------------------------------------------------------------------------


class _WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
        env = {**os.environ, "PYTHONPATH": path}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from automation.render_worker import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            bufsize=0,
        )

    def ask(self, request: tuple[Any, ...], wall_seconds: float) -> tuple[str, str, str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        data = pickle.dumps(request)
        try:
            self.process.stdin.write(_HEADER.pack(len(data)) + data)
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _WorkerDied from exc
        deadline = time.monotonic() + wall_seconds
        header = self._receive(_HEADER.size, deadline)
        (size,) = _HEADER.unpack(header)
        answer: tuple[str, str, str] = pickle.loads(self._receive(size, deadline))
        return answer

    def _receive(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks: list[bytes] = []
        while size > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise _WorkerDied
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.kill()


class RenderPool:
    """Idle workers kept for the next render; a render takes one (or starts one)."""

    def __init__(self, keep: int = _POOL_SIZE) -> None:
        self.keep = keep
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self.started = 0  # workers started so far (tests: a killed one is replaced)

    def render(
        self, subject: str, body: str, variables: dict[str, Any], budget: Budget
    ) -> Rendered:
        worker = self._take()
        request = (subject, body, variables, budget.seconds, budget.max_bytes)
        try:
            state, first, second = worker.ask(request, budget.backstop())
        except TimeoutError:
            worker.kill()
            raise OverBudget(budget.over_time()) from None
        except _WorkerDied:
            worker.kill()  # the OS ended it: over its CPU or memory limit
            raise OverBudget(budget.over_time()) from None
        except BaseException:
            worker.kill()
            raise
        self._give_back(worker)
        if state == "ok":
            return Rendered(first, second)
        if first == budget.over_time():
            raise OverBudget(first)
        raise TemplateRenderError(first)

    def _take(self) -> _Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
            self.started += 1
        return _Worker()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(worker)
                return
        worker.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def forget(self) -> None:
        """In a forked child: the workers are the parent's, never to be written to here."""
        self._idle = []
        self._lock = threading.Lock()


_pool = RenderPool()
atexit.register(_pool.close)
os.register_at_fork(after_in_child=_pool.forget)  # `serve` forks its sessions


def render_within(
    subject: str, body: str, variables: dict[str, Any], budget: Budget | None = None
) -> Rendered:
    """Render in a worker process within the budget (D10); raises TemplateRenderError (an
    OverBudget when it ran out of time), never hangs."""
    return _pool.render(subject, body, variables, budget or Budget())


def pool() -> RenderPool:
    return _pool
