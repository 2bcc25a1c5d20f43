"""The questions that define an action (SPEC R-A1..R-A5) or a condition, asked one dialog at a
time, and the actions menu (R-A6) built on them. The settings screen and the workflow editor
both use them; the answers are the fields `automation.admin` checks (`ActionFields` plus
"kind"), with a few words saying what was chosen.

Each `ask_*` runs inside a worker (it waits for dialogs) and returns None when the user
pressed escape on any of them: nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.screens.base import DeskScreen
from app.screens.dialogs import PickerScreen, PromptScreen
from automation import admin
from automation.conditions import FIELDS as CONDITION_FIELDS
from automation.conditions import OPS as CONDITION_OPS
from automation.conditions import describe as describe_conditions
from storage import settings_views, views
from widgets.text import line

ACTION_CHOICES = [
    ("Send email to the contact (a template)", "email"),
    ("Notify the ticket owner", "owner"),
    ("Notify a user", "user"),
    ("Notify a team", "team"),
    ("Set the priority", "set:priority"),
    ("Set the owner", "set:owner"),
    ("Set the subject", "set:subject"),
    ("Add an internal note", "note"),
    ("Rotate the owner within a team (skips users marked away)", "rotate"),
    ("Wait (a duration, or until a weekday and hour)", "delay"),
    ("Create a follow-up task", "task"),
    ("Move the ticket to a status (any pipeline)", "move"),
    ("Clone the ticket", "clone"),
    ("Branch: if a condition holds do one thing, else another", "branch"),
]
PRIORITY_CHOICES = [(p, p) for p in ("low", "normal", "high", "urgent")]
# The choice that describes an existing action, to preselect it when editing.
CHOICE_OF_KIND = {
    "send_email": "email",
    "add_note": "note",
    "rotate_owner": "rotate",
    "delay": "delay",
    "create_task": "task",
    "move_ticket": "move",
    "clone_ticket": "clone",
    "branch": "branch",
}
Answer = tuple[dict[str, Any], str]  # (fields for automation.admin, what it does in words)


def _current_choice(current: dict[str, Any] | None) -> str | None:
    if current is None:
        return None
    config = current.get("config", {})
    if current["kind"] == "set_property":
        return f"set:{config.get('property')}"
    return CHOICE_OF_KIND.get(current["kind"], config.get("to"))


async def ask_action(
    screen: DeskScreen, title: str, current: dict[str, Any] | None = None
) -> Answer | None:
    """What the action does: its kind, then what that kind needs."""
    kind = await screen.app.push_screen_wait(
        PickerScreen(f"{title}: what does it do?", ACTION_CHOICES, _current_choice(current))
    )
    if kind is None:
        return None
    config = (current or {}).get("config", {})
    if kind == "branch":
        was = config.get("if") if (current or {}).get("kind") == "branch" else None
        condition = await ask_condition(
            screen, "Take the yes path when", current=was, allow_always=False
        )
        if condition is None:
            return None
        return {"kind": "branch", "condition": condition}, f"if {describe_conditions(condition)}"
    if kind == "email":
        return await _ask_email(screen)
    if kind in ("owner", "user", "team"):
        return await _ask_notify(screen, kind, config)
    if kind in ("move", "clone"):
        return await _ask_status(screen, kind)
    if kind == "task":
        return await _ask_task(screen)
    if kind == "delay":
        value = await screen.app.push_screen_wait(
            PromptScreen("Wait how long? 30m, 1h, 2d, or a weekday and an hour: monday 9")
        )
        return None if value is None else ({"kind": "delay", "value": value}, f"wait {value}")
    if kind == "note":
        value = await screen.app.push_screen_wait(
            PromptScreen("Note text", value=str(config.get("body") or ""))
        )
        return None if value is None else ({"kind": "add_note", "message": value}, "add a note")
    if kind == "rotate":
        return await _ask_rotate(screen)
    return await _ask_property(screen, kind.split(":", 1)[1])


async def ask_condition(
    screen: DeskScreen,
    title: str,
    *,
    current: dict[str, Any] | None = None,
    allow_always: bool = True,
) -> dict[str, Any] | None:
    """A group (all / any) of field tests, built key by key; `current`'s tests come first, so
    an edit adds to them or takes the last ones off."""
    current = {k: v for k, v in (current or {}).items() if k not in SOURCE_KEYS}
    groups = [("all of the tests match (AND)", "all"), ("any of the tests matches (OR)", "any")]
    if allow_always:
        groups.append(("always (remove the condition)", "none"))
    was = "any" if "any" in current else "all"
    group = await screen.app.push_screen_wait(PickerScreen(title, groups, was))
    if group is None:
        return None
    if group == "none":
        return {"all": []}
    tests = _tests_of(current)
    while True:
        test = await _ask_test(screen, group, tests)
        if test is None:
            return None
        if test == DONE:
            break
        if test == REMOVE_LAST:
            tests.pop()
        else:
            tests.append(test)
    if not tests and not allow_always:
        screen.notify("A branch needs at least one test.", severity="warning")
        return None
    return {group: tests}


SOURCE_KEYS = ("sources", "exclude_sources")  # edited by the source switches, not here
DONE: dict[str, Any] = {"done": True}
REMOVE_LAST: dict[str, Any] = {"remove_last": True}


def _tests_of(tree: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in tree or "any" in tree:
        return list(tree.get("all") or tree.get("any") or [])
    return [tree] if "field" in tree else []


async def _ask_test(
    screen: DeskScreen, group: str, tests: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """One more test, or DONE (save the tests so far), or REMOVE_LAST."""
    choices: list[tuple[str, str]] = [(f"✓ Save ({describe_conditions({group: tests})})", "")]
    if tests:
        choices.append((f"✗ Take off the last test ({describe_conditions(tests[-1])})", "-"))
    choices.extend((f, f) for f in CONDITION_FIELDS)
    field = await screen.app.push_screen_wait(PickerScreen("Add a test on", choices))
    if field is None:
        return None
    if field in ("", "-"):
        return DONE if field == "" else REMOVE_LAST
    op = await screen.app.push_screen_wait(
        PickerScreen(f"{field} …", [(o.replace("_", " "), o) for o in CONDITION_OPS])
    )
    if op is None:
        return None
    test: dict[str, Any] = {"field": field, "op": op}
    if op not in ("is_empty", "is_not_empty"):
        value = await screen.app.push_screen_wait(
            PromptScreen(f"{field} {op.replace('_', ' ')} (commas for several)")
        )
        if value is None:
            return None
        values = [v.strip() for v in value.split(",") if v.strip()]
        test["value"] = values if op in ("in", "not_in") else (values or [""])[0]
    return test


async def _ask_email(screen: DeskScreen) -> Answer | None:
    templates = await screen.backend.query(settings_views.template_names)
    template = await screen.app.push_screen_wait(
        PickerScreen("Send which template?", [(t, t) for t in templates])
    )
    if template is None:
        return None
    return {"kind": "send_email", "template_name": template}, f"send “{template}”"


async def _ask_notify(screen: DeskScreen, to: str, config: dict[str, Any]) -> Answer | None:
    target = None
    if to in ("user", "team"):
        people = await screen.backend.query(settings_views.people)
        names = people["users" if to == "user" else "teams"]
        if not names:
            screen.notify(f"No {to}s yet.", severity="warning")
            return None
        target = await screen.app.push_screen_wait(
            PickerScreen(f"Notify which {to}?", [(n, n) for n in names])
        )
        if target is None:
            return None
    message = await screen.app.push_screen_wait(
        PromptScreen(
            "Notification text (optional; enter for the default)",
            value=str(config.get("message") or ""),
        )
    )
    if message is None:
        return None
    fields = {"kind": "notify", "to": to, "target_name": target, "message": message.strip() or None}
    return fields, f"notify {target or 'the ticket owner'}"


async def _ask_property(screen: DeskScreen, name: str) -> Answer | None:
    value: str | None
    if name == "priority":
        value = await screen.app.push_screen_wait(PickerScreen("Priority", PRIORITY_CHOICES))
    elif name == "owner":
        people = await screen.backend.query(settings_views.people)
        choices = [("Nobody", ""), *((n, n) for n in people["users"])]
        value = await screen.app.push_screen_wait(PickerScreen("Owner", choices))
    else:
        value = await screen.app.push_screen_wait(PromptScreen("New subject"))
    if value is None:
        return None
    fields = {"kind": "set_property", "property_name": name, "value": value}
    return fields, f"set {name} to {value or 'nobody'}"


async def _ask_task(screen: DeskScreen) -> Answer | None:
    title = await screen.app.push_screen_wait(PromptScreen("Task title"))
    if title is None:
        return None
    due = await screen.app.push_screen_wait(
        PromptScreen("Due in? 2h, 1d, or a weekday and an hour: monday 9", value="1d")
    )
    if due is None:
        return None
    people = await screen.backend.query(settings_views.people)
    choices = [("The ticket owner", "owner"), *((n, n) for n in people["users"])]
    who = await screen.app.push_screen_wait(PickerScreen("For whom?", choices))
    if who is None:
        return None
    fields = {"kind": "create_task", "message": title, "value": due, "target_name": who}
    return fields, f"create task “{title}”"


async def _ask_rotate(screen: DeskScreen) -> Answer | None:
    people = await screen.backend.query(settings_views.people)
    if not people["teams"]:
        screen.notify("No teams yet.", severity="warning")
        return None
    team = await screen.app.push_screen_wait(
        PickerScreen("Rotate within which team?", [(n, n) for n in people["teams"]])
    )
    if team is None:
        return None
    return {"kind": "rotate_owner", "target_name": team}, f"rotate owner in {team}"


async def _ask_status(screen: DeskScreen, kind: str) -> Answer | None:
    """Pick "Pipeline / Status" for a move or a clone."""
    pipelines = await screen.backend.query(views.pipelines)
    choices = [
        (f"{p['name']} / {s['label']}", (p["name"], s["label"]))
        for p in pipelines
        for s in p["statuses"]
    ]
    if kind == "clone":
        choices.insert(0, ("Its pipeline's first status", ("", "")))
    verb = "Move" if kind == "move" else "Clone"
    target = await screen.app.push_screen_wait(PickerScreen(f"{verb} the ticket to", choices))
    if target is None:
        return None
    pipeline, status = target
    fields = {
        "kind": "move_ticket" if kind == "move" else "clone_ticket",
        "target_name": pipeline or None,
        "value": status or None,
    }
    return fields, f"{verb.lower()} to {pipeline} / {status}" if status else "clone"


# --- the actions menu (R-A6) that the settings screen and the workflow editor share ----------


def comment_on(screen: DeskScreen, action_id: int) -> None:
    def typed(text: str | None) -> None:
        if text is not None and text.strip():
            screen.change(
                lambda repo, me: admin.comment_action(repo, me, action_id, text), "Comment added"
            )

    screen.app.push_screen(PromptScreen("Comment on this action (admins see it)"), typed)


def clone_action(screen: DeskScreen, action_id: int, after: Callable[[int], Any]) -> None:
    screen.change(
        lambda repo, me: admin.clone_action(repo, me, action_id).id,
        "Action cloned: the copy is right after it",
        after=after,
    )


def move_action(
    screen: DeskScreen, action: dict[str, Any], by: int, count: int, after: Callable[[int], Any]
) -> None:
    """One place up (by=-1) or down (+1) in the action's list of `count` actions."""
    position = action["position"] + 1 + by
    if not 1 <= position <= count:
        screen.notify("It is already at that end of its list.", severity="warning")
        return
    action_id = action["id"]
    screen.change(
        lambda repo, me: admin.move_action(repo, me, action_id, position).id,
        f"Action moved to position {position}",
        after=after,
    )


async def edit_action(
    screen: DeskScreen, title: str, current: dict[str, Any], after: Callable[[int], Any]
) -> None:
    answer = await ask_action(screen, title, current)
    if answer is not None:
        fields, what = answer
        action_id = current["id"]
        screen.change(
            lambda repo, me: admin.edit_action(repo, me, action_id, **fields).id,
            f"Action changed: {line(what)}",
            after=after,
        )
