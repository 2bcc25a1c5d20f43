"""The questions that define an action (SPEC R-A1..R-A5) or a condition, asked one dialog at a
time, and the actions menu (R-A6) built on them. The settings screen and the workflow editor
both use them. Each action kind declares its picker rows and their questions
(`automation.action_kinds`); the answers are the fields `automation.admin` checks
(`ActionFields` plus "kind"), with a few words saying what was chosen.

Each `ask_*` runs inside a worker (it waits for dialogs) and returns None when the user
pressed escape on any of them: nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.screens.base import DeskScreen
from app.screens.dialogs import ChecklistScreen, ConfirmScreen, PickerScreen, PromptScreen
from automation import admin
from automation.action_kinds import form, registry
from automation.admin.workflows import also_running
from automation.condition_fields.prop import PREFIX as PROP_PREFIX
from automation.conditions import CHOSEN_FIELDS, EMPTY_OPS, LIST_OPS, known_values
from automation.conditions import FIELDS as CONDITION_FIELDS
from automation.conditions import OPS as CONDITION_OPS
from automation.conditions import describe as describe_conditions
from automation.durations import DelayError, parse_delay
from automation.property_types import BadValue
from automation.property_types import find as property_type
from automation.tag_rules import TagError, normalize
from storage import settings_views, views
from storage.repository import SqlRepository
from widgets.suggest import ListItemSuggester
from widgets.text import line

Answer = tuple[dict[str, Any], str]  # (fields for automation.admin, what it does in words)


async def ask_action(
    screen: DeskScreen, title: str, current: dict[str, Any] | None = None
) -> Answer | None:
    """What the action does: a row of the kinds' picker, then that row's questions in order."""
    rows = {choice.value: (kind, choice) for kind, choice in registry.picker()}
    was = registry.current_choice(current["kind"], current.get("config", {})) if current else None
    labels = [(choice.label, value) for value, (_, choice) in rows.items()]
    value = await screen.app.push_screen_wait(
        PickerScreen(f"{title}: what does it do?", labels, was)
    )
    if value is None:
        return None
    kind, choice = rows[value]
    config = current.get("config", {}) if current and current["kind"] == kind.id else {}
    fields: dict[str, Any] = {"kind": kind.id, **choice.preset}
    for question in choice.questions:
        answer = await _ask(screen, question, config)
        if answer is None:
            return None
        fields.update(answer)
    return fields, choice.said(fields)


async def _ask(
    screen: DeskScreen, question: form.Question, config: dict[str, Any]
) -> dict[str, Any] | None:
    """One question of a kind's form; its answer as fields, None on escape."""
    if isinstance(question, form.Pick):
        return await _ask_pick(screen, question)
    if isinstance(question, form.PickStatus):
        return await _ask_status(screen, question)
    if isinstance(question, form.Condition):
        start = config.get(question.current) if question.current else None
        condition = await ask_condition(screen, question.title, current=start, allow_always=False)
        return None if condition is None else {question.field: condition}
    if isinstance(question, form.Duration):
        text = await screen.app.push_screen_wait(
            PromptScreen(question.title, value=question.default, check=_delay_fault)
        )
        return None if text is None else {question.field: text}
    start = config.get(question.current) if question.current else None
    value = str(start or question.default)
    text = await screen.app.push_screen_wait(PromptScreen(question.title, value=value))
    if text is None:
        return None
    optional = isinstance(question, form.Text) and question.optional
    return {question.field: (text.strip() or None) if optional else text}


def _delay_fault(text: str) -> str | None:
    """Why a typed delay or due time cannot be read (the dialog stays open), or None."""
    try:
        parse_delay(text)
    except DelayError as exc:
        return str(exc)
    return None


async def ask_condition(
    screen: DeskScreen,
    title: str,
    *,
    current: dict[str, Any] | None = None,
    allow_always: bool = True,
) -> dict[str, Any] | None:
    """A group (all / any) of field tests, built key by key; `current`'s tests come first, so
    an edit adds to them or takes the last ones off. A field with a fixed set of values
    (priority, status, owner…) offers the desk's values to pick; contacts are typed."""
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
    known = await screen.backend.query(lambda s: _known(SqlRepository(s)))
    tests = _tests_of(current)
    while True:
        test = await _ask_test(screen, group, tests, known)
        if test is None:
            return None
        if test == DONE:
            break
        if test == REMOVE_LAST:
            tests.pop()
        elif test != AGAIN:
            tests.append(test)
    if not tests and not allow_always:
        screen.notify("A branch needs at least one test.", severity="warning")
        return None
    return {group: tests}


