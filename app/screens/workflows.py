"""`W` in settings: the workflow editor (SPEC §5, R-A5..R-A7).

Left, every workflow of the pipeline with its switch, re-enrollment, enrollments (all time and
7 days), action runs of 7 days and tickets waiting in a delay. Right, the highlighted workflow
as a vertical flow: its enrollment, then its actions in order, a branch's "yes" and "no" paths
indented under it, each action with its comments, and the workflow's last failures.

`enter` (or tab) goes into the flow, escape comes back. In the flow an admin adds (after the
highlighted action, or into the highlighted path), edits, comments, clones, moves (up/down in
its list, or `m` into another branch's path or the workflow's own list), and deletes this
action or this and all following; `r` on one of the last failures retries it (R-A9). The
workflow itself: `space` on/off, `R` re-enrollment, `C` the enrollment condition (clones only,
R-A7), `Y` clone, `D` delete; `p` shows another pipeline's workflows. A rep reads and retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label
from textual.widgets.option_list import Option

from app.screens import action_dialogs
from app.screens.action_dialogs import ask_action, ask_condition
from app.screens.base import DeskScreen
from app.screens.dialogs import ConfirmScreen, PickerScreen
from app.screens.keys import key_for
from app.screens.settings_dialogs import InfoScreen
from automation import admin
from automation.actions import retry_action
from automation.conditions import describe as describe_conditions
from automation.services import actor_of
from storage import queries, views
from widgets.option_list import OptionList
from widgets.text import line

# Keys that act on a row of the flow, and the rows each applies to.
ON_ROWS: dict[str, frozenset[str]] = {
    "add": frozenset({"enrollment", "action", "path", "end"}),
    "edit": frozenset({"enrollment", "action"}),
    "comment": frozenset({"action"}),
    "clone_action": frozenset({"action"}),
    "move": frozenset({"action"}),
    "move_into": frozenset({"action"}),
    "delete_action": frozenset({"action"}),
    "delete_following": frozenset({"action"}),
}
READING_ROWS = {"retry": frozenset({"failure"})}  # not a settings change: anyone may (R-A9)
ON_WORKFLOW = frozenset({"switch", "reenroll", "condition", "clone", "delete_workflow"})
ONLY_CLONES = frozenset({"reenroll", "condition"})  # R-A7: built-ins keep their enrollment


@dataclass
class Step:
    """One row of the flow."""

    kind: str  # enrollment, action, path, end, note, failure
    data: dict[str, Any] = field(default_factory=dict)
    into: tuple[int, str] | None = None  # the path an action (or a path row) is in
    count: int = 0  # how many actions share the action's list
    depth: int = 0  # how many branches it sits in


class WorkflowsScreen(DeskScreen):
    MODE = ""
    HELP_TITLE = "Workflows"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="workflows.back"),
        Binding("space", "switch", "On/off", key_display="space", id="workflows.switch"),
        Binding("R", "reenroll", "Re-enrollment", key_display="R", id="workflows.reenroll"),
        Binding("C", "condition", "Condition", key_display="C", id="workflows.condition"),
        Binding("Y", "clone", "Clone workflow", key_display="Y", id="workflows.clone"),
        Binding("D", "delete_workflow", "Delete workflow", key_display="D", id="workflows.delete"),
        Binding("a", "add", "Add action", id="workflows.add_action"),
        Binding("e", "edit", "Edit", id="workflows.edit_action"),
        Binding("c", "comment", "Comment", id="workflows.comment_action"),
        Binding("y", "clone_action", "Clone action", id="workflows.clone_action"),
        Binding("K", "move(-1)", "Move up", key_display="K", id="workflows.move_up"),
        Binding("J", "move(1)", "Move down", key_display="J", id="workflows.move_down"),
        Binding("m", "move_into", "Move into…", id="workflows.move_into"),
        Binding("x", "delete_action", "Delete", id="workflows.delete_action"),
        Binding(
            "X",
            "delete_following",
            "Delete following",
            key_display="X",
            id="workflows.delete_following",
        ),
        Binding("r", "retry", "Retry", id="workflows.retry"),
        Binding("p", "pick_pipeline", "Pipeline", id="workflows.pipeline"),
        Binding("j", "cursor(1)", "Down", show=False, id="workflows.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="workflows.up"),
    ]

    def __init__(self, pipeline_id: int | None = None, workflow_id: int | None = None) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self._want_workflow = workflow_id  # highlighted on the first load (settings' row)
        self.rows: list[dict[str, Any]] = []
        self.detail: dict[str, Any] | None = None
        self.steps: list[Step] = []
        self._want_action: int | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        with Horizontal(id="workflows-panes"):
            yield OptionList(id="workflow-list")
            yield OptionList(id="workflow-flow")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#workflow-list", OptionList).focus()
        self.refresh_data()

    # --- which keys apply ---------------------------------------------------------------------

    @property
    def in_flow(self) -> bool:
        return self.query_one("#workflow-flow", OptionList).has_focus

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        changes = action in ON_WORKFLOW or action in ON_ROWS
        if changes and not self.me.is_admin:
            return False  # a rep reads; the change keys are hidden
        if self.app.screen is not self:
            return True  # help and the palette list every key of this screen
        if action in ONLY_CLONES:
            return self.current is not None and not self.current["builtin"]
        rows = ON_ROWS.get(action) or READING_ROWS.get(action)
        if rows is not None:
            step = self.step
            return self.in_flow and step is not None and step.kind in rows
        return True

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    # --- loading ------------------------------------------------------------------------------

    def refresh_data(self) -> None:
        self._load()

    @work(group="workflows", exclusive=True)
    async def _load(self) -> None:
        pipeline_id = self.pipeline_id
        found = await self.backend.query(lambda s: queries.pipeline_workflows(s, pipeline_id))
        self.rows = found["workflows"]
        if found["pipeline"] is not None:
            self.pipeline_id = found["pipeline"]["id"]
            self.set_status(
                f"{line(found['pipeline']['name'])} workflows · enter opens the flow · "
                "escape goes back"
            )
        options = self.query_one("#workflow-list", OptionList)
        keep = options.highlighted
        options.clear_options()
        for row in self.rows:
            options.add_option(Option(_summary_line(row), id=str(row["id"])))
        ids = [row["id"] for row in self.rows]
        want, self._want_workflow = self._want_workflow, None
        if want in ids:  # the highlight posts OptionHighlighted, which shows that workflow
            options.highlighted = ids.index(want)
        elif self.rows:
            options.highlighted = min(keep or 0, len(self.rows) - 1)
        else:
            self._empty()
        self.refresh_bindings()

    def _empty(self) -> None:
        self.detail, self.steps = None, []
        flow = self.query_one("#workflow-flow", OptionList)
        flow.clear_options()
        flow.add_option(
            Option(
                Content(
                    "No workflows in this pipeline yet: the first action added to a status "
                    "(settings, a) makes its workflow."
                ),
                disabled=True,
            )
        )

    @property
    def current(self) -> dict[str, Any] | None:
        index = self.query_one("#workflow-list", OptionList).highlighted
        return self.rows[index] if index is not None and index < len(self.rows) else None

    @property
    def step(self) -> Step | None:
        index = self.query_one("#workflow-flow", OptionList).highlighted
        return self.steps[index] if index is not None and index < len(self.steps) else None

    @on(OptionList.OptionHighlighted, "#workflow-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._show(int(event.option.id))
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#workflow-flow")
    def _step_highlighted(self) -> None:
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#workflow-list")
    def _open_flow(self) -> None:
        self.query_one("#workflow-flow", OptionList).focus()

    @on(OptionList.OptionSelected, "#workflow-flow")
    def _selected_step(self) -> None:
        if self.me.is_admin and self.step is not None and self.step.kind in ON_ROWS["edit"]:
            self.action_edit()

    @work(group="workflow-detail", exclusive=True)
    async def _show(self, workflow_id: int) -> None:
        detail = await self.backend.query(lambda s: queries.workflow_detail(s, workflow_id))
        flow = self.query_one("#workflow-flow", OptionList)
        keep = flow.highlighted
        same = self.detail is not None and detail and self.detail["workflow"]["id"] == workflow_id
        self.detail = detail
        self.steps = _steps(detail) if detail else []
        flow.clear_options()
        for step in self.steps:
            flow.add_option(_option(step))
        if not self.steps:
            flow.add_option(Option(Content("This workflow is gone."), disabled=True))
            return
        want = self._want_action
        self._want_action = None
        chosen = next(
            (i for i, s in enumerate(self.steps) if s.kind == "action" and s.data["id"] == want),
            keep if same and keep is not None else 0,
        )
        flow.highlighted = min(chosen, len(self.steps) - 1)
        self.refresh_bindings()

    # --- navigation ---------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        focused = self.focused if isinstance(self.focused, OptionList) else None
        options = focused or self.query_one("#workflow-list", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_pick_pipeline(self) -> None:
        self._pick_pipeline()

    @work(group="workflow-dialog")
    async def _pick_pipeline(self) -> None:
        pipelines = await self.backend.query(views.pipelines)
        choices = [(p["name"], p["id"]) for p in pipelines]
        chosen = await self.app.push_screen_wait(
            PickerScreen("Workflows of which pipeline?", choices, self.pipeline_id)
        )
        if chosen is not None and chosen != self.pipeline_id:
            self.pipeline_id = chosen
            self.detail = None
            self.query_one("#workflow-list", OptionList).highlighted = None
            self.refresh_data()

    def action_back(self) -> None:
        if self.in_flow:
            self.query_one("#workflow-list", OptionList).focus()
        else:
            self.app.pop_screen()

    # --- the workflow -------------------------------------------------------------------------

    def action_switch(self) -> None:
        row = self.current
        if row is not None:
            on_ = not row["enabled"]
            said = f"{line(row['name'])}: {'on' if on_ else 'off'}"
            action_dialogs.switch_workflow(self, row["id"], row["name"], on_, said)

    def action_reenroll(self) -> None:
        row = self.current
        if row is not None:
            workflow_id, on_ = row["id"], not row["reenroll"]
            self.change(
                lambda repo, me: admin.set_workflow(repo, me, workflow_id, reenroll=on_),
                f"{line(row['name'])}: re-enrollment {'on' if on_ else 'off'}",
            )

    def action_condition(self) -> None:
        if self.current is not None:
            self._ask_enrollment(self.current["id"], self.current["conditions"])

    @work(group="workflow-dialog")
    async def _ask_enrollment(self, workflow_id: int, current: dict[str, Any] | None) -> None:
        conditions = await ask_condition(self, "Enroll when", current=current)
        if conditions is not None:
            self.change(
                lambda repo, me: admin.set_workflow(repo, me, workflow_id, conditions=conditions),
                f"Enrolls when: {describe_conditions(conditions)}",
            )

    def action_clone(self) -> None:
        row = self.current
        if row is not None:
            workflow_id = row["id"]
            self.change(
                lambda repo, me: admin.clone_workflow(repo, me, workflow_id).id,
                lambda new_id: f"Cloned as workflow {new_id} (off until you switch it on)",
            )

    def action_delete_workflow(self) -> None:
        if self.current is not None:
            self._delete_workflow(self.current)

    @work(group="workflow-dialog")
    async def _delete_workflow(self, row: dict[str, Any]) -> None:
        question = f"Delete the workflow “{line(row['name'])}” and all its actions?"
        if await self.app.push_screen_wait(ConfirmScreen(question)):
            workflow_id = row["id"]
            self.change(
                lambda repo, me: admin.delete_workflow(repo, me, workflow_id), "Workflow deleted"
            )

    # --- its actions (R-A6) -------------------------------------------------------------------

    def _on(self, action: str) -> Step | None:
        """The highlighted row of the flow when the key applies to it."""
        step = self.step
        rows = ON_ROWS.get(action) or READING_ROWS[action]
        if not self.in_flow or step is None or step.kind not in rows:
            self.notify("That key does not apply to this row.", severity="warning")
            return None
        return step

    def action_add(self) -> None:
        step = self._on("add")
        if step is not None and self.current is not None:
            self._add(self.current["id"], step)

    @work(group="workflow-dialog")
    async def _add(self, workflow_id: int, step: Step) -> None:
        """After the highlighted action in its list; into a highlighted path at its end; else at
        the end of the workflow."""
        answer = await ask_action(self, "New action")
        if answer is None:
            return
        fields, what = answer
        into = step.into if step.kind in ("action", "path") else None
        position = step.data["position"] + 2 if step.kind == "action" else None

        def add(repo: Any, me: Any) -> int:
            action = admin.add_action_to_workflow(repo, me, workflow_id, into=into, **fields)
            if position is not None:
                admin.move_action(repo, me, action.id, position)
            return int(action.id)

        self.change(add, f"Action added: {line(what)}", after=self._select_action)

    def action_edit(self) -> None:
        step = self._on("edit")
        if step is None:
            return
        if step.kind == "enrollment":
            if self.current is not None and self.current["builtin"]:
                self.notify(
                    "A built-in status workflow keeps its enrollment: clone it "
                    f"({key_for(self, 'workflows.clone')}) and change the clone.",
                    severity="warning",
                )
            else:
                self.action_condition()
        else:
            self._edit(step)

    @work(group="workflow-dialog")
    async def _edit(self, step: Step) -> None:
        title = f"Change “{line(step.data['description'])}”"
        await action_dialogs.edit_action(self, title, step.data, self._select_action)

    def action_comment(self) -> None:
        step = self._on("comment")
        if step is not None:
            action_dialogs.comment_on(self, step.data["id"])

    def action_clone_action(self) -> None:
        step = self._on("clone_action")
        if step is not None:
            action_dialogs.clone_action(self, step.data["id"], self._select_action)

    def action_move(self, by: int) -> None:
        step = self._on("move")
        if step is not None:
            action_dialogs.move_action(self, step.data, by, step.count, self._select_action)

    def action_move_into(self) -> None:
        step = self._on("move_into")
        if step is not None:
            self._move_into(step)

    @work(group="workflow-dialog")
    async def _move_into(self, step: Step) -> None:
        """Into a path of another branch, or out to the workflow's own list."""
        moving = step.data
        inside = {r.action["id"] for r in queries.flow_rows([moving]) if r.action}
        choices: list[tuple[str, Any]] = [("The workflow's own list (not in a branch)", "top")]
        actions = self.detail["workflow"]["actions"] if self.detail else []
        for row in queries.flow_rows(actions):
            branch = row.action
            if branch is not None and branch["kind"] == "branch" and branch["id"] not in inside:
                for which in ("yes", "no"):
                    label = f"{line(branch['description'])} → {which}"
                    choices.append((label, (branch["id"], which)))
        chosen = await self.app.push_screen_wait(
            PickerScreen(f"Move “{line(moving['description'])}” to the end of", choices)
        )
        if chosen is None:
            return
        into = None if chosen == "top" else chosen
        if into == step.into:
            self.notify("It is in that list already: K/J move it there.", severity="warning")
            return
        action_id = moving["id"]
        self.change(
            lambda repo, me: admin.move_action_into(repo, me, action_id, into).id,
            "Action moved",
            after=self._select_action,
        )

    def action_delete_action(self) -> None:
        step = self._on("delete_action")
        if step is not None:
            self._delete(step, and_following=False)

    def action_delete_following(self) -> None:
        step = self._on("delete_following")
        if step is not None:
            self._delete(step, and_following=True)

    @work(group="workflow-dialog")
    async def _delete(self, step: Step, *, and_following: bool) -> None:
        what = f"“{line(step.data['description'])}”"
        if and_following:
            question = f"Delete {what} and every action after it in its list?"
        elif step.data["kind"] == "branch":
            question = f"Delete the branch {what} with both its paths?"
        else:
            question = f"Delete {what}?"
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        action_id = step.data["id"]
        self.change(
            lambda repo, me: admin.delete_action(repo, me, action_id, and_following=and_following),
            lambda count: f"Deleted {count} action{'' if count == 1 else 's'}",
        )

    def action_retry(self) -> None:
        """R-A9: run a failed action again (after its template was fixed, say)."""
        step = self._on("retry")
        if step is None:
            return
        if step.data.get("retried"):
            self.notify("That failure was retried already: see its retry.", severity="warning")
            return
        run_id = step.data["run_id"]
        self.change(
            lambda repo, me: retry_action(repo, actor_of(me), run_id),
            lambda state: f"Retried: {'it ran' if state == 'ok' else state}",
        )

    def _select_action(self, action_id: int) -> None:
        self._want_action = action_id


