"""`W` in settings: every workflow of the pipeline, what it did in 7 days, and its flow.

The list shows each workflow's switch, re-enrollment, enrollments (all time and 7 days), action
runs of 7 days and tickets waiting in a delay; the pane draws the highlighted one as a vertical
flow (enrollment, numbered actions with their comments) with its last failures. Actions are
added and edited on the settings screen, where they sit under their status.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from app.screens.base import DeskScreen
from automation import admin
from storage import queries
from storage.models import Pipeline
from widgets.text import line


def _summaries(session: Any, pipeline_id: int | None) -> list[dict[str, Any]]:
    pipeline = session.get(Pipeline, pipeline_id) if pipeline_id else None
    if pipeline is None:
        pipeline = session.query(Pipeline).order_by(Pipeline.position, Pipeline.id).first()
    return queries.workflow_summaries(session, pipeline) if pipeline else []


class WorkflowsScreen(DeskScreen):
    MODE = ""
    HELP_TITLE = "Workflows"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="workflows.back"),
        Binding("space", "switch", "On/off", key_display="space", id="workflows.switch"),
        Binding("R", "reenroll", "Re-enrollment", key_display="R", id="workflows.reenroll"),
        Binding("Y", "clone", "Clone", key_display="Y", id="workflows.clone"),
        Binding("j", "cursor(1)", "Down", show=False, id="workflows.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="workflows.up"),
    ]

    def __init__(self, pipeline_id: int | None = None) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self.rows: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="workflows-panes"):
            yield OptionList(id="workflow-list")
            with VerticalScroll(id="workflow-pane"):
                yield Static("", id="workflow-flow")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.set_status("workflows · escape goes back")
        self.query_one(OptionList).focus()
        self.refresh_data()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        changes = action in ("switch", "reenroll", "clone")
        return self.me.is_admin or not changes  # a rep reads; the change keys are hidden

    def refresh_data(self) -> None:
        self._load()

    @work(group="workflows", exclusive=True)
    async def _load(self) -> None:
        pipeline_id = self.pipeline_id
        self.rows = await self.backend.query(lambda s: _summaries(s, pipeline_id))
        options = self.query_one(OptionList)
        keep = options.highlighted
        options.clear_options()
        for row in self.rows:
            options.add_option(Option(_summary_line(row), id=str(row["id"])))
        if self.rows:
            options.highlighted = min(keep or 0, len(self.rows) - 1)
            self._show(self.rows[options.highlighted]["id"])

    @property
    def current(self) -> dict[str, Any] | None:
        index = self.query_one(OptionList).highlighted
        return self.rows[index] if index is not None and index < len(self.rows) else None

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._show(int(event.option.id))

    @work(group="workflow-detail", exclusive=True)
    async def _show(self, workflow_id: int) -> None:
        detail = await self.backend.query(lambda s: queries.workflow_detail(s, workflow_id))
        self.query_one("#workflow-flow", Static).update(
            _flow(detail) if detail else Content("This workflow is gone.")
        )

    def action_cursor(self, step: int) -> None:
        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_switch(self) -> None:
        row = self.current
        if row is not None:
            workflow_id, on_ = row["id"], not row["enabled"]
            self.change(
                lambda repo, me: admin.set_workflow(repo, me, workflow_id, enabled=on_),
                f"{line(row['name'])}: {'on' if on_ else 'off'}",
            )

    def action_reenroll(self) -> None:
        row = self.current
        if row is not None:
            workflow_id, on_ = row["id"], not row["reenroll"]
            self.change(
                lambda repo, me: admin.set_workflow(repo, me, workflow_id, reenroll=on_),
                f"{line(row['name'])}: re-enrollment {'on' if on_ else 'off'}",
            )

    def action_clone(self) -> None:
        row = self.current
        if row is not None:
            workflow_id = row["id"]
            self.change(
                lambda repo, me: admin.clone_workflow(repo, me, workflow_id).id,
                lambda new_id: f"Cloned as workflow {new_id} (off until you switch it on)",
            )


def _summary_line(row: dict[str, Any]) -> Content:
    runs = row["runs_7d"]
    return Content.from_markup(
        "$box [b]$name[/b] [$text-muted]$kind · $reenroll[/]\n"
        "    [$text-muted]enrolled $enrolled ($recent in 7 d) · runs ok $ok, failed $failed"
        "$waiting[/]",
        box="[x]" if row["enabled"] else "[ ]",
        name=line(row["name"]),
        kind="built-in" if row["builtin"] else "clone",
        reenroll="re-enrolls" if row["reenroll"] else "enrolls once",
        enrolled=str(row["enrolled_tickets"]),
        recent=str(row["enrolled_7d"]),
        ok=str(runs.get("ok", 0)),
        failed=str(runs.get("failed", 0)),
        waiting=f" · {row['waiting']} waiting" if row["waiting"] else "",
    )


def _flow(detail: dict[str, Any]) -> Content:
    workflow = detail["workflow"]
    lines = [
        Content.from_markup("[b]$name[/b]", name=line(workflow["name"])),
        Content.from_markup(
            "[$text-muted]Enrollment:[/] $when",
            when=line(" and ".join(workflow["enrollment_conditions"])),
        ),
        Content.from_markup(
            "[$text-muted]$reenroll · $state[/]",
            reenroll="re-enrollment on" if workflow["reenroll"] else "a ticket enrolls once (R-A7)",
            state="on" if workflow["enabled"] else "off",
        ),
        Content("↓"),
    ]
    for number, action in enumerate(workflow["actions"], start=1):
        lines.append(
            Content.from_markup("[b]$n.[/b] $what", n=str(number), what=line(action["description"]))
        )
        lines.extend(
            Content.from_markup("   [$text-muted]# $c[/]", c=line(c)) for c in action["comments"]
        )
        lines.append(Content("↓"))
    lines.append(Content("End"))
    if detail["failures"]:
        lines.append(Content(""))
        lines.append(Content.from_markup("[b $text-error]Last failures[/]"))
        for failure in detail["failures"]:
            lines.append(
                Content.from_markup(
                    "[$text-muted]$at[/] #$ticket $detail",
                    at=str(failure.get("at") or "")[:16].replace("T", " "),
                    ticket=str(failure.get("ticket")),
                    detail=line(failure.get("detail") or failure.get("action") or ""),
                )
            )
    return Content("\n").join(lines)