SOURCE_KEYS = ("sources", "exclude_sources")  # edited by the source switches, not here
DONE: dict[str, Any] = {"done": True}
REMOVE_LAST: dict[str, Any] = {"remove_last": True}
AGAIN: dict[str, Any] = {"again": True}  # nothing added: ask for the next test


@dataclass(frozen=True)
class _Known:
    """known_values, the desk's tags (most used first) and its custom properties."""

    values: dict[str, list[str]]
    tags: list[str]
    props: dict[str, tuple[str, list[str]]]  # prop.NAME -> (its type, its choices)


def _known(repo: SqlRepository) -> _Known:
    props = {PROP_PREFIX + p.name: (p.kind, list(p.choices or ())) for p in repo.property_defs()}
    return _Known(known_values(repo), [tag for tag, _ in repo.tag_counts()], props)


def _tests_of(tree: dict[str, Any]) -> list[dict[str, Any]]:
    if "all" in tree or "any" in tree:
        return list(tree.get("all") or tree.get("any") or [])
    return [tree] if "field" in tree else []


async def _ask_test(
    screen: DeskScreen, group: str, tests: list[dict[str, Any]], known: _Known
) -> dict[str, Any] | None:
    """One more test, or DONE (save the tests so far), REMOVE_LAST or AGAIN. The fields come
    first: saving is never the choice a stray enter takes before a test was added. After the
    ticket's own fields: its tags and each custom property (issue 13)."""
    choices: list[tuple[str, str]] = [(f, f) for f in CONDITION_FIELDS]
    choices.append(("tag (the ticket has it)", "tag"))
    choices += [(f"{name} ({kind})", name) for name, (kind, _) in known.props.items()]
    choices.append((f"✓ Save ({describe_conditions({group: tests})})", ""))
    if tests:
        choices.append((f"✗ Take off the last test ({describe_conditions(tests[-1])})", "-"))
    start = "" if tests else CONDITION_FIELDS[0]
    field = await screen.app.push_screen_wait(PickerScreen("Add a test on", choices, start))
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
    if op in EMPTY_OPS:
        return test
    said = f"{field} {op.replace('_', ' ')}"
    if field == "tag" or field in known.props:
        return await _ask_extra_value(screen, test, said, known)
    if field in CHOSEN_FIELDS:
        values = known.values.get(field) or []
        if not values:
            screen.notify(f"The desk has no {field} to pick yet.", severity="warning")
            return AGAIN
        choices = [(value, value) for value in values]
        if op in LIST_OPS:
            value = await screen.app.push_screen_wait(ChecklistScreen(said, choices))
        else:
            value = await screen.app.push_screen_wait(PickerScreen(said, choices))
        if value is None:
            return None
        return {**test, "value": value}
    typed = await screen.app.push_screen_wait(PromptScreen(f"{said} (commas for several)"))
    if typed is None:
        return None
    parts = [v.strip() for v in typed.split(",") if v.strip()]
    test["value"] = parts if op in LIST_OPS else (parts or [""])[0]
    return test


async def _ask_extra_value(
    screen: DeskScreen, test: dict[str, Any], said: str, known: _Known
) -> dict[str, Any] | None:
    """The value of a tag or prop.NAME test: a choice property's values (yes or no for a
    checkbox) are picked; tags are typed with completion from the tags in use, other
    properties typed in their type's form; the dialog says what cannot be read."""
    field, several = test["field"], test["op"] in LIST_OPS
    kind, options = known.props.get(field, ("tag", []))
    if kind == "checkbox":
        options = ["yes", "no"]
    if kind in ("choice", "checkbox"):
        if not options:
            screen.notify(f"{field} has no choices to pick yet.", severity="warning")
            return AGAIN
        choices = [(value, value) for value in options]
        picker = ChecklistScreen(said, choices) if several else PickerScreen(said, choices)
        value = await screen.app.push_screen_wait(picker)
        return None if value is None else {**test, "value": value}
    read = normalize if kind == "tag" else _property_reader(kind)

    def fault(typed: str) -> str | None:
        parts = _parts(typed, several)
        if not parts:
            return "Type a value (or escape)."
        try:
            for part in parts:
                read(part)
        except (TagError, BadValue) as exc:
            return str(exc)
        return None

    hint = " (commas for several)" if several else ""
    suggester = ListItemSuggester(known.tags) if kind == "tag" else None
    found = property_type(kind)
    placeholder = found.help if found is not None else "a tag (→ completes)"
    typed = await screen.app.push_screen_wait(
        PromptScreen(f"{said}{hint}", placeholder=placeholder, check=fault, suggester=suggester)
    )
    if typed is None:
        return None
    parts = [read(part) for part in _parts(typed, several)]
    return {**test, "value": parts if several else parts[0]}


