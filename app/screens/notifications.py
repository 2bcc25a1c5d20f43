"""`N`: my notifications, newest first (a workflow's notifications, tickets assigned to me,
@mentions in notes, tasks that came due): read one, read all, enter opens the ticket, and the
terminal bell on new ones (off unless switched on here)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label
from textual.widgets.option_list import Option

from app.screens.base import EXPECTED
from app.screens.footer import DeskFooter
from app.screens.list_dialog import ListDialog
from storage import coordination_views
from widgets.option_list import OptionList
from widgets.text import line, stamp

KIND_WORDS = {"assigned": "assigned", "mention": "mention", "task": "task due", "notify": ""}


def bell_setting(user_id: int) -> str:
    """The settings key of a user's bell: on when the value is true (off by default)."""
    return f"notifications.bell.{user_id}"


class NotificationsScreen(ListDialog):
    HELP_TITLE = "Notifications"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,N", "dismiss(None)", "Close", id="notifications.close"),
        Binding("enter", "open", "Open ticket", id="notifications.open"),
        Binding("x", "read", "Mark read", id="notifications.read"),
        Binding("X", "read_all", "Mark all read", id="notifications.read_all"),
        Binding("b", "bell", "Bell on/off", id="notifications.bell"),
        Binding("j", "down", "Down", show=False, id="notifications.down"),
        Binding("k", "up", "Up", show=False, id="notifications.up"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tasks"):
            yield Label(Content("Notifications"), classes="dialog-title", id="notifications-title")
            yield OptionList(id="notification-list")
        yield DeskFooter()

    def on_data_changed(self) -> None:
        self.load()

    @work(group="notifications", exclusive=True)
    async def load(self) -> None:
        me = self.backend.me.id
        self.rows = await self.backend.query(lambda s: coordination_views.notifications_for(s, me))
        bell = await self.backend.query(lambda s: coordination_views.setting(s, bell_setting(me)))
        unread = sum(1 for row in self.rows if row["read_at"] is None)
        self.query_one("#notifications-title", Label).update(
            Content(f"Notifications · {unread} unread · bell {'on' if bell else 'off'}")
        )
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for row in self.rows:
            options.add_option(Option(_option_text(row), id=str(row["id"])))
        if not self.rows:
            options.add_option(Option(Content("No notifications."), disabled=True))
        else:
            options.highlighted = min(highlighted or 0, len(self.rows) - 1)

    def action_open(self) -> None:
        row = self.current()
        if row is None:
            return
        if row["ticket"] is None:
            if row["read_at"] is None:
                self._mark(int(row["id"]))
            self.notify("This notification names no ticket.", severity="warning")
            return
        self._open(row)

    @work(group="notifications-open", exclusive=True)
    async def _open(self, row: dict[str, Any]) -> None:
        """Marked read, then the list closes: closing it first would cancel the mark."""
        if row["read_at"] is None and not await self._store_read(int(row["id"])):
            return
        self.open_ticket(int(row["ticket"]))

    def action_read(self) -> None:
        row = self.current()
        if row is not None:
            self._mark(int(row["id"]))

    def action_read_all(self) -> None:
        self._mark(None)

    @work(group="notifications-read")
    async def _mark(self, notification_id: int | None) -> None:
        if await self._store_read(notification_id):
            self.load()

    async def _store_read(self, notification_id: int | None) -> bool:
        """Mark one notification (None: all) read; False, said, when the desk refused."""
        me = self.backend.me.id

        def mark(repo: Any) -> None:
            repo.mark_notifications_read(me, notification_id)

        try:
            await self.backend.store(mark)
        except EXPECTED as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return False
        return True

    def action_bell(self) -> None:
        self._bell()

    @work(group="notifications-read")
    async def _bell(self) -> None:
        key = bell_setting(self.backend.me.id)

        def switch(repo: Any) -> None:
            repo.set_setting(key, not repo.setting(key, False))

        await self.backend.store(switch)
        on = await self.backend.query(lambda s: coordination_views.setting(s, key))
        self.notify(f"The bell on new notifications is {'on' if on else 'off'}.")
        self.load()


def _option_text(row: dict[str, Any]) -> Content:
    kind = KIND_WORDS.get(row["kind"], "")
    return Content.from_markup(
        "[$style]$mark[/] [$text-muted]$at[/] $kind$text",
        style="$text-accent" if row["read_at"] is None else "$text-muted",
        mark="●" if row["read_at"] is None else " ",
        at=stamp(row["created_at"]),
        kind=f"[{kind}] " if kind else "",
        text=line(row["text"]),
    )
