"""Rate limits of the web side (SPEC C5): at most N events per key in a window of a minute. Over
the limit the caller answers 429 with `retry_after` seconds and stores nothing. Counted in the
desk's database, so every `serve --http` process of one desk shares them; windows past are
pruned.

The limits themselves are the desk's settings (C5 says "Limits (settings)"), named in `LIMITS`
(automation.web_channel_settings.WEB_LIMITS) with the SPEC's values as defaults; `Web.limits()`
reads them."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from automation.chat import ChatError
from automation.web_channel_settings import LIMIT_DEFAULTS as LIMITS
from runtime.desk import Desk
from storage import rate_counts

PRUNE_SECONDS = 60.0

__all__ = ["LIMITS", "OverLimit", "RateLimiter"]


class OverLimit(ChatError):
    """Over a rate limit counted inside a batch (`RateLimiter.count_in`): nothing of it stored."""

    def __init__(self, wait: float) -> None:
        super().__init__("too many requests: try again shortly")
        self.wait = wait


class RateLimiter:
    """At most `limit` events per key in a window of `window_seconds` begun at the key's first
    event, counted in the desk's database (storage.rate_counts): every serving process of the
    desk shares the count. One statement per event; windows past are pruned once a minute."""

    def __init__(
        self,
        name: str,
        limit: int,
        window_seconds: float,
        *,
        clock: Callable[[], datetime],
        desk: Desk,
    ):
        self.name = name
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self.desk = desk
        self._pruned_at = 0.0

    async def hit(self, key: str) -> float | None:
        """Count one event for `key`: None when allowed, else the seconds until one would be."""
        now = self.clock().timestamp()
        prune = not 0 <= now - self._pruned_at < PRUNE_SECONDS
        if prune:
            self._pruned_at = now

        def count(repo: Any) -> tuple[int, float]:
            if prune:
                rate_counts.prune(repo.session, now, self.window, f"{self.name}:")
            return rate_counts.hit(repo.session, f"{self.name}:{key}", now, self.window)

        seen, start = await self.desk.store(count)
        if seen > self.limit:
            return max(start + self.window - now, 0.0)
        return None

    def count_in(self, session: Any, key: str) -> None:
        """`hit` inside the caller's transaction (the chat writer's batch: no transaction of
        its own per line); over the limit it raises `OverLimit`, whose savepoint rolls back."""
        now = self.clock().timestamp()
        if not 0 <= now - self._pruned_at < PRUNE_SECONDS:
            self._pruned_at = now
            rate_counts.prune(session, now, self.window, f"{self.name}:")
        seen, start = rate_counts.hit(session, f"{self.name}:{key}", now, self.window)
        if seen > self.limit:
            raise OverLimit(max(start + self.window - now, 0.0))

    @staticmethod
    def retry_after(seconds: float) -> str:
        """The Retry-After header's value: whole seconds, at least 1."""
        return str(max(1, math.ceil(seconds)))
