"""Rows of a pipeline's statuses (SPEC §1) and the cloned workflows under them (R-A7)."""

from __future__ import annotations

from typing import Any

from textual.content import Content

from app.screens.action_dialogs import ask_action, ask_condition, switch_workflow
from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.keys import KeyName
from app.screens.settings.host import SettingsHost
from app.screens.settings.pages import ENROLL_ONCE, enrollment_text, workflows_page
from app.screens.settings.rows import PagedRow, box, count, hint, on_off
from automation import admin
from automation.conditions import describe as describe_conditions
from storage import queries, settings_views
from storage.repository import SqlRepository
from widgets.text import line

OPEN_IN_WORKFLOWS = hint("open in workflows", "settings.view_workflow")


class StatusRow(PagedRow):
    kind = "status"
    KEYS = (
        hint("add action", "settings.add_action"),
        hint("clone workflow", "settings.clone_workflow"),
        hint("rename", "settings.rename"),
        hint("move up/down", "settings.move_up", "settings.move_down"),
        hint("remove (moves its tickets)", "settings.delete"),
        hint("new status", "settings.new"),
        OPEN_IN_WORKFLOWS,
    )

    @classmethod
    def of(cls, status: dict[str, Any], position: int, of: int) -> StatusRow:
        prompt = Content.from_markup(
            "[b]$label[/b] [$text-muted]$state · $tickets · $actions[/]",
            label=line(status["status"]),
            state=status["state"].lower(),
            tickets=count(status["tickets"], "ticket"),
            actions=actions_of(status["workflows"]),
        )
        return cls(f"status:{status['id']}", prompt, {**status, "position": position, "count": of})

    def explain(self) -> list[Content]:
        d = self.data
        return [
            Content.from_markup("[b]$label[/b]", label=line(d["status"])),
            Content(
                f"{d['state'].lower()} status {d['position']} of {d['count']}, "
                f"{count(d['tickets'], 'ticket')}"
            ),
            Content(ENROLL_ONCE),
        ]

    def page(self, name: KeyName) -> tuple[str, Content]:
        return workflows_page(self.data["status"], self.data["workflows"], name)

    def add_action(self, screen: SettingsHost) -> None:
        screen.ask(self._add_action(screen))

    async def _add_action(self, screen: SettingsHost) -> None:
        """Ask what the new action does (R-A2, R-A4, R-A5), then add it to the end of the
        status's workflow."""
        label, pipeline = self.data["status"], screen.pipeline_name
        answer = await ask_action(screen.desk_screen, f"New action of {line(label)}")
        if answer is None:
            return
        fields, what = answer
        screen.change(
            lambda repo, me: (
                admin.add_action(repo, me, pipeline_name=pipeline, status_label=label, **fields).id
            ),
            f"Action added to {line(label)}: {line(what)}",
            after=screen.select_action,
        )

    def clone_workflow(self, screen: SettingsHost) -> None:
        builtin = [w for w in self.data["workflows"] if w["builtin"]]
        if not builtin:
            screen.notify("This status has no actions to clone yet.", severity="warning")
            return
        clone_workflow(screen, builtin[0]["id"])

    def rename(self, screen: SettingsHost) -> None:
        pipeline, label = screen.pipeline_name, self.data["status"]

        def renamed(text: str | None) -> None:
            if text and text.strip():
                screen.change(
                    lambda repo, me: admin.rename_status(repo, me, pipeline, label, text),
                    f"Status renamed to {line(text)}",
                )

        screen.app.push_screen(PromptScreen(f"Rename the status {label}", value=label), renamed)

    def move(self, screen: SettingsHost, step: int) -> None:
        position = self.data["position"] + step
        if not 1 <= position <= self.data["count"]:
            screen.notify("It is already at that end.", severity="warning")
            return
        pipeline, label = screen.pipeline_name, self.data["status"]
        screen.change(
            lambda repo, me: admin.move_status(repo, me, pipeline, label, position),
            f"{line(label)} moved to position {position}",
        )

    def delete(self, screen: SettingsHost) -> None:
        screen.ask(self._remove(screen))

    async def _remove(self, screen: SettingsHost) -> None:
        """SPEC §1: a status that holds tickets goes only after they move to another status."""
        d = self.data
        label, pipeline, move_to = d["status"], screen.pipeline_name, None
        if d["count"] <= 1:
            screen.notify(f"{line(label)} is the last status of the pipeline.", severity="warning")
            return
        if d["tickets"]:
            others = [(s["status"], s["status"]) for s in screen.statuses if s["id"] != d["id"]]
            move_to = await screen.app.push_screen_wait(
                PickerScreen(
                    f"{line(label)} holds {count(d['tickets'], 'ticket')}: move them to", others
                )
            )
            if move_to is None:
                return
        doomed = await screen.backend.query(lambda s: settings_views.status_removal(s, d["id"]))
        question = self._removal(screen, move_to, doomed)
        if not await screen.app.push_screen_wait(ConfirmScreen(question)):
            return
        screen.change(
            lambda repo, me: admin.remove_status(repo, me, pipeline, label, move_to=move_to),
            lambda moved: (
                f"{line(label)} removed" + (f"; {count(moved, 'ticket')} moved" if moved else "")
            ),
        )

    def _removal(self, screen: SettingsHost, move_to: str | None, doomed: dict[str, int]) -> str:
        """The question before a status goes: where its tickets go, what is deleted with it
        (its workflows, actions and their history), which triggers break."""
        label = self.data["status"]
        targeted = [t["name"] for t in screen.triggers if t["target"] == label]
        question = f"Remove the status {line(label)}"
        if move_to is not None:
            question += f" and move its tickets to {line(move_to)}"
        question += "?"
        if gone := deleted_with(doomed):
            question += f" This also deletes {gone}."
        if targeted:
            question += f" {' and '.join(targeted)} will be broken until you pick a target."
        return question

    def new(self, screen: SettingsHost) -> None:
        screen.ask(self._new_status(screen))

    async def _new_status(self, screen: SettingsHost) -> None:
        pipeline = screen.pipeline_name
        label = await screen.app.push_screen_wait(PromptScreen(f"New status in {pipeline}"))
        if not label or not label.strip():
            return
        state = await screen.app.push_screen_wait(
            PickerScreen(
                f"Is “{label.strip()}” open or closed?",
                [("Open (the ticket is being worked on)", "OPEN"), ("Closed", "CLOSED")],
            )
        )
        if state is None:
            return
        position = self.data["position"] + 1  # right after the highlighted status

        def add(repo: SqlRepository, me: Any) -> int:
            status = admin.add_status(repo, me, pipeline, label, state)
            admin.move_status(repo, me, pipeline, status.label, position)
            return status.id

        screen.change(
            add,
            f"Status {line(label)} added after {line(self.data['status'])}",
            after=lambda status_id: screen.select(f"status:{status_id}"),
        )


