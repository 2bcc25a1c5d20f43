"""The web side's rate-limit counts in the database (SPEC C5), so every `serve --http` process of
one desk (SQLite or PostgreSQL) counts against the same limit: one upsert per event, answering
the key's count in its window and when that window began. A window begins at a key's first event
and lasts `window` seconds; the event after it starts a new one. Rows of windows past are pruned
(`prune`), now and then, by the caller. A form token's one use is the same upsert
(`first_use`)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# One statement on both dialects (SQLite 3.35+ and PostgreSQL): SET's expressions see the row as
# it was, so the count and the window start are decided from the same old window.
HIT = text(
    """
    INSERT INTO web_rate_counts (key, window_start, count) VALUES (:key, :now, 1)
    ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN web_rate_counts.window_start > :now - :window
                     THEN web_rate_counts.count + 1 ELSE 1 END,
        window_start = CASE WHEN web_rate_counts.window_start > :now - :window
                            THEN web_rate_counts.window_start ELSE :now END
    RETURNING count, window_start
    """
)


def hit(session: Session, key: str, now: float, window: float) -> tuple[int, float]:
    """Count one event for `key` at `now` (epoch seconds): (its count in the window, the
    window's start). The caller commits."""
    row = session.execute(HIT, {"key": key[:200], "now": now, "window": window}).one()
    return int(row[0]), float(row[1])


def prune(session: Session, now: float, window: float, prefix: str) -> int:
    """Forget the keys starting with `prefix` whose window is over; how many."""
    result = session.execute(
        text(
            "DELETE FROM web_rate_counts"
            " WHERE substr(key, 1, :length) = :prefix AND window_start <= :before"
        ),
        {"before": now - window, "prefix": prefix, "length": len(prefix)},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def first_use(session: Session, key: str, issued: float, lifetime: float) -> bool:
    """Is this the first use of the one-use `key` (a form's token, its nonce) issued at `issued`
    and good for `lifetime` seconds: one upsert, as `hit` with the issue time as the window's
    start, so a second use within the lifetime counts 2. Prune with `prefix` and `lifetime`."""
    seen, _ = hit(session, key, issued, lifetime)
    return seen == 1