def _steps(detail: dict[str, Any]) -> list[Step]:
    workflow = detail["workflow"]
    steps = [Step("enrollment", workflow)]
    for row in queries.flow_rows(workflow["actions"]):
        if row.action is None:
            marker = {"which": row.which, "empty": not row.count}
            steps.append(Step("path", marker, row.into, depth=row.depth))
        else:
            steps.append(Step("action", row.action, row.into, row.count, row.depth))
    steps.append(Step("end"))
    if detail["failures"]:
        steps.append(Step("note", {"text": "failures"}))
        steps.extend(Step("failure", failure) for failure in detail["failures"])
    return steps


def _option(step: Step) -> Option:
    return Option(_step_line(step), disabled=step.kind == "note")


def _step_line(step: Step) -> Content:
    data = step.data
    if step.kind == "enrollment":
        return Content.from_markup(
            "[b]$name[/b]\n[$text-muted]Enrollment:[/] $when\n[$text-muted]$reenroll · $state[/]"
            "\n↓",
            name=line(data["name"]),
            when=line(" and ".join(data["enrollment_conditions"])),
            reenroll="re-enrollment on" if data["reenroll"] else "a ticket enrolls once",
            state="on" if data["enabled"] else "off",
        )
    if step.kind == "end":
        return Content("End")
    if step.kind == "note":
        return Content.from_markup("\n[b $text-error]Last failures[/] [$text-muted](r retries)[/]")
    if step.kind == "failure":
        return Content.from_markup(
            "[$text-muted]$at[/] #$ticket $detail[$text-muted]$retried[/]",
            at=str(data.get("at") or "")[:16].replace("T", " "),
            ticket=str(data.get("ticket")),
            detail=line(data.get("detail") or data.get("action") or ""),
            retried=" · retried" if data.get("retried") else "",
        )
    pad = "   " * step.depth
    if step.kind == "path":
        empty = " [$text-muted](nothing: a adds here)[/]" if data["empty"] else ""
        which = f"{data['which']:>3}"  # " no" under "yes": the arrows line up
        return Content.from_markup(f"$pad[b]$which →[/b]{empty}", pad=pad[:-2], which=which)
    text = Content.from_markup(
        "$pad[b]$n.[/b] $what", pad=pad, n=str(data["position"] + 1), what=line(data["description"])
    )
    comments = [
        Content.from_markup("$pad   [$text-muted]# $c[/]", pad=pad, c=line(c))
        for c in data["comments"]
    ]
    return Content("\n").join([text, *comments])


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


