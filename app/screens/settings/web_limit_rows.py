"""Rows of the web's chat and form limits an admin sets (SPEC C5): form posts and new chats a
minute per address, chat messages a minute per visitor, the largest form and chat message. The
same settings as `deskline automation limits --form-posts-per-minute ...`; shown and changed as
the other limit rows (`LimitRow`: e changes one)."""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from app.screens.settings.limit_rows import Limit, LimitRow, Number
from app.screens.settings.rows import Row
from automation.web_channel_settings import WEB_LIMITS, set_web_limit, web_limits
from storage.repository import SqlRepository

TITLES = {  # key: (title, unit, what it does)
    "form_posts_per_minute": (
        "Form posts",
        "a minute per address",
        "More posts of a contact form from one address in a minute are answered “too many "
        "requests” (429) and not stored.",
    ),
    "form_message_bytes": (
        "Form message",
        "bytes at most",
        "A form's message longer than this is refused with the reason; nothing is stored.",
    ),
    "form_min_fill_seconds": (
        "Form fill time",
        "seconds at least",
        "A form sent sooner after its page was served is a robot's: it is shown again to be "
        "checked and sent once more. 0 switches the check off.",
    ),
    "chat_new_per_minute": (
        "New chats",
        "a minute per address",
        "More new chats from one address in a minute are answered “too many requests” (429).",
    ),
    "chat_messages_per_minute": (
        "Chat messages",
        "a minute per visitor",
        "More messages from one chat visitor in a minute are refused (429) and not stored.",
    ),
    "chat_message_bytes": (
        "Chat message",
        "bytes at most",
        "A chat message longer than this is refused; nothing is stored.",
    ),
}


def _read(key: str, repo: Any) -> Number:
    return web_limits(repo)[key]


def _write(key: str, repo: Any, user: Any, value: Any) -> Number:
    return set_web_limit(repo, user, key, value)


WEB_LIMIT_ROWS = tuple(
    Limit(
        limit.key,
        TITLES[limit.key][0],
        TITLES[limit.key][1],
        TITLES[limit.key][2],
        partial(_read, limit.key),
        partial(_write, limit.key),
        int,
    )
    for limit in WEB_LIMITS
)


def read_web_limits(session: Session) -> dict[str, Number]:
    """The web limits now, for the settings view (read with it, on the backend thread)."""
    return dict(web_limits(SqlRepository(session)))


class WebLimitRow(LimitRow):
    """A web limit's row: a limit row of its own kind (the desk's limits stay three)."""

    kind = "web_limit"


def web_limit_rows(values: dict[str, Number]) -> list[Row]:
    return [
        WebLimitRow.of(limit, values[limit.key]) for limit in WEB_LIMIT_ROWS if limit.key in values
    ]
