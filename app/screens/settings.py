"""Automation settings (SPEC §5): admins change them, reps read them.

One list holds every settings item of a pipeline: its connected channels, the two triggers
(R-T1..R-T5), its statuses with their status actions (R-A1..R-A9), the templates and the branding
switch (R-A3). Keys act on the highlighted row; the footer shows only the keys that apply to it
(Screen.check_action), the details pane beside the list says what each does, and `?` lists them
all. A rep sees the same screen read-only: the change keys are gone and a line says so; the admin
functions refuse a rep anyway (SPEC §7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Label, OptionList, Static
from textual.widgets.option_list import Option

from app.screens import action_dialogs
from app.screens.action_dialogs import ask_action, ask_condition
from app.screens.base import DeskScreen
from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.settings_dialogs import READ_ONLY, InfoScreen, TemplateEditor
from automation import admin
from automation.conditions import describe as describe_conditions
from storage import queries, settings_views, views
from widgets.text import block, line

ENROLL_ONCE = (
    "A ticket is enrolled once: reaching this status again does not repeat these actions "
    "unless the workflow is cloned with re-enrollment (R-A7)."
)
LIVE_NOTE = (
    "Chat and messenger channels start with ticket automation off. With it on they create "
    "tickets (R-C1), but the two triggers and the built-in status actions skip chat and "
    "messenger tickets (R-A8, E9); a cloned workflow whose source includes Chat applies to them."
)

# Which rows each key acts on. A key whose action is not here is not a settings change.
APPLIES: dict[str, frozenset[str]] = {
    "switch": frozenset({"channel", "trigger", "branding", "workflow"}),
    "target": frozenset({"trigger"}),
    "view_workflow": frozenset({"trigger", "status", "action", "path", "workflow"}),
    "add_action": frozenset({"status", "action", "path"}),
    "edit": frozenset({"action", "template"}),
    "comment": frozenset({"action"}),
    "clone": frozenset({"action"}),
    "move": frozenset({"action", "status", "pipeline"}),
    "delete": frozenset({"action", "status", "workflow", "pipeline"}),
    "delete_following": frozenset({"action"}),
    "rename": frozenset({"status", "pipeline"}),
    "new": frozenset({"status", "template", "pipeline"}),
    "clone_workflow": frozenset({"status", "workflow"}),
    "reenroll": frozenset({"workflow"}),
    "conditions": frozenset({"workflow"}),
}
READING = frozenset({"view_workflow"})  # everyone who sees settings may do these (R-T5)
CHANGES = frozenset(APPLIES) - READING


@dataclass
class Item:
    """One row of the settings list."""

    kind: str  # pipeline, channel, trigger, status, workflow, action, template, branding, header
    key: str  # stable across refreshes: the option id
    prompt: Content
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def selectable(self) -> bool:
        return self.kind != "header"


def _box(on: bool) -> str:
    return "[x]" if on else "[ ]"


def _header(key: str, text: str) -> Item:
    return Item("header", f"header:{key}", Content.from_markup("[b $text-accent]$t[/]", t=text))


def _note(key: str, text: str) -> Item:
    return Item("header", f"note:{key}", Content.from_markup("[$text-muted]  $t[/]", t=text))


def build_items(view: dict[str, Any]) -> list[Item]:
    """The rows of one pipeline's settings, in the order the spec lists them (§5)."""
    pipeline = view["pipeline"]
    count = len(view["pipelines"])
    index = next(i for i, p in enumerate(view["pipelines"]) if p["id"] == pipeline["id"]) + 1
    items = [
        Item(
            "pipeline",
            f"pipeline:{pipeline['id']}",
            Content.from_markup(
                "[b]Pipeline[/b] $name [$text-muted]($index of $count)[/]",
                name=line(pipeline["name"]),
                index=str(index),
                count=str(count),
            ),
            {**pipeline, "index": index, "count": count},
        ),
        _header("channels", "Connected channels · ticket automation"),
    ]
    if not view["channels"]:
        items.append(_note("channels", "No channel is connected to this pipeline."))
    for channel in view["channels"]:
        items.append(
            Item(
                "channel",
                f"channel:{channel['id']}",
                Content.from_markup(
                    "$box $name [$text-muted]$kind$live[/]",
                    box=_box(channel["ticket_automation"]),
                    name=line(channel["name"]),
                    kind=channel["kind"],
                    live=" · skipped by triggers (R-A8)" if channel["live"] else "",
                ),
                channel,
            )
        )
    items.append(_header("triggers", "Ticket status triggers"))
    for trigger in view["triggers"]:
        if trigger["broken"]:
            target = Content.from_markup("[b $text-error]BROKEN: target status removed[/]")
        else:
            target = Content(line(trigger["target"]))
        items.append(
            Item(
                "trigger",
                f"trigger:{trigger['kind']}",
                Content.assemble(
                    Content.from_markup(
                        "$box $name → ", box=_box(trigger["enabled"]), name=trigger["name"]
                    ),
                    target,
                ),
                trigger,
            )
        )
    items.append(_header("statuses", "Statuses and their actions"))
    items.append(_note("once", "Each ticket runs a status's actions once (R-A7)."))
    for position, status in enumerate(view["statuses"], start=1):
        actions = sum(len(w["actions"]) for w in status["workflows"] if w["builtin"])
        items.append(
            Item(
                "status",
                f"status:{status['id']}",
                Content.from_markup(
                    "[b]$label[/b] [$text-muted]$state · $tickets · $actions[/]",
                    label=line(status["status"]),
                    state=status["state"].lower(),
                    tickets=_count(status["tickets"], "ticket"),
                    actions=_count(actions, "action") if actions else "no actions",
                ),
                {**status, "position": position, "count": len(view["statuses"])},
            )
        )
        for workflow in status["workflows"]:
            if not workflow["builtin"]:
                items.append(
                    Item(
                        "workflow",
                        f"workflow:{workflow['id']}",
                        Content.from_markup(
                            "  $box workflow $name [$text-muted]$reenroll[/]",
                            box=_box(workflow["enabled"]),
                            name=f"“{line(workflow['name'])}”",
                            reenroll="re-enrolls" if workflow["reenroll"] else "enrolls once",
                        ),
                        {**workflow, "status": status["status"]},
                    )
                )
            items.extend(_action_items(workflow, status["status"]))
    items.append(_header("templates", "Email templates"))
    for template in view["templates"]:
        items.append(
            Item(
                "template",
                f"template:{template['id']}",
                Content.from_markup(
                    "$name [$text-muted]$kind[/]",
                    name=line(template["name"]),
                    kind="built-in" if template["builtin"] else "custom",
                ),
                template,
            )
        )
    items.append(_header("other", "Automated email"))
    items.append(
        Item(
            "branding",
            "branding",
            Content.from_markup("$box Branding line at the end (R-A3)", box=_box(view["branding"])),
            {"enabled": view["branding"]},
        )
    )
    return items