# --- from the settings screen: which workflow a row opens, and its read-only page ------------


def editor_workflow(kind: str, data: dict[str, Any], statuses: list[dict[str, Any]]) -> int | None:
    """The workflow the editor opens on from a settings row: a status's own (built-in) one, a
    cloned workflow, the workflow an action is in, a trigger's target status's; None for rows
    of no workflow (the editor opens on the pipeline's first)."""
    if kind == "workflow":
        return int(data["id"])
    if isinstance(data.get("workflow"), dict) and "id" in data["workflow"]:
        return int(data["workflow"]["id"])
    workflows = data.get("workflows")
    if kind == "trigger":
        target = next((s for s in statuses if s["status"] == data.get("target")), None)
        workflows = target["workflows"] if target is not None else None
    if not workflows:
        return None
    builtin = [w for w in workflows if w["builtin"]]
    return int((builtin or workflows)[0]["id"])


class WorkflowPage(InfoScreen):
    """A read-only workflow page of the settings screen ("view workflow", R-T5) with a key that
    opens the workflow editor on that workflow (a trigger's: its target status's workflow)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # The settings screen's key for the editor (one id: keys.toml remaps both).
        Binding("W", "open_editor", "Workflow editor", key_display="W", id="settings.workflows"),
    ]

    def __init__(
        self, title: str, body: Content, pipeline_id: int | None, workflow_id: int | None
    ) -> None:
        super().__init__(title, body)
        self.pipeline_id = pipeline_id
        self.workflow_id = workflow_id

    def on_mount(self) -> None:
        hint = Content.from_markup(
            "[$text-muted]$key opens it in the workflow editor, where it can be changed[/]",
            key=key_for(self, "settings.workflows"),
        )
        self.query_one(".dialog").mount(Label(hint, id="info-editor"))

    def action_open_editor(self) -> None:
        self.app.switch_screen(WorkflowsScreen(self.pipeline_id, self.workflow_id))