class WorkflowRow(PagedRow):
    """A cloned workflow of a status: it can be switched off, re-enroll, have a condition."""

    kind = "workflow"
    KEYS = (
        hint("switch on/off", "settings.switch"),
        hint("re-enrollment", "settings.reenroll"),
        hint("condition", "settings.conditions"),
        hint("clone", "settings.clone_workflow"),
        hint("delete", "settings.delete"),
        OPEN_IN_WORKFLOWS,
    )

    @classmethod
    def of(cls, workflow: dict[str, Any], status: str) -> WorkflowRow:
        prompt = Content.from_markup(
            "  $box workflow $name [$text-muted]$reenroll[/]",
            box=box(workflow["enabled"]),
            name=f"“{line(workflow['name'])}”",
            reenroll="re-enrolls" if workflow["reenroll"] else "enrolls once",
        )
        return cls(f"workflow:{workflow['id']}", prompt, {**workflow, "status": status})

    def explain(self) -> list[Content]:
        d = self.data
        return [
            Content.from_markup("[b]$name[/b]", name=line(d["name"])),
            Content(
                f"A cloned workflow of {line(d['status'])}: {on_off(d['enabled'])}, "
                f"{'re-enrollment on' if d['reenroll'] else 're-enrollment off'}."
            ),
            Content.from_markup("Enrolls when: $when.", when=enrollment_text(d)),
        ]

    def page(self, name: KeyName) -> tuple[str, Content]:
        return workflows_page(self.data["status"], [self.data], name)

    def switch(self, screen: SettingsHost) -> None:
        """On beside another workflow of the status that is on: asks what to do with it."""
        name, on = self.data["name"], not self.data["enabled"]
        said = f"Workflow {line(name)}: {on_off(on)}"
        switch_workflow(screen.desk_screen, self.data["id"], name, on, said)

    def reenroll(self, screen: SettingsHost) -> None:
        workflow_id, on = self.data["id"], not self.data["reenroll"]
        screen.change(
            lambda repo, me: admin.set_workflow(repo, me, workflow_id, reenroll=on),
            f"Re-enrollment {'on: a ticket runs it each time' if on else 'off'}",
        )

    def conditions(self, screen: SettingsHost) -> None:
        screen.ask(self._edit_conditions(screen))

    async def _edit_conditions(self, screen: SettingsHost) -> None:
        """Build an enrollment condition: a group (all / any) of field tests, key by key."""
        conditions = await ask_condition(
            screen.desk_screen, "Enroll when", current=self.data["conditions"]
        )
        if conditions is None:
            return
        workflow_id = self.data["id"]
        screen.change(
            lambda repo, me: admin.set_workflow(repo, me, workflow_id, conditions=conditions),
            f"Enrolls when: {describe_conditions(conditions)}",
        )

    def clone_workflow(self, screen: SettingsHost) -> None:
        clone_workflow(screen, self.data["id"])

    def delete(self, screen: SettingsHost) -> None:
        screen.ask(self._delete(screen))

    async def _delete(self, screen: SettingsHost) -> None:
        question = f"Delete the workflow “{line(self.data['name'])}” and its actions?"
        if await screen.app.push_screen_wait(ConfirmScreen(question)):
            workflow_id = self.data["id"]
            screen.change(
                lambda repo, me: admin.delete_workflow(repo, me, workflow_id),
                "Workflow deleted",
            )