def _action_items(workflow: dict[str, Any], status: str) -> list[Item]:
    """A workflow's actions as rows; a branch's paths follow it, indented (R-A5 if/else)."""
    items = []
    for row in queries.flow_rows(workflow["actions"]):
        common = {"status": status, "workflow": workflow, "into": row.into}
        if row.action is None:
            assert row.branch is not None
            items.append(
                Item(
                    "path",
                    f"path:{row.branch['id']}:{row.which}",
                    Content.from_markup(
                        "$pad[b]$which →[/b][$text-muted]$empty[/]",
                        pad=" " * (3 * row.depth - 1),  # under its branch's text
                        which=f"{row.which:>3}",
                        empty="" if row.count else " (nothing)",
                    ),
                    {**common, "branch": row.branch["description"]},
                )
            )
            continue
        action, comments = row.action, len(row.action["comments"])
        pad = " " * (4 + 3 * row.depth)
        items.append(
            Item(
                "action",
                f"action:{action['id']}",
                Content.from_markup(
                    "$pad$n. $what[$text-muted]$comments[/]",
                    pad=pad,
                    n=str(action["position"] + 1),
                    what=line(action["description"]),
                    comments=f" · {_count(comments, 'comment')}" if comments else "",
                ),
                {**action, **common, "count": row.count},
            )
        )
    return items


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _keys(*pairs: tuple[str, str]) -> Content:
    return Content("  ").join(
        Content.from_markup("[b]$key[/b] $what", key=key, what=what) for key, what in pairs
    )


