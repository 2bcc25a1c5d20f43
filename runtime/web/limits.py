"""Rate limits of the web side (SPEC C5): at most N events per key in a sliding window. Over the
limit the caller answers 429 with `retry_after` seconds and stores nothing. In memory, per serving
process (one `serve --http` runs one); keys idle for a window are forgotten.

The limits themselves are the desk's settings (C5 says "Limits (settings)"), named in `LIMITS`
(automation.web_channel_settings.WEB_LIMITS) with the SPEC's values as defaults; `Web.limits()`
reads them."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from datetime import datetime

from automation.web_channel_settings import LIMIT_DEFAULTS as LIMITS

__all__ = ["LIMITS", "RateLimiter"]


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, *, clock: Callable[[], datetime]):
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count one event for `key`: None when allowed, else the seconds until one would be."""
        now = self.clock().timestamp()
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.limit:
            return max(times[0] + self.window - now, 0.0)
        times.append(now)
        if len(self._seen) > 10_000:
            self._forget(now)
        return None

    @staticmethod
    def retry_after(seconds: float) -> str:
        """The Retry-After header's value: whole seconds, at least 1."""
        return str(max(1, math.ceil(seconds)))

    def _forget(self, now: float) -> None:
        for key in [k for k, t in self._seen.items() if not t or t[-1] <= now - self.window]:
            del self._seen[key]