def _parts(typed: str, several: bool) -> list[str]:
    if not several:
        return [typed.strip()] if typed.strip() else []
    return [part.strip() for part in typed.split(",") if part.strip()]


def _property_reader(kind: str) -> Callable[[str], str]:
    """A typed value in its property type's stored form (BadValue says why not)."""
    found = property_type(kind)
    if found is None:
        return lambda typed: typed
    return lambda typed: found.parse(typed, [])


async def _ask_pick(screen: DeskScreen, question: form.Pick) -> dict[str, Any] | None:
    names = await _names(screen, question.source)
    if question.empty and not names:
        screen.notify(question.empty, severity="warning")
        return None
    choices = [*question.first, *((name, name) for name in names)]
    value = await screen.app.push_screen_wait(PickerScreen(question.title, choices))
    return None if value is None else {question.field: value}


async def _names(screen: DeskScreen, source: str) -> list[str]:
    """The names a Pick offers from the desk."""
    if source == form.TEMPLATES:
        return list(await screen.backend.query(settings_views.template_names))
    if source in (form.USERS, form.TEAMS):
        people = await screen.backend.query(settings_views.people)
        return list(people[source])
    return []


async def _ask_status(screen: DeskScreen, question: form.PickStatus) -> dict[str, Any] | None:
    """Pick "Pipeline / Status" (a move's or a clone's target)."""
    pipelines = await screen.backend.query(views.pipelines)
    choices = [
        (f"{p['name']} / {s['label']}", (p["name"], s["label"]))
        for p in pipelines
        for s in p["statuses"]
    ]
    if question.first:
        choices.insert(0, (question.first, ("", "")))
    target = await screen.app.push_screen_wait(PickerScreen(question.title, choices))
    if target is None:
        return None
    pipeline, status = target
    return {question.pipeline_field: pipeline or None, question.status_field: status or None}


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


# --- switching a workflow on beside another of its status (R-A7) -------------------------------

Running = list[tuple[int, str]]  # (id, name) of the other workflows of the status that are on


def switch_workflow(screen: DeskScreen, workflow_id: int, name: str, on: bool, said: str) -> None:
    """Switch a workflow on or off (`said` is the notice). Switched on while another workflow
    of its status is on (a clone beside its original: both would send "Ticket closed"), say so
    and offer to switch the other off, delete it, or keep both, as the CLI's note advises."""

    def switch(repo: Any, me: Any) -> Running:
        workflow = admin.set_workflow(repo, me, workflow_id, enabled=on)
        return [(w.id, w.name) for w in also_running(repo, workflow)] if on else []

    def after(others: Running) -> None:
        if others:
            screen.run_worker(_settle_others(screen, name, others), group="workflow-dialog")

    screen.change(switch, said, after=after)


async def _settle_others(screen: DeskScreen, name: str, others: Running) -> None:
    for other_id, other in others:
        other_name = f"“{line(other)}”"
        choice = await screen.app.push_screen_wait(
            PickerScreen(
                f"{other_name} is on too: a ticket entering the status runs both "
                f"“{line(name)}” and it (each sends its emails). What should happen to it?",
                [
                    (f"Switch {other_name} off", "off"),
                    (f"Delete {other_name} and its actions", "delete"),
                    ("Keep both on", "keep"),
                ],
            )
        )
        if choice == "off":
            screen.change(
                lambda repo, me, wid=other_id: admin.set_workflow(repo, me, wid, enabled=False),
                f"{line(other)}: off",
            )
        elif choice == "delete":
            question = f"Delete the workflow {other_name} and all its actions?"
            if await screen.app.push_screen_wait(ConfirmScreen(question)):
                screen.change(
                    lambda repo, me, wid=other_id: admin.delete_workflow(repo, me, wid),
                    f"Workflow {line(other)} deleted",
                )
        else:
            screen.notify(
                f"Both are on: a ticket entering the status runs {other_name} too.",
                severity="warning",
                markup=False,
            )