def details(item: Item, view: dict[str, Any], is_admin: bool) -> Content:
    """What the details pane says about a row, and the keys that act on it."""
    d = item.data
    rows: list[Content] = []
    keys: list[tuple[str, str]] = []
    reading: list[tuple[str, str]] = []
    if item.kind == "pipeline":
        rows.append(Content.from_markup("[b]$name[/b]", name=line(d["name"])))
        rows.append(
            Content(
                f"Pipeline {d['index']} of {d['count']}: an ordered list of statuses. Channels "
                "connected to it open their tickets in its first status (R-C1)."
            )
        )
        if d["count"] > 1:
            reading.append(("p", "pick another pipeline"))
        keys += [
            ("r", "rename"),
            ("K/J", "move up/down"),
            ("n", "new pipeline"),
            ("x", "remove (moves its tickets)"),
        ]
    elif item.kind == "channel":
        rows.append(
            Content.from_markup(
                "[b]$name[/b] [$text-muted]$kind $address[/]",
                name=line(d["name"]),
                kind=d["kind"],
                address=line(d["address"] or ""),
            )
        )
        on = "on" if d["ticket_automation"] else "off"
        rows.append(Content(f"Ticket automation is {on}."))
        rows.append(
            Content(
                "On: every new conversation on this channel opens a ticket in the pipeline's "
                "first status (R-C1). Off: conversations stay in the inbox, a rep can make a "
                "ticket by hand (R-C2)."
            )
        )
        if d["live"]:
            rows.append(Content(LIVE_NOTE))
        keys.append(("space", "switch ticket automation"))
    elif item.kind == "trigger":
        rows.append(Content.from_markup("[b]$name[/b]", name=d["name"]))
        rows.append(Content(f"Checkbox: {'on' if d['enabled'] else 'off (does nothing, R-T3)'}"))
        if d["broken"]:
            rows.append(
                Content.from_markup(
                    "[b $text-error]Broken:[/] its target status was removed; it does nothing "
                    "until you pick a target (R-T4)."
                )
            )
        else:
            rows.append(Content(f"Target status: {line(d['target'])}"))
        rows.append(Content(f"When: {d['workflow']['enrollment']}."))
        rows.append(Content("Re-checking it does not act on past messages (R-T3)."))
        keys += [("space", "switch on/off"), ("t", "edit action: target status")]
        reading.append(("w", "view workflow"))
    elif item.kind == "status":
        rows.append(Content.from_markup("[b]$label[/b]", label=line(d["status"])))
        rows.append(
            Content(
                f"{d['state'].lower()} status {d['position']} of {d['count']}, "
                f"{_count(d['tickets'], 'ticket')}"
            )
        )
        rows.append(Content(ENROLL_ONCE))
        keys += [
            ("a", "add action"),
            ("Y", "clone workflow"),
            ("r", "rename"),
            ("K/J", "move up/down"),
            ("x", "remove (moves its tickets)"),
            ("n", "new status"),
        ]
        reading.append(("w", "open in workflows"))
    elif item.kind == "action":
        rows.append(Content.from_markup("[b]$what[/b]", what=line(d["description"])))
        rows.append(
            Content(
                f"Action {d['position'] + 1} of {d['count']} when a ticket reaches "
                f"{line(d['status'])} ({line(d['workflow']['name'])})."
            )
        )
        rows.append(Content(ENROLL_ONCE))
        for comment in d["comments"]:
            rows.append(Content.from_markup("[$text-muted]Comment:[/] $c", c=line(comment)))
        keys += [
            ("a", "add"),
            ("e", "edit"),
            ("c", "comment"),
            ("y", "clone"),
            ("K/J", "move"),
            ("x", "delete"),
            ("X", "delete this and all following"),
        ]
        reading.append(("w", "open in workflows"))
    elif item.kind == "path":
        which = d["into"][1]
        rows.append(Content.from_markup("[b]$which →[/b]", which=which))
        met = "holds" if which == "yes" else "does not hold"
        rows.append(
            Content(
                f"The actions a ticket runs when “{line(d['branch'])}” {met} (R-A5); after them "
                "the run goes on after the branch."
            )
        )
        keys.append(("a", "add an action at the end of this path"))
        reading.append(("w", "open in workflows"))
    elif item.kind == "workflow":
        rows.append(Content.from_markup("[b]$name[/b]", name=line(d["name"])))
        rows.append(
            Content(
                f"A cloned workflow of {line(d['status'])}: "
                f"{'on' if d['enabled'] else 'off'}, "
                f"{'re-enrollment on' if d['reenroll'] else 're-enrollment off'}."
            )
        )
        rows.append(
            Content.from_markup(
                "Enrolls when the status is $status and $when.",
                status=line(d["status"]),
                when=line(describe_conditions(d["conditions"])),
            )
        )
        keys += [
            ("space", "switch on/off"),
            ("R", "re-enrollment"),
            ("C", "condition"),
            ("Y", "clone"),
            ("x", "delete"),
        ]
        reading.append(("w", "open in workflows"))
    elif item.kind == "template":
        rows.append(Content.from_markup("[b]$name[/b]", name=line(d["name"])))
        rows.append(Content.from_markup("[$text-muted]Subject:[/] $s", s=line(d["subject"])))
        rows.append(Content(block(d["body"])))
        keys += [("e", "edit with live preview"), ("n", "new template")]
        reading.append(("enter", "open"))
    elif item.kind == "branding":
        on = "on" if d["enabled"] else "off"
        rows.append(Content.from_markup("[b]Branding line[/b]"))
        rows.append(
            Content(
                f"Automated emails end with a Deskline line: {on}. Switching it off removes "
                "the line (R-A3)."
            )
        )
        keys.append(("space", "switch on/off"))
    if not is_admin:
        rows.append(Content.from_markup("[b $warning]$t[/]", t=READ_ONLY))
        keys = []
    shown = keys + reading
    if shown:
        rows.append(Content.assemble(Content.from_markup("[$text-muted]Keys:[/] "), _keys(*shown)))
    return Content("\n\n").join(rows)


