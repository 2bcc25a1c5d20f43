"""Automation settings (SPEC §5): admins change them, reps read them. (Read-only first slice.)"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from app.screens.base import DeskScreen
from storage import queries
from storage.models import Pipeline
from widgets.text import line


class SettingsScreen(DeskScreen):
    MODE = "settings"
    HELP_TITLE = "Automation settings"
    BINDINGS: ClassVar[list[BindingType]] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with VerticalScroll(id="settings-body", can_focus=True):
            yield Static("", id="settings-text")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    @work(group="settings", exclusive=True)
    async def _load(self) -> None:
        def read(session: Any) -> dict[str, Any]:
            pipeline = session.query(Pipeline).order_by(Pipeline.id).first()
            return queries.automation_view(session, pipeline)

        data = await self.backend.query(read)
        rows = [Content.from_markup("[b]Triggers[/b]")]
        for trigger in data["triggers"]:
            rows.append(
                Content.from_markup(
                    "$box $name → $target",
                    box="[x]" if trigger["enabled"] else "[ ]",
                    name=line(trigger["name"]),
                    target=line(trigger["target"]) or "(broken)",
                )
            )
        self.query_one("#settings-text", Static).update(Content("\n").join(rows))
