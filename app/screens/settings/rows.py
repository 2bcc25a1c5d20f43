"""What every row of the settings list is: its line, its side-pane text, its keys.

A row type owns which of the screen's keys act on it (the footer, `?` and the palette show only
those, SettingsScreen.check_action), the text of its line and of the side pane, and what each of
its keys does. The keys it names in the pane come from the bindings (`KeyName`), so a key
remapped in keys.toml is named with its new key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual.content import Content

from app.screens.keys import UNBOUND, KeyName
from app.screens.settings.bindings import ACTION_OF, READING
from app.screens.settings.host import SettingsHost
from app.screens.settings_dialogs import READ_ONLY
from app.screens.workflows import WorkflowPage, editor_workflow


@dataclass(frozen=True)
class Hint:
    """A key the side pane names: its binding ids (shown joined by "/") and what it does here."""

    ids: tuple[str, ...]
    what: str
    fixed: str = ""  # a key with no binding id of ours (enter: the list's own key)

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(ACTION_OF[binding_id] for binding_id in self.ids)

    @property
    def reading(self) -> bool:
        """Shown to reps too: it changes nothing."""
        return bool(self.fixed) or self.actions <= READING

    def key(self, name: KeyName) -> str:
        return self.fixed or "/".join(name(binding_id) for binding_id in self.ids)


def hint(what: str, *ids: str) -> Hint:
    return Hint(ids, what)


class Row:
    """One row of the settings list."""

    kind: ClassVar[str] = ""  # the row type's name, part of `key`
    KEYS: ClassVar[tuple[Hint, ...]] = ()  # the keys that act on it, in the pane's order
    ACTIONS: ClassVar[frozenset[str]] = frozenset()  # their actions (from KEYS)
    selectable: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.ACTIONS = frozenset().union(*(h.actions for h in cls.KEYS))

    def __init__(self, key: str, prompt: Content, data: dict[str, Any] | None = None) -> None:
        self.key = key  # stable across refreshes: the option id
        self.prompt = prompt
        self.data: dict[str, Any] = data if data is not None else {}

    def takes(self, action: str) -> bool:
        """Whether the screen's action (a key) acts on this row."""
        return action in self.ACTIONS

    # --- the side pane ------------------------------------------------------------------------

    def explain(self) -> list[Content]:
        """The paragraphs of the side pane, above the keys."""
        return []

    def hints(self) -> tuple[Hint, ...]:
        return self.KEYS

    def details(self, name: KeyName, is_admin: bool) -> Content:
        """What the side pane says about the row, and the keys that act on it."""
        paragraphs = self.explain()
        hints = [h for h in self.hints() if not h.reading and is_admin]
        hints += [h for h in self.hints() if h.reading]
        if not is_admin:
            paragraphs.append(Content.from_markup("[b $warning]$t[/]", t=READ_ONLY))
        pairs = [(key, h.what) for h in hints if (key := h.key(name)) != UNBOUND]
        if pairs:
            paragraphs.append(
                Content.assemble(Content.from_markup("[$text-muted]Keys:[/] "), keys_line(pairs))
            )
        return Content("\n\n").join(paragraphs)

    # --- what the keys do (the screen calls only those the row takes, see ACTIONS) -------------

    def open(self, screen: SettingsHost) -> None:
        """enter on the row."""

    def switch(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def target(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def view_workflow(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def add_action(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def edit(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def comment(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def clone(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def move(self, screen: SettingsHost, step: int) -> None:
        raise NotImplementedError(self.kind)

    def delete(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def delete_following(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def rename(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def new(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def clone_workflow(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def reenroll(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def conditions(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def role(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)

    def members(self, screen: SettingsHost) -> None:
        raise NotImplementedError(self.kind)


class PagedRow(Row):
    """A row whose workflow opens read-only with `w` and enter (R-T5)."""

    def page(self, name: KeyName) -> tuple[str, Content]:
        """The title and text of the read-only page."""
        raise NotImplementedError(self.kind)

    def view_workflow(self, screen: SettingsHost) -> None:
        """The read-only page, with a key that opens the workflow editor on this workflow."""
        title, body = self.page(screen.key_name)
        workflow_id = editor_workflow(self.kind, self.data, screen.statuses)
        screen.app.push_screen(WorkflowPage(title, body, screen.pipeline_id, workflow_id))

    def open(self, screen: SettingsHost) -> None:
        screen.action_view_workflow()


class HeaderRow(Row):
    """A section title or a note between sections: not selectable, no keys."""

    kind = "header"
    selectable = False

    @classmethod
    def title(cls, key: str, text: str) -> HeaderRow:
        return cls(f"header:{key}", Content.from_markup("[b $text-accent]$t[/]", t=text))

    @classmethod
    def note(cls, key: str, text: str) -> HeaderRow:
        return cls(f"note:{key}", Content.from_markup("[$text-muted]  $t[/]", t=text))


def keys_line(pairs: list[tuple[str, str]]) -> Content:
    return Content("  ").join(
        Content.from_markup("[b]$key[/b] $what", key=key, what=what) for key, what in pairs
    )


def box(on: bool) -> str:
    return "[x]" if on else "[ ]"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def on_off(on: bool) -> str:
    return "on" if on else "off"
