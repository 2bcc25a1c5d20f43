"""The snooze key of the inbox and the ticket record: presets (in 1 hour, this afternoon,
tomorrow 9:00, next Monday 9:00), a time the user types, or back now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.binding import Binding

from app.screens.base import DeskScreen
from app.screens.dialogs import PickerScreen, PromptScreen
from automation import snooze

TYPED = "typed"
BACK_NOW = "back"


def snooze_binding(screen: str) -> Binding:
    """`Z` (lower-case z folds quotes in the reading pane)."""
    return Binding("Z", "snooze", "Snooze", id=f"{screen}.snooze")


def snoozed_text(ticket: dict[str, Any]) -> str:
    """The end of the record's property line while a ticket is snoozed, else ""."""
    until = ticket.get("snoozed_until")
    if until is None or not snooze.is_snoozed(until, datetime.now(UTC)):
        return ""
    return f" · snoozed until {snooze.describe(until)}"


def _check(text: str) -> str | None:
    try:
        snooze.parse_until(text, datetime.now(UTC))
    except snooze.SnoozeError as exc:
        return str(exc)
    return None


async def ask_snooze(
    screen: DeskScreen, *, number: int | None, conversation_id: int | None, what: str
) -> None:
    """Ask until when and snooze `number` (a ticket) or `conversation_id`, or end its snooze."""
    now = datetime.now(UTC)
    choices: list[tuple[str, object]] = [
        (f"{p.label}   {snooze.describe(p.until)}", p.until) for p in snooze.presets(now)
    ]
    choices += [("A time you type…", TYPED), ("Back now (end the snooze)", BACK_NOW)]
    chosen = await screen.app.push_screen_wait(PickerScreen(f"Snooze {what} until", choices))
    if chosen is None:
        return
    if chosen == BACK_NOW:
        screen.change(
            lambda repo, me: snooze.unsnooze_by(
                repo, me, number=number, conversation_id=conversation_id
            ),
            f"{what} is back in the open views",
        )
        return
    if chosen == TYPED:
        typed = await screen.app.push_screen_wait(
            PromptScreen(
                f"Snooze {what} until (UTC)",
                placeholder=f"e.g. {snooze.EXAMPLES}",
                check=_check,
            )
        )
        if typed is None:
            return
        chosen = snooze.parse_until(typed, datetime.now(UTC))
    assert isinstance(chosen, datetime)
    until = chosen
    screen.change(
        lambda repo, me: snooze.snooze_by(
            repo, me, until, number=number, conversation_id=conversation_id
        ),
        f"{what} snoozed until {snooze.describe(until)}",
    )
