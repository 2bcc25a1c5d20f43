"""Conflicts between concurrent transactions that running the transaction again resolves.

PostgreSQL ends one of two transactions that wait for each other's locks (a deadlock) and may
refuse a commit that would break serializability; the transaction did nothing wrong and its
rerun normally goes through. A batch writer (the import, IMAP, due steps) reruns the whole
transaction (`Database.run_bulk`) instead of recording its messages as failed, and never retries
such an error inside a savepoint: that would keep the locks the batch already holds, which is
how a worker met the same deadlock 74 times in a row (issue 16, benchmarks/scale_bench.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("deskline.storage")

# deadlock_detected, serialization_failure
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient_conflict(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps: a DBAPI error, its driver's exception) is one of them."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if code in TRANSIENT_SQLSTATES:
            return True
        orig = getattr(current, "orig", None)
        todo += [
            orig if isinstance(orig, BaseException) else None,
            current.__cause__,
            current.__context__,
        ]
    return False


async def rerun_on_conflict(run: Callable[[], Awaitable[T]], attempts: int, what: str) -> T:
    """`run()`, and again (up to `attempts` in all, after a growing random pause) while it
    fails with a transient conflict; any other error, or the last attempt's, is raised.
    `run` must be one whole transaction: rolled back when it raised, so safe to start again."""
    for attempt in range(1, attempts + 1):
        try:
            return await run()
        except Exception as exc:
            if attempt == attempts or not is_transient_conflict(exc):
                raise
            log.info("%s lost to a concurrent transaction; running it again: %s", what, exc)
            await asyncio.sleep(random.uniform(0.02, 0.1) * attempt)
    raise AssertionError("unreachable")
