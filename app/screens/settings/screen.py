"""Automation settings (SPEC §5): admins change them, reps read them.

One list holds every settings item of a pipeline: its connected channels, the two triggers
(R-T1..R-T5), its statuses with their status actions (R-A1..R-A9), the templates and the branding
switch (R-A3). Each row's type (rows.Row) says which keys act on it, what the details pane beside
the list says, and what its keys do; the screen shows the rows and hands each key to the
highlighted row. The footer shows only the keys that apply to it (Screen.check_action), and `?`
lists them all. A rep sees the same screen read-only: the change keys are gone and a line says
so; the admin functions refuse a rep anyway (SPEC §7).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Label, Static
from textual.widgets.option_list import Option

from app.screens.base import DeskScreen
from app.screens.dialogs import PickerScreen
from app.screens.footer import DeskFooter
from app.screens.keys import key_for
from app.screens.settings import bindings
from app.screens.settings.build import ROW_ACTIONS, build_rows
from app.screens.settings.history import SettingsHistoryScreen
from app.screens.settings.host import SettingsHost
from app.screens.settings.limit_rows import read_limits
from app.screens.settings.people_rows import people_view
from app.screens.settings.rows import Row
from app.screens.settings.web_limit_rows import read_web_limits
from app.screens.settings_dialogs import READ_ONLY
from storage import settings_views
from storage.repository.snippets import snippets_view
from widgets.option_list import OptionList
from widgets.text import line


class SettingsScreen(DeskScreen):
    MODE = "settings"
    HELP_TITLE = "Automation settings"
    BINDINGS: ClassVar[list[BindingType]] = bindings.BINDINGS
    # A row that does not fit is cut with an ellipsis (the details pane beside it has it all),
    # never wrapped mid-phrase.
    DEFAULT_CSS = "#settings-items { text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self) -> None:
        super().__init__()
        self.view: dict[str, Any] | None = None
        self.items: list[Row] = []
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
        yield DeskFooter(compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_mode()
        self.query_one("#settings-items", OptionList).focus()
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    def help_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The keys per kind of row, as the side pane names them (for `?`), in list order."""
        groups: list[tuple[str, list[tuple[str, str]]]] = []
        seen: set[type[Row]] = set()
        for row in self.items:
            kind = type(row)
            if kind in seen or not row.hints():
                continue
            seen.add(kind)
            keys = [(h.key(self.key_name), h.what) for h in row.hints()]
            groups.append((f"On {_kind_name(row)} rows", keys))
        return groups

    def key_name(self, binding_id: str) -> str:
        """The key that runs a binding now (after keys.toml), for text that names it."""
        return key_for(self, binding_id)

    # --- reading ----------------------------------------------------------------------------

    @work(group="settings-load", exclusive=True)
    async def _load(self) -> None:
        pipeline_id, me = self.pipeline_id, self.backend.me.id
        view = await self.backend.query(
            lambda s: (
                {**settings_views.settings_view(s, pipeline_id), "limits": read_limits(s)}
                | {"web_limits": read_web_limits(s)}
                | {"people": people_view(s)}
                | {"snippets": snippets_view(s, me)}
            )
        )
        self._show(view)

    def _show(self, view: dict[str, Any]) -> None:
        if view["pipeline"] is None:
            self.query_one("#settings-details-text", Static).update(
                Content("No pipeline: run `deskline init`.")
            )
            self.loaded = True
            return
        current = self._want or self._current_key()
        self._want = None
        if view != self.view:
            self._show_rows(view, current)
        elif current is not None and current != self._current_key():
            self.highlight_key(current)
        self._show_mode()
        self._show_details()
        self.refresh_bindings()
        self.loaded = True

    def _show_rows(self, view: dict[str, Any], current: str | None) -> None:
        options = self.query_one("#settings-items", OptionList)
        old_index = options.highlighted or 0
        self.view = view
        self.pipeline_id = view["pipeline"]["id"]
        self.items = build_rows(view)
        options.set_options(
            Option(row.prompt, id=row.key, disabled=not row.selectable) for row in self.items
        )
        keys = [row.key for row in self.items]
        # The same row, or (when it went away) the row now where it was.
        index = keys.index(current) if current in keys else min(old_index, len(keys) - 1)
        while index < len(keys) - 1 and not self.items[index].selectable:
            index += 1
        while index > 0 and not self.items[index].selectable:
            index -= 1
        options.highlighted = index

    def _show_mode(self) -> None:
        label = self.query_one("#settings-mode", Label)
        if not self.me.is_admin:
            label.update(Content.from_markup("[b reverse $warning] $t [/]", t=READ_ONLY))
            return
        name = self.view["pipeline"]["name"] if self.view and self.view["pipeline"] else ""
        several = len(self.pipelines) > 1
        pick = f" · {self.key_name('settings.pipeline')} pipeline" if several else ""
        label.update(
            Content.from_markup(
                "[b]$name[/b] [$text-muted]· keys act on the highlighted row$pick · $help all "
                "keys[/]",
                name=line(name),
                pick=pick,
                help=self.key_name("app.help"),
            )
        )

    def _current_key(self) -> str | None:
        option = self.query_one("#settings-items", OptionList).highlighted_option
        return option.id if option is not None else None

    @property
    def item(self) -> Row | None:
        """The highlighted row."""
        key = self._current_key()
        return next((row for row in self.items if row.key == key), None)

    def highlight_key(self, key: str) -> bool:
        """Put the cursor on a row by its key (e.g. "trigger:customer_replied")."""
        keys = [row.key for row in self.items]
        if key not in keys:
            return False
        self.query_one("#settings-items", OptionList).highlighted = keys.index(key)
        return True

    @on(OptionList.OptionHighlighted, "#settings-items")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_details()
        self.refresh_bindings()

    def _show_details(self) -> None:
        row = self.item
        text = self.query_one("#settings-details-text", Static)
        if row is None or self.view is None:
            text.update("")
            return
        text.update(row.details(self.key_name, self.me.is_admin))
        self.query_one("#settings-details", VerticalScroll).scroll_home(animate=False)

    # --- what the rows read of the pipeline ---------------------------------------------------

    @property
    def pipeline_name(self) -> str:
        assert self.view is not None and self.view["pipeline"] is not None
        return str(self.view["pipeline"]["name"])

    def _listed(self, name: str) -> list[dict[str, Any]]:
        return list((self.view or {}).get(name, []))

    @property
    def pipelines(self) -> list[dict[str, Any]]:
        return self._listed("pipelines")

    @property
    def statuses(self) -> list[dict[str, Any]]:
        return self._listed("statuses")

    @property
    def triggers(self) -> list[dict[str, Any]]:
        return self._listed("triggers")

    @property
    def templates(self) -> list[dict[str, Any]]:
        return self._listed("templates")

    # --- which keys apply -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        me = self.backend.me
        changes = action in ROW_ACTIONS and action not in bindings.READING
        if changes and (me is None or not me.is_admin):
            return False  # a rep: the change keys are gone from the footer and help
        if action == "pick_pipeline":
            return len(self.pipelines) > 1
        if action == "history":
            return me is not None and me.is_admin  # the settings audit is an admin's (S5)
        if action not in ROW_ACTIONS:
            return True
        if self.app.screen is not self:
            return True  # the help screen and the palette list every key of this screen
        row = self.item
        return row is not None and row.takes(action)

    def _may_change(self) -> bool:
        if not self.me.is_admin:
            self.notify(READ_ONLY, severity="warning")
            return False
        return True

    def _target(self, action: str) -> Row | None:
        """The highlighted row when `action` applies to it, else a notice and None."""
        row = self.item
        if row is None or not row.takes(action):
            self.notify("That key does not apply to this row.", severity="warning")
            return None
        if action not in bindings.READING and not self._may_change():
            return None
        return row

    # --- what rows ask of the screen (host.SettingsHost) ------------------------------------

    @property
    def desk_screen(self) -> DeskScreen:
        """This screen, for the action dialogs the rows open (they take a DeskScreen)."""
        return self

    def ask(self, flow: Coroutine[Any, Any, None]) -> None:
        """Run a row's questions (it waits for dialogs) in a worker."""
        self.run_worker(flow, group="settings-dialog")

    def select(self, key: str) -> None:
        """Highlight this row after the next load (a row just added)."""
        self._want = key

    def select_action(self, action_id: int) -> None:
        self.select(f"action:{action_id}")

    def go_to_pipeline(self, pipeline_id: int) -> None:
        self.pipeline_id = pipeline_id
        self._want = f"pipeline:{pipeline_id}"

    # --- navigation -------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        options = self.query_one("#settings-items", OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def action_section(self, step: int) -> None:
        """`}` the first row of the next section, `{` the first row of this section (of the
        one before when already there)."""
        starts = self._section_starts()
        options = self.query_one("#settings-items", OptionList)
        here = options.highlighted or 0
        if step > 0:
            later = [i for i in starts if i > here]
            if not later:
                self.notify("This is the last section.", timeout=2)
                return
            options.highlighted = later[0]
        else:
            earlier = [i for i in starts if i < here]
            if not earlier:
                self.notify("This is the first section.", timeout=2)
                return
            options.highlighted = earlier[-1]

    def _section_starts(self) -> list[int]:
        """The index of the first selectable row after each section title (and of the first
        row of all, the pipeline)."""
        starts: list[int] = []
        titled = True
        for index, row in enumerate(self.items):
            if row.key.startswith("header:"):
                titled = True
            elif row.selectable and titled:
                starts.append(index)
                titled = False
        return starts

    def on_key(self, event: events.Key) -> None:
        """A settings key the highlighted row does not take (hidden from the footer, so it
        would do nothing) says so in one line instead of doing nothing."""
        if self.app.screen is not self or self.item is None:
            return
        for binding in self._keyed_bindings(event.key):
            action = bindings.ACTION_OF.get(binding.id or "")
            if action is None or action not in ROW_ACTIONS:
                continue
            if self.check_action(action, ()) is not False:
                return  # the key runs
            event.prevent_default()
            if not self.me.is_admin and action not in bindings.READING:
                self.notify(READ_ONLY, severity="warning", timeout=3)
            else:
                what = binding.description or action
                self.notify(f"{what} does not apply to this row.", severity="warning", timeout=3)
            return

    def _keyed_bindings(self, key: str) -> list[Binding]:
        """This screen's bindings of `key`, after the user's keymap (keys.toml)."""
        found = self._bindings.copy()
        if self.app._keymap:
            found.apply_keymap(self.app._keymap)
        return list(found.key_to_bindings.get(key, ()))

    def action_back(self) -> None:
        options = self.query_one("#settings-items", OptionList)
        if not options.has_focus:
            options.focus()

    @on(OptionList.OptionSelected, "#settings-items")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        """enter: open the row (a workflow, the template editor) or switch its checkbox."""
        row = self.item
        if row is not None:
            row.open(self)

    def action_pick_pipeline(self) -> None:
        if self.view is None:
            return
        choices = [(p["name"], p["id"]) for p in self.pipelines]

        def chosen(pipeline_id: int | None) -> None:
            if pipeline_id is not None:
                self.go_to_pipeline(pipeline_id)
                self.refresh_data()

        self.app.push_screen(PickerScreen("Pipeline", choices, self.pipeline_id), chosen)

    def action_workflows(self) -> None:
        """The workflow editor, on the highlighted row's workflow (a status's, a trigger's
        target status's)."""
        from app.screens.workflows import WorkflowsScreen, editor_workflow

        row = self.item
        wanted = editor_workflow(row.kind, row.data, self.statuses) if row is not None else None
        self.app.push_screen(WorkflowsScreen(self.pipeline_id, wanted))

    # --- keys on the highlighted row: the row does what its type does -----------------------

    def action_history(self) -> None:
        if not self.me.is_admin:
            self.notify("The settings history is for admins.", severity="warning")
            return
        self.app.push_screen(SettingsHistoryScreen())

    def action_view_workflow(self) -> None:
        if (row := self._target("view_workflow")) is not None:
            row.view_workflow(self)

    def action_switch(self) -> None:
        if (row := self._target("switch")) is not None:
            row.switch(self)

    def action_target(self) -> None:
        if (row := self._target("target")) is not None and self.view is not None:
            row.target(self)

    def action_add_action(self) -> None:
        if (row := self._target("add_action")) is not None:
            row.add_action(self)

    def action_edit(self) -> None:
        if (row := self._target("edit")) is not None:
            row.edit(self)

    def action_comment(self) -> None:
        if (row := self._target("comment")) is not None:
            row.comment(self)

    def action_clone(self) -> None:
        if (row := self._target("clone")) is not None:
            row.clone(self)

    def action_move(self, step: int) -> None:
        if (row := self._target("move")) is not None:
            row.move(self, step)

    def action_delete(self) -> None:
        if (row := self._target("delete")) is not None:
            row.delete(self)

    def action_delete_following(self) -> None:
        if (row := self._target("delete_following")) is not None:
            row.delete_following(self)

    def action_rename(self) -> None:
        if (row := self._target("rename")) is not None:
            row.rename(self)

    def action_new(self) -> None:
        if (row := self._target("new")) is not None:
            row.new(self)

    def action_clone_workflow(self) -> None:
        if (row := self._target("clone_workflow")) is not None:
            row.clone_workflow(self)

    def action_reenroll(self) -> None:
        if (row := self._target("reenroll")) is not None:
            row.reenroll(self)

    def action_conditions(self) -> None:
        if (row := self._target("conditions")) is not None:
            row.conditions(self)

    def action_role(self) -> None:
        if (row := self._target("role")) is not None:
            row.role(self)

    def action_members(self) -> None:
        if (row := self._target("members")) is not None:
            row.members(self)


# mypy checks here that the screen is what its rows take: it satisfies host.SettingsHost
# structurally (the rows are typed against the protocol so that they do not import this module).
SETTINGS_HOST: type[SettingsHost] = SettingsScreen


def _kind_name(row: Row) -> str:
    return {"people_new": "add", "path": "branch path"}.get(row.kind, row.kind or "other")