def workflow_page(item: Item) -> tuple[str, Content]:
    """R-T5 / "Open in workflows": a trigger or status workflow, read-only."""
    d = item.data
    rows: list[Content] = []
    if item.kind == "trigger":
        title = f"Workflow: {d['name']}"
        rows.append(Content(f"State: {'on' if d['enabled'] else 'off'}"))
        rows.append(Content(f"Enrollment: {d['workflow']['enrollment']}."))
        rows.append(Content(f"Action: {line(d['workflow']['action'])}."))
        if d["broken"]:
            rows.append(
                Content.from_markup("[b $text-error]Broken[/]: it does nothing until fixed (R-T4).")
            )
        return title, Content("\n\n").join(rows)
    if item.kind == "status":
        workflows = d["workflows"]
        label = d["status"]
    elif item.kind in ("action", "path"):
        workflows = [d["workflow"]]
        label = d["status"]
    else:
        workflows = [d]
        label = d["status"]
    title = f"Workflows of status {label}"
    if not workflows:
        rows.append(
            Content(f"“{line(label)}” has no status actions yet: a adds one, and its workflow.")
        )
    for workflow in workflows:
        rows.append(Content.from_markup("[b]$name[/b]", name=line(workflow["name"])))
        kind = "built-in status workflow" if workflow["builtin"] else "cloned workflow"
        rows.append(Content(f"{kind}, {'on' if workflow['enabled'] else 'off'}"))
        rows.append(Content(f"Enrollment: {line(workflow['enrollment'] or '')}"))
        reenroll = "on" if workflow["reenroll"] else "off (a ticket is enrolled once)"
        rows.append(Content(f"Re-enrollment: {reenroll}"))
        conditions = workflow["conditions"] or {}
        if "sources" in conditions:
            rows.append(Content(f"Sources: {', '.join(conditions['sources'])}"))
        elif workflow["builtin"] or "exclude_sources" in conditions:
            rows.append(Content("Skips chat and messenger tickets (R-A8)."))
        rows.append(Content(f"Enrolled tickets: {workflow['enrolled_tickets']}"))
        rows.extend(_page_actions(workflow["actions"]))
        if not workflow["actions"]:
            rows.append(Content("  (no actions)"))
        rows.append(Content(""))
    rows.append(Content(ENROLL_ONCE))
    rows.append(
        Content(
            "W opens the workflow editor. To change re-enrollment or the enrollment condition, "
            "clone the workflow (Y), change the clone, then delete the original (R-A7)."
        )
    )
    return title, Content("\n").join(rows)


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


