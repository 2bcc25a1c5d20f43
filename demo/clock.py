"""The simulated clock the demo's history is replayed on.

A plain callable handed to the database (`Database(url, clock=clock)`): every `repo.now()` and
every timestamp the repository writes reads it, so tickets, conversations, the timeline and the
outbox carry times spread over the last three weeks instead of the second the demo was built.
The replay moves it forward one tick at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class SimulatedClock:
    now: datetime  # aware (UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when