def actions_of(workflows: list[dict[str, Any]]) -> str:
    """A status's actions, counted over every workflow of it (its clones too)."""
    actions = sum(
        sum(row.action is not None for row in queries.flow_rows(w["actions"])) for w in workflows
    )
    if not actions:
        return "no actions"
    if len(workflows) > 1:
        return f"{count(actions, 'action')} in {count(len(workflows), 'workflow')}"
    return count(actions, "action")


def deleted_with(doomed: dict[str, int]) -> str:
    """What goes with a removed status, in words ("" for nothing): its workflows, their
    actions, enrollments, failure history and the delayed steps still waiting."""
    nouns = {
        "workflows": "workflow",
        "actions": "action",
        "enrollments": "enrollment",
        "failures": "failed action run",
        "waiting": "waiting delayed step",
    }
    parts = [count(doomed[key], noun) for key, noun in nouns.items() if doomed[key]]
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def clone_workflow(screen: SettingsHost, workflow_id: int) -> None:
    """R-A7: a clone is editable and starts off, with no enrollment history (E7)."""
    name = screen.key_name
    screen.change(
        lambda repo, me: admin.clone_workflow(repo, me, workflow_id).id,
        lambda clone: (
            f"Workflow {clone} created, off: {name('settings.reenroll')} sets re-enrollment, "
            f"{name('settings.conditions')} its condition, {name('settings.switch')} switches "
            f"it on; {name('settings.workflows')} opens it in the workflow editor."
        ),
        after=lambda clone: screen.select(f"workflow:{clone}"),
    )