class SettingsScreen(DeskScreen):
    MODE = "settings"
    HELP_TITLE = "Automation settings"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "switch", "Switch on/off", key_display="space", id="settings.switch"),
        Binding("t", "target", "Target status", id="settings.target"),
        Binding("w", "view_workflow", "View workflow", id="settings.view_workflow"),
        Binding("a", "add_action", "Add action", id="settings.add_action"),
        Binding("e", "edit", "Edit", id="settings.edit"),
        Binding("c", "comment", "Comment", id="settings.comment_action"),
        Binding("y", "clone", "Clone action", id="settings.clone_action"),
        Binding("K", "move(-1)", "Move up", key_display="K", id="settings.move_up"),
        Binding("J", "move(1)", "Move down", key_display="J", id="settings.move_down"),
        Binding("x", "delete", "Delete", id="settings.delete"),
        Binding(
            "X",
            "delete_following",
            "Delete this and following",
            key_display="X",
            id="settings.delete_following",
        ),
        Binding("r", "rename", "Rename", id="settings.rename"),
        Binding("n", "new", "New", id="settings.new"),
        Binding(
            "Y", "clone_workflow", "Clone workflow", key_display="Y", id="settings.clone_workflow"
        ),
        Binding("R", "reenroll", "Re-enrollment on/off", key_display="R", id="settings.reenroll"),
        Binding(
            "C", "conditions", "Enrollment condition", key_display="C", id="settings.conditions"
        ),
        Binding("W", "workflows", "Workflows", key_display="W", id="settings.workflows"),
        Binding("p", "pick_pipeline", "Pipeline", id="settings.pipeline"),
        Binding("j", "cursor(1)", "Down", show=False, id="settings.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="settings.up"),
        Binding("escape", "back", "Back", show=False, id="settings.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: dict[str, Any] | None = None
        self.items: list[Item] = []
        self.pipeline_id: int | None = None
        self.loaded = False
        self._want: str | None = None  # the row to highlight after the next load

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Label("", id="settings-mode")
        with Horizontal(id="settings-panes"):
            yield OptionList(id="settings-items")
            with VerticalScroll(id="settings-details", can_focus=True):
                yield Static("", id="settings-details-text")
        yield from self.compose_bottom()

    def compose_bottom(self) -> ComposeResult:
        yield Footer(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_mode()
        self.query_one("#settings-items", OptionList).focus()
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    # --- reading ----------------------------------------------------------------------------

    @work(group="settings-load", exclusive=True)
    async def _load(self) -> None:
        pipeline_id = self.pipeline_id
        view = await self.backend.query(lambda s: settings_views.settings_view(s, pipeline_id))
        self._show(view)

    def _show(self, view: dict[str, Any]) -> None:
        if view["pipeline"] is None:
            self.query_one("#settings-details-text", Static).update(
                Content("No pipeline: run `deskline init`.")
            )
            self.loaded = True
            return
        options = self.query_one("#settings-items", OptionList)
        current = self._want or self._current_key()
        old_index = options.highlighted or 0
        self._want = None
        if view != self.view:
            self.view = view
            self.pipeline_id = view["pipeline"]["id"]
            self.items = build_items(view)
            options.set_options(
                Option(item.prompt, id=item.key, disabled=not item.selectable)
                for item in self.items
            )
            keys = [item.key for item in self.items]
            # The same row, or (when it went away) the row now where it was.
            index = keys.index(current) if current in keys else min(old_index, len(keys) - 1)
            while index < len(keys) - 1 and not self.items[index].selectable:
                index += 1
            while index > 0 and not self.items[index].selectable:
                index -= 1
            options.highlighted = index
        elif current is not None and current != self._current_key():
            self.highlight_key(current)
        self._show_mode()
        self._show_details()
        self.refresh_bindings()
        self.loaded = True

    def _show_mode(self) -> None:
        label = self.query_one("#settings-mode", Label)
        if not self.me.is_admin:
            label.update(Content.from_markup("[b reverse $warning] $t [/]", t=READ_ONLY))
            return
        name = self.view["pipeline"]["name"] if self.view and self.view["pipeline"] else ""
        several = self.view is not None and len(self.view["pipelines"]) > 1
        label.update(
            Content.from_markup(
                "[b]$name[/b] [$text-muted]· keys act on the highlighted row$pick · ? all keys[/]",
                name=line(name),
                pick=" · p pipeline" if several else "",
            )
        )

    def _current_key(self) -> str | None:
        option = self.query_one("#settings-items", OptionList).highlighted_option
        return option.id if option is not None else None

    @property
    def item(self) -> Item | None:
        """The highlighted row."""
        key = self._current_key()
        return next((item for item in self.items if item.key == key), None)

    def highlight_key(self, key: str) -> bool:
        """Put the cursor on a row by its key (e.g. "trigger:customer_replied")."""
        keys = [item.key for item in self.items]
        if key not in keys:
            return False
        self.query_one("#settings-items", OptionList).highlighted = keys.index(key)
        return True

    @on(OptionList.OptionHighlighted, "#settings-items")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_details()
        self.refresh_bindings()

    def _show_details(self) -> None:
        item = self.item
        text = self.query_one("#settings-details-text", Static)
        if item is None or self.view is None:
            text.update("")
            return
        text.update(details(item, self.view, self.me.is_admin))
        self.query_one("#settings-details", VerticalScroll).scroll_home(animate=False)

    # --- which keys apply -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        me = self.backend.me
        if action in CHANGES and (me is None or not me.is_admin):
            return False  # a rep: the change keys are gone from the footer and help
        if action == "pick_pipeline":
            return self.view is not None and len(self.view["pipelines"]) > 1
        if action not in APPLIES:
            return True
        if self.app.screen is not self:
            return True  # the help screen and the palette list every key of this screen
        item = self.item
        return item is not None and item.kind in APPLIES[action]

    def _may_change(self) -> bool:
        if not self.me.is_admin:
            self.notify(READ_ONLY, severity="warning")
            return False
        return True

    def _target(self, action: str) -> Item | None:
        """The highlighted row when `action` applies to it, else a notice and None."""
        item = self.item
        if item is None or item.kind not in APPLIES[action]:
            self.notify("That key does not apply to this row.", severity="warning")
            return None
        if action in CHANGES and not self._may_change():
            return None
        return item

    @property
    def pipeline_name(self) -> str:
        assert self.view is not None and self.view["pipeline"] is not None
        return str(self.view["pipeline"]["name"])

    # --- navigation -------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        options = self.query_one("#settings-items", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_back(self) -> None:
        options = self.query_one("#settings-items", OptionList)
        if not options.has_focus:
            options.focus()

    @on(OptionList.OptionSelected, "#settings-items")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        """enter: open the row (a workflow, the template editor) or switch its checkbox."""
        item = self.item
        if item is None:
            return
        if item.kind in APPLIES["view_workflow"]:
            self.action_view_workflow()
        elif item.kind == "template":
            self._open_template(item, edit=self.me.is_admin)
        elif item.kind == "pipeline":
            if self.view and len(self.view["pipelines"]) > 1:
                self.action_pick_pipeline()
        elif item.kind in APPLIES["switch"]:
            self.action_switch()

    def action_pick_pipeline(self) -> None:
        if self.view is None:
            return
        choices = [(p["name"], p["id"]) for p in self.view["pipelines"]]

        def chosen(pipeline_id: int | None) -> None:
            if pipeline_id is not None:
                self.pipeline_id = pipeline_id
                self._want = f"pipeline:{pipeline_id}"
                self.refresh_data()

        self.app.push_screen(PickerScreen("Pipeline", choices, self.pipeline_id), chosen)

    def action_view_workflow(self) -> None:
        item = self._target("view_workflow")
        if item is not None:
            title, body = workflow_page(item)
            self.app.push_screen(InfoScreen(title, body))

    # --- switches (channels, triggers, branding, cloned workflows) ----------------------------

    def action_switch(self) -> None:
        item = self._target("switch")
        if item is None:
            return
        d = item.data
        if item.kind == "channel":
            name, on = d["name"], not d["ticket_automation"]
            self.change(
                lambda repo, me: admin.set_channel(repo, me, name, ticket_automation=on),
                f"Ticket automation of {line(name)}: {'on' if on else 'off'}",
            )
        elif item.kind == "trigger":
            pipeline, key, on = self.pipeline_name, d["key"], not d["enabled"]
            self.change(
                lambda repo, me: admin.set_trigger(
                    repo, me, pipeline, key, enabled=on, target_label=None
                ),
                f"{d['name']}: {'on' if on else 'off'}",
            )
        elif item.kind == "branding":
            on = not d["enabled"]
            self.change(
                lambda repo, me: admin.set_branding(repo, me, on),
                f"Branding line: {'on' if on else 'off'}",
            )
        elif item.kind == "workflow":
            workflow_id, on = d["id"], not d["enabled"]
            self.change(
                lambda repo, me: admin.set_workflow(repo, me, workflow_id, enabled=on),
                f"Workflow {line(d['name'])}: {'on' if on else 'off'}",
            )

    def action_workflows(self) -> None:
        from app.screens.workflows import WorkflowsScreen

        self.app.push_screen(WorkflowsScreen(self.pipeline_id))

    def action_reenroll(self) -> None:
        item = self._target("reenroll")
        if item is not None:
            workflow_id, on = item.data["id"], not item.data["reenroll"]
            self.change(
                lambda repo, me: admin.set_workflow(repo, me, workflow_id, reenroll=on),
                f"Re-enrollment {'on: a ticket runs it each time' if on else 'off'} (R-A7)",
            )

    def action_conditions(self) -> None:
        item = self._target("conditions")
        if item is not None:
            self._edit_conditions(item.data)

    @work(group="settings-dialog")
    async def _edit_conditions(self, d: dict[str, Any]) -> None:
        """Build an enrollment condition: a group (all / any) of field tests, key by key."""
        conditions = await ask_condition(self, "Enroll when", current=d["conditions"])
        if conditions is None:
            return
        workflow_id = d["id"]
        self.change(
            lambda repo, me: admin.set_workflow(repo, me, workflow_id, conditions=conditions),
            f"Enrolls when: {describe_conditions(conditions)}",
        )

    def action_target(self) -> None:
        """R-T4 "Edit action": the trigger's target, an open status of the pipeline (E5)."""
        item = self._target("target")
        if item is None or self.view is None:
            return
        pipeline, key, name = self.pipeline_name, item.data["key"], item.data["name"]
        choices = [
            (s["status"], s["status"]) for s in self.view["statuses"] if s["state"] == "OPEN"
        ]

        def chosen(label: str | None) -> None:
            if label is not None:
                self.change(
                    lambda repo, me: admin.set_trigger(
                        repo, me, pipeline, key, enabled=None, target_label=label
                    ),
                    f"{name} → {line(label)}",
                )

        self.app.push_screen(
            PickerScreen(
                f"{name}: set the status to (open statuses)", choices, item.data["target"]
            ),
            chosen,
        )

    # --- status actions (R-A1..R-A6) ----------------------------------------------------------

    def action_add_action(self) -> None:
        item = self._target("add_action")
        if item is not None:
            self._add_action(item)

    def action_edit(self) -> None:
        item = self._target("edit")
        if item is None:
            return
        if item.kind == "template":
            self._open_template(item, edit=True)
        else:
            self._edit_action(item)

    @work(group="settings-dialog")
    async def _edit_action(self, item: Item) -> None:
        d = item.data
        title = f"Change action {d['position'] + 1} of {line(d['status'])}"
        await action_dialogs.edit_action(self, title, d, self._select_action)

    @work(group="settings-dialog")
    async def _add_action(self, item: Item) -> None:
        """Ask what the new action does (R-A2, R-A4, R-A5), then add it: `a` on a status adds to
        its workflow; on an action, to the end of the list that action is in; on a branch's
        "yes →" / "no →" row, to the end of that path."""
        label = item.data["status"]
        answer = await ask_action(self, f"New action of {line(label)}")
        if answer is None:
            return
        fields, what = answer
        if item.kind in ("action", "path"):
            workflow_id, into = item.data["workflow"]["id"], item.data["into"]
            self.change(
                lambda repo, me: (
                    admin.add_action_to_workflow(repo, me, workflow_id, into=into, **fields).id
                ),
                f"Action added: {line(what)}",
                after=self._select_action,
            )
        else:
            pipeline = self.pipeline_name
            self.change(
                lambda repo, me: (
                    admin.add_action(
                        repo, me, pipeline_name=pipeline, status_label=label, **fields
                    ).id
                ),
                f"Action added to {line(label)}: {line(what)}",
                after=self._select_action,
            )

    def _select_action(self, action_id: int) -> None:
        self._select(f"action:{action_id}")

    def _select(self, key: str) -> None:
        """Highlight this row after the next load (a row just added)."""
        self._want = key

    def action_comment(self) -> None:
        item = self._target("comment")
        if item is not None:
            action_dialogs.comment_on(self, item.data["id"])

    def action_clone(self) -> None:
        item = self._target("clone")
        if item is not None:
            action_dialogs.clone_action(self, item.data["id"], self._select_action)

    def action_move(self, step: int) -> None:
        item = self._target("move")
        if item is None:
            return
        d = item.data
        if item.kind == "action":
            action_dialogs.move_action(self, d, step, d["count"], self._select_action)
        elif item.kind == "status":
            position = d["position"] + step
            if not 1 <= position <= d["count"]:
                self.notify("It is already at that end.", severity="warning")
                return
            pipeline, label = self.pipeline_name, d["status"]
            self.change(
                lambda repo, me: admin.move_status(repo, me, pipeline, label, position),
                f"{line(label)} moved to position {position}",
            )
        elif item.kind == "pipeline":
            position = d["index"] + step
            if not 1 <= position <= d["count"]:
                self.notify("It is already at that end.", severity="warning")
                return
            name = d["name"]
            self.change(
                lambda repo, me: admin.move_pipeline(repo, me, name, position),
                f"{line(name)} moved to position {position}",
            )

    def action_delete(self) -> None:
        item = self._target("delete")
        if item is not None:
            self._delete(item)

    @work(group="settings-dialog")
    async def _delete(self, item: Item) -> None:
        d = item.data
        if item.kind == "action":
            question = f"Delete action {d['position'] + 1} “{line(d['description'])}”?"
            if await self.app.push_screen_wait(ConfirmScreen(question)):
                action_id = d["id"]
                self.change(
                    lambda repo, me: admin.delete_action(repo, me, action_id, and_following=False),
                    "Action deleted",
                )
        elif item.kind == "workflow":
            question = f"Delete the workflow “{line(d['name'])}” and its actions?"
            if await self.app.push_screen_wait(ConfirmScreen(question)):
                workflow_id = d["id"]
                self.change(
                    lambda repo, me: admin.delete_workflow(repo, me, workflow_id),
                    "Workflow deleted",
                )
        elif item.kind == "status":
            await self._remove_status(d)
        elif item.kind == "pipeline":
            await self._remove_pipeline(d)

    async def _remove_pipeline(self, d: dict[str, Any]) -> None:
        """SPEC §1: a pipeline goes only after its tickets move to another pipeline's status."""
        assert self.view is not None
        name = d["name"]
        others = [(p["name"], p["name"]) for p in self.view["pipelines"] if p["name"] != name]
        if not others:
            self.notify("The only pipeline cannot be removed.", severity="warning")
            return
        target = await self.app.push_screen_wait(
            PickerScreen(f"Move the tickets of {line(name)} to the pipeline", others)
        )
        if target is None:
            return
        pipelines = await self.backend.query(views.pipelines)
        statuses = next(p["statuses"] for p in pipelines if p["name"] == target)
        status = await self.app.push_screen_wait(
            PickerScreen("…and the status", [(s["label"], s["label"]) for s in statuses])
        )
        if status is None:
            return
        question = (
            f"Remove the pipeline {line(name)}, its statuses, triggers and actions, and move "
            f"its tickets and channels to {line(target)} · {line(status)}?"
        )
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        self.pipeline_id = None
        self.change(
            lambda repo, me: admin.remove_pipeline(
                repo, me, name, move_to_pipeline=target, move_to_status=status
            ),
            lambda moved: f"{line(name)} removed; {_count(moved, 'ticket')} moved",
        )

    async def _remove_status(self, d: dict[str, Any]) -> None:
        """SPEC §1: a status that holds tickets goes only after they move to another status."""
        assert self.view is not None
        label, pipeline, move_to = d["status"], self.pipeline_name, None
        if d["count"] <= 1:
            self.notify(f"{line(label)} is the last status of the pipeline.", severity="warning")
            return
        if d["tickets"]:
            others = [
                (s["status"], s["status"]) for s in self.view["statuses"] if s["id"] != d["id"]
            ]
            move_to = await self.app.push_screen_wait(
                PickerScreen(
                    f"{line(label)} holds {_count(d['tickets'], 'ticket')}: move them to", others
                )
            )
            if move_to is None:
                return
        targeted = [t["name"] for t in self.view["triggers"] if t["target"] == label]
        question = f"Remove the status {line(label)}"
        if move_to is not None:
            question += f" and move its tickets to {line(move_to)}"
        question += "?"
        if targeted:
            question += f" {' and '.join(targeted)} will be broken until you pick a target (R-T4)."
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            return
        self.change(
            lambda repo, me: admin.remove_status(repo, me, pipeline, label, move_to=move_to),
            lambda moved: (
                f"{line(label)} removed" + (f"; {_count(moved, 'ticket')} moved" if moved else "")
            ),
        )

    def action_delete_following(self) -> None:
        item = self._target("delete_following")
        if item is not None:
            self._delete_following(item)

    @work(group="settings-dialog")
    async def _delete_following(self, item: Item) -> None:
        d = item.data
        doomed = d["count"] - d["position"]
        question = (
            f"Delete action {d['position'] + 1} “{line(d['description'])}” "
            f"and all following ({_count(doomed, 'action')} in all)?"
        )
        if await self.app.push_screen_wait(ConfirmScreen(question)):
            action_id = d["id"]
            self.change(
                lambda repo, me: admin.delete_action(repo, me, action_id, and_following=True),
                lambda count: f"Deleted {_count(count, 'action')}",
            )

    def action_clone_workflow(self) -> None:
        """R-A7: a clone is editable and starts off, with no enrollment history (E7)."""
        item = self._target("clone_workflow")
        if item is None:
            return
        if item.kind == "workflow":
            workflow_id = item.data["id"]
        else:
            builtin = [w for w in item.data["workflows"] if w["builtin"]]
            if not builtin:
                self.notify("This status has no actions to clone yet.", severity="warning")
                return
            workflow_id = builtin[0]["id"]
        self.change(
            lambda repo, me: admin.clone_workflow(repo, me, workflow_id).id,
            lambda clone: (
                f"Workflow {clone} created, off: R sets re-enrollment, C its condition, "
                "space switches it on; W opens it in the workflow editor."
            ),
            after=lambda clone: self._select(f"workflow:{clone}"),
        )

    # --- pipelines, statuses, templates -------------------------------------------------------

    def action_rename(self) -> None:
        item = self._target("rename")
        if item is None:
            return
        if item.kind == "status":
            pipeline, label = self.pipeline_name, item.data["status"]

            def renamed(text: str | None) -> None:
                if text and text.strip():
                    self.change(
                        lambda repo, me: admin.rename_status(repo, me, pipeline, label, text),
                        f"Status renamed to {line(text)}",
                    )

            self.app.push_screen(PromptScreen(f"Rename the status {label}", value=label), renamed)
        else:
            name = item.data["name"]

            def renamed_pipeline(text: str | None) -> None:
                if text and text.strip():
                    self.change(
                        lambda repo, me: admin.rename_pipeline(repo, me, name, text),
                        f"Pipeline renamed to {line(text)}",
                    )

            self.app.push_screen(
                PromptScreen(f"Rename the pipeline {name}", value=name), renamed_pipeline
            )

    def action_new(self) -> None:
        item = self._target("new")
        if item is None:
            return
        if item.kind == "template":
            self._open_template(None, edit=True)
        elif item.kind == "status":
            self._new_status()
        else:

            def named(text: str | None) -> None:
                if text and text.strip():
                    self.change(
                        lambda repo, me: admin.add_pipeline(repo, me, text).id,
                        f"Pipeline {line(text)} added with the default statuses and triggers",
                        after=self._go_to_pipeline,
                    )

            self.app.push_screen(PromptScreen("New pipeline name"), named)

    def _go_to_pipeline(self, pipeline_id: int) -> None:
        self.pipeline_id = pipeline_id
        self._want = f"pipeline:{pipeline_id}"

    @work(group="settings-dialog")
    async def _new_status(self) -> None:
        pipeline = self.pipeline_name
        label = await self.app.push_screen_wait(PromptScreen(f"New status in {pipeline}"))
        if not label or not label.strip():
            return
        state = await self.app.push_screen_wait(
            PickerScreen(
                f"Is “{label.strip()}” open or closed?",
                [("Open (the ticket is being worked on)", "OPEN"), ("Closed", "CLOSED")],
            )
        )
        if state is None:
            return
        self.change(
            lambda repo, me: admin.add_status(repo, me, pipeline, label, state).id,
            f"Status {line(label)} added at the end",
            after=lambda status_id: self._select(f"status:{status_id}"),
        )

    def _open_template(self, item: Item | None, *, edit: bool) -> None:
        """The template editor with a live preview against the newest ticket (B7)."""
        if edit and not self._may_change():
            return
        name = item.data["name"] if item is not None else None
        subject = item.data["subject"] if item is not None else ""
        body = item.data["body"] if item is not None else ""
        taken = frozenset(t["name"].casefold() for t in (self.view or {}).get("templates", []))

        async def load_preview(number: int | None) -> dict[str, Any]:
            return await self.backend.query(lambda s: settings_views.template_preview(s, number))

        def save(name: str, subject: str, body: str, close: Callable[[], Any]) -> None:
            def saved(template_id: int) -> None:
                self._select(f"template:{template_id}")
                close()

            self.change(
                lambda repo, me: admin.set_template(repo, me, name, subject=subject, body=body).id,
                f"Template {line(name)} saved",
                after=saved,
            )

        self.app.push_screen(
            TemplateEditor(
                name=name,
                subject=subject,
                body=body,
                read_only=not self.me.is_admin,
                load_preview=load_preview,
                save=save,
                taken=taken,
            )
        )
