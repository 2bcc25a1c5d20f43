"""Rows of the desk's limits an admin sets (SPEC D1, D2, D11): when mail counts as old (its
automated email is held), how long a person's change stays undoable, the largest message stored.
The same settings as `deskline automation limits --old-mail-hours/--undo-seconds/--max-message-mb`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from textual.content import Content

from app.screens.dialogs import PromptScreen
from app.screens.settings.host import SettingsHost
from app.screens.settings.rows import Row, hint
from automation import outbound
from automation.admin import set_old_mail_hours, set_undo_seconds, undo_window
from automation.admin.limits import max_message_mb, set_max_message_mb
from storage.repository import SqlRepository

Number = int | float


@dataclass(frozen=True)
class Limit:
    key: str
    title: str
    unit: str
    explain: str
    read: Callable[[Any], Number]  # repository -> the value now
    write: Callable[[Any, Any, Any], Number]  # (repository, user, value) -> the value stored
    parse: Callable[[str], Number]


LIMITS = (
    Limit(
        "old_mail_hours",
        "Old mail after",
        "hours",
        "Automated email caused by a message stored this long after its Date (an import of old "
        "mail, a mailbox read late) is held with the reason “old mail” instead of sent.",
        outbound.old_mail_hours,
        set_old_mail_hours,
        int,
    ),
    Limit(
        "undo_seconds",
        "Undo window",
        "seconds",
        "Email caused by a person's change (a close, a reply) waits this long before it is "
        "sent, and u takes the change back meanwhile. 0 sends at once, with no undo.",
        undo_window,
        set_undo_seconds,
        int,
    ),
    Limit(
        "max_message_mb",
        "Largest message",
        "MB",
        "A message bigger than this is not stored (import and mailbox reading): it goes to the "
        "failed imports, and the rest of the mail goes on.",
        max_message_mb,
        set_max_message_mb,
        float,
    ),
)


def read_limits(session: Session) -> dict[str, Number]:
    """The limits now, for the settings view (read with it, on the backend thread)."""
    repo = SqlRepository(session)
    return {limit.key: limit.read(repo) for limit in LIMITS}


def limit_rows(values: dict[str, Number]) -> list[Row]:
    return [LimitRow.of(limit, values[limit.key]) for limit in LIMITS if limit.key in values]


def shown(value: Number) -> str:
    return f"{value:g}"


class LimitRow(Row):
    kind = "limit"
    KEYS = (hint("change", "settings.edit"),)

    @classmethod
    def of(cls, limit: Limit, value: Number) -> LimitRow:
        prompt = Content.from_markup(
            "$title [b]$value[/b] [$text-muted]$unit[/]",
            title=limit.title,
            value=shown(value),
            unit=limit.unit,
        )
        return cls(f"limit:{limit.key}", prompt, {"limit": limit, "value": value})

    @property
    def limit(self) -> Limit:
        limit: Limit = self.data["limit"]
        return limit

    def explain(self) -> list[Content]:
        limit = self.limit
        return [
            Content.from_markup(
                "[b]$title: $value $unit[/b]",
                title=limit.title,
                value=shown(self.data["value"]),
                unit=limit.unit,
            ),
            Content(limit.explain),
        ]

    def open(self, screen: SettingsHost) -> None:
        if screen.me.is_admin:
            self.edit(screen)

    def edit(self, screen: SettingsHost) -> None:
        limit = self.limit

        def typed(text: str | None) -> None:
            if text is None or not text.strip():
                return
            try:
                value = limit.parse(text.strip())
            except ValueError:
                screen.notify(f"{limit.title}: a number of {limit.unit}, not {text.strip()!r}")
                return
            screen.change(
                lambda repo, me: limit.write(repo, me, value),
                lambda stored: f"{limit.title}: {shown(stored)} {limit.unit}",
            )

        screen.app.push_screen(
            PromptScreen(f"{limit.title} ({limit.unit})", value=shown(self.data["value"])), typed
        )
