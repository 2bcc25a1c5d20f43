"""Rows of a workflow's flow: its actions (R-A1..R-A6) and a branch's "yes →" / "no →" paths
(R-A5 if/else), indented under the branch."""

from __future__ import annotations

from typing import Any

from textual.content import Content

from app.screens import action_dialogs
from app.screens.action_dialogs import ask_action
from app.screens.dialogs import ConfirmScreen
from app.screens.keys import KeyName
from app.screens.settings.host import SettingsHost
from app.screens.settings.pages import ENROLL_ONCE, workflows_page
from app.screens.settings.rows import PagedRow, Row, count, hint
from automation import admin
from storage import queries
from widgets.text import line

OPEN_IN_WORKFLOWS = hint("open in workflows", "settings.view_workflow")


def flow_rows(workflow: dict[str, Any], status: str) -> list[Row]:
    """A workflow's actions as rows; a branch's paths follow it, indented (R-A5 if/else)."""
    rows: list[Row] = []
    for row in queries.flow_rows(workflow["actions"]):
        common = {"status": status, "workflow": workflow, "into": row.into}
        if row.action is None:
            assert row.branch is not None
            rows.append(PathRow.of(row, common))
        else:
            rows.append(ActionRow.of(row, common))
    return rows


def what_it_does(action: dict[str, Any]) -> str:
    """The action in words, a note with its whole text (the list cuts it with an ellipsis
    where the row must be cut; the side pane wraps it)."""
    if action["kind"] == "add_note":
        return f"Add note “{line(action['config'].get('body') or '')}”"
    return line(action["description"])


def comments_of(comments: list[str], pad: str) -> str:
    """An action's comments, each on a line of its own under the action (cut with an ellipsis
    where the list is too narrow; the side pane has them whole)."""
    return "".join(f"\n{pad}comment: {line(comment)}" for comment in comments)


class InFlow(PagedRow):
    """A row inside a workflow's flow: `a` adds an action at the end of the list it is in."""

    def page(self, name: KeyName) -> tuple[str, Content]:
        return workflows_page(self.data["status"], [self.data["workflow"]], name)

    def add_action(self, screen: SettingsHost) -> None:
        screen.ask(self._add_action(screen))

    async def _add_action(self, screen: SettingsHost) -> None:
        """Ask what the new action does (R-A2, R-A4, R-A5), then add it to the end of the list
        this row is in (an action's list, or a branch's path)."""
        answer = await ask_action(screen.desk_screen, f"New action of {line(self.data['status'])}")
        if answer is None:
            return
        fields, what = answer
        workflow_id, into = self.data["workflow"]["id"], self.data["into"]
        screen.change(
            lambda repo, me: (
                admin.add_action_to_workflow(repo, me, workflow_id, into=into, **fields).id
            ),
            f"Action added: {line(what)}",
            after=screen.select_action,
        )


class PathRow(InFlow):
    """A branch's "yes →" or "no →" path."""

    kind = "path"
    KEYS = (hint("add an action at the end of this path", "settings.add_action"), OPEN_IN_WORKFLOWS)

    @classmethod
    def of(cls, row: queries.FlowRow, common: dict[str, Any]) -> PathRow:
        assert row.branch is not None
        prompt = Content.from_markup(
            "$pad[b]$which →[/b][$text-muted]$empty[/]",
            pad=" " * (3 * row.depth - 1),  # under its branch's text
            which=f"{row.which:>3}",
            empty="" if row.count else " (nothing)",
        )
        key = f"path:{row.branch['id']}:{row.which}"
        return cls(key, prompt, {**common, "branch": row.branch["description"]})

    def explain(self) -> list[Content]:
        which = self.data["into"][1]
        met = "holds" if which == "yes" else "does not hold"
        return [
            Content.from_markup("[b]$which →[/b]", which=which),
            Content(
                f"The actions a ticket runs when “{line(self.data['branch'])}” {met}; "
                "after them the run goes on after the branch."
            ),
        ]


class ActionRow(InFlow):
    kind = "action"
    KEYS = (
        hint("add", "settings.add_action"),
        hint("edit", "settings.edit"),
        hint("comment", "settings.comment_action"),
        hint("clone", "settings.clone_action"),
        hint("move", "settings.move_up", "settings.move_down"),
        hint("delete", "settings.delete"),
        hint("delete this and all following", "settings.delete_following"),
        OPEN_IN_WORKFLOWS,
    )

    @classmethod
    def of(cls, row: queries.FlowRow, common: dict[str, Any]) -> ActionRow:
        assert row.action is not None
        action, pad = row.action, " " * (4 + 3 * row.depth)
        prompt = Content.from_markup(
            "$pad$n. $what[$text-muted]$comments[/]",
            pad=pad,
            n=str(action["position"] + 1),
            what=what_it_does(action),
            comments=comments_of(action["comments"], pad + "   "),
        )
        return cls(f"action:{action['id']}", prompt, {**action, **common, "count": row.count})

    def explain(self) -> list[Content]:
        d = self.data
        rows = [
            Content.from_markup("[b]$what[/b]", what=what_it_does(d)),
            Content(
                f"Action {d['position'] + 1} of {d['count']} when a ticket reaches "
                f"{line(d['status'])} ({line(d['workflow']['name'])})."
            ),
            Content(ENROLL_ONCE),
        ]
        for comment in d["comments"]:
            rows.append(Content.from_markup("[$text-muted]Comment:[/] $c", c=line(comment)))
        return rows

    def edit(self, screen: SettingsHost) -> None:
        title = f"Change action {self.data['position'] + 1} of {line(self.data['status'])}"
        screen.ask(
            action_dialogs.edit_action(screen.desk_screen, title, self.data, screen.select_action)
        )

    def comment(self, screen: SettingsHost) -> None:
        action_dialogs.comment_on(screen.desk_screen, self.data["id"])

    def clone(self, screen: SettingsHost) -> None:
        action_dialogs.clone_action(screen.desk_screen, self.data["id"], screen.select_action)

    def move(self, screen: SettingsHost, step: int) -> None:
        d = self.data
        action_dialogs.move_action(screen.desk_screen, d, step, d["count"], screen.select_action)

    def delete(self, screen: SettingsHost) -> None:
        question = f"Delete action {self.data['position'] + 1} “{line(self.data['description'])}”?"
        screen.ask(self._delete(screen, question, and_following=False))

    def delete_following(self, screen: SettingsHost) -> None:
        d = self.data
        doomed = d["count"] - d["position"]
        question = (
            f"Delete action {d['position'] + 1} “{line(d['description'])}” "
            f"and all following ({count(doomed, 'action')} in all)?"
        )
        screen.ask(self._delete(screen, question, and_following=True))

    async def _delete(self, screen: SettingsHost, question: str, *, and_following: bool) -> None:
        if not await screen.app.push_screen_wait(ConfirmScreen(question)):
            return
        action_id = self.data["id"]
        screen.change(
            lambda repo, me: admin.delete_action(repo, me, action_id, and_following=and_following),
            (lambda n: f"Deleted {count(n, 'action')}") if and_following else "Action deleted",
        )
