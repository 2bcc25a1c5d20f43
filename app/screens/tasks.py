"""`T`: my follow-up tasks (made by workflows, R-A5), soonest due first."""

from __future__ import annotations

from typing import ClassVar

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
from automation import services
from storage import views
from widgets.option_list import OptionList
from widgets.text import clock, line, stamp


class TasksScreen(ListDialog):
    HELP_TITLE = "My tasks"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,T", "dismiss(None)", "Close", id="tasks.close"),
        Binding("x", "done", "Done", id="tasks.done"),
        Binding("enter", "open", "Open ticket", id="tasks.open"),
        Binding("j", "down", "Down", show=False, id="tasks.down"),
        Binding("k", "up", "Up", show=False, id="tasks.up"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog tasks"):
            yield Label(Content("My tasks"), classes="dialog-title")
            yield OptionList(id="task-list")
        yield DeskFooter()

    @work(group="tasks", exclusive=True)
    async def load(self) -> None:
        me = self.backend.me
        self.rows = await self.backend.query(lambda s: views.tasks_for(s, me.id))
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        now = clock()
        for task in self.rows:
            late = task["due_at"] <= now
            options.add_option(
                Option(
                    Content.from_markup(
                        "[$style]$due[/] #$ticket $title [$text-muted]$subject[/]",
                        style="$text-error" if late else "$text-muted",
                        due=("overdue " if late else "") + stamp(task["due_at"]),
                        ticket=str(task["ticket"]),
                        title=line(task["title"]),
                        subject=line(task["subject"]),
                    ),
                    id=str(task["id"]),
                )
            )
        if not self.rows:
            options.add_option(Option(Content("No open tasks."), disabled=True))
        else:
            options.highlighted = min(highlighted or 0, len(self.rows) - 1)

    def action_open(self) -> None:
        task = self.current()
        if task is not None:
            self.open_ticket(int(task["ticket"]))

    def action_done(self) -> None:
        task = self.current()
        if task is not None:
            self._done(int(task["id"]), str(task["title"]))

    @work(group="tasks-done")
    async def _done(self, task_id: int, title: str) -> None:
        try:
            await self.backend.act(lambda repo, me: services.complete_task(repo, me, task_id))
        except EXPECTED as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.notify(f"Done: {line(title)}", markup=False)
        self.load()
