"""Text the settings rows share: the notes of the side pane and the read-only workflow page
("View workflow" / "Open in workflows", R-T5)."""

from __future__ import annotations

from typing import Any

from textual.content import Content

from app.screens.keys import KeyName
from storage import queries
from widgets.text import line

ENROLL_ONCE = (
    "A ticket is enrolled once: reaching this status again does not repeat these actions "
    "unless the workflow is cloned with re-enrollment."
)
LIVE_NOTE = (
    "Chat and messenger channels start with ticket automation off. With it on they create "
    "tickets, but the two triggers and the built-in status actions skip chat and "
    "messenger tickets; a cloned workflow whose source includes Chat applies to them."
)


def workflows_page(
    label: str, workflows: list[dict[str, Any]], name: KeyName
) -> tuple[str, Content]:
    """A status's workflows, read-only: enrollment, re-enrollment and the flow of actions."""
    rows: list[Content] = []
    if not workflows:
        add = name("settings.add_action")
        rows.append(
            Content(f"“{line(label)}” has no status actions yet: {add} adds one, and its workflow.")
        )
    for workflow in workflows:
        rows.extend(_workflow(workflow))
    rows.append(Content(ENROLL_ONCE))
    rows.append(
        Content(
            f"{name('settings.workflows')} opens the workflow editor. To change re-enrollment or "
            "the enrollment condition, clone the workflow "
            f"({name('settings.clone_workflow')}), change the clone, then delete the original."
        )
    )
    return f"Workflows of status {label}", Content("\n").join(rows)


def enrollment_text(workflow: dict[str, Any]) -> str:
    """A workflow's enrollment condition in words: the same words as the workflow editor's
    (storage.queries.enrollment_conditions), for built-in workflows and clones alike."""
    return line(" and ".join(workflow.get("enrollment_conditions") or [workflow["enrollment"]]))


def _workflow(workflow: dict[str, Any]) -> list[Content]:
    rows = [Content.from_markup("[b]$name[/b]", name=line(workflow["name"]))]
    kind = "built-in status workflow" if workflow["builtin"] else "cloned workflow"
    rows.append(Content(f"{kind}, {'on' if workflow['enabled'] else 'off'}"))
    rows.append(Content(f"Enrollment: {enrollment_text(workflow)}"))
    reenroll = "on" if workflow["reenroll"] else "off (a ticket is enrolled once)"
    rows.append(Content(f"Re-enrollment: {reenroll}"))
    rows.append(Content(f"Enrolled tickets: {workflow['enrolled_tickets']}"))
    rows.extend(_page_actions(workflow["actions"]))
    if not workflow["actions"]:
        rows.append(Content("  (no actions)"))
    rows.append(Content(""))
    return rows


def _page_actions(actions: list[dict[str, Any]]) -> list[Content]:
    rows = []
    for row in queries.flow_rows(actions):
        if row.action is None:
            pad = " " * (5 * row.depth)
            rows.append(Content(f"{pad}{row.which} →" + ("" if row.count else " (nothing)")))
            continue
        action, pad = row.action, " " * (2 + 5 * row.depth)
        rows.append(Content(f"{pad}{action['position'] + 1}. {line(action['description'])}"))
        rows.extend(Content(f"{pad}     comment: {line(c)}") for c in action["comments"])
    return rows
