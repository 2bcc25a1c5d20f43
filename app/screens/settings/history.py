"""The settings history (SPEC S11), an admin's: every settings change with who made it, when,
and what it was before and after, newest first. The list pages like the inbox (widgets.row_list:
pages of rows read as they scroll into view); each row is one line cut with an ellipsis, and
the highlighted change is shown whole below the list. `deskline audit settings` is its twin.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy.orm import Session
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import Label, Static

from app.screens.base import DeskScreen
from app.sources import ViewSource
from storage import views
from storage.repository import audit
from widgets.lists import fit
from widgets.row_list import Cell, Row, RowList
from widgets.text import line, stamp


def old_new(old: dict[str, Any], new: dict[str, Any], *, width: int = 40) -> str:
    """`field: before -> after; ...`, each value cut to `width` characters."""
    keys = list(dict.fromkeys([*old, *new]))
    return "; ".join(
        f"{k}: {_value(old.get(k), width)} -> {_value(new.get(k), width)}"
        for k in keys
        if k != "id"
    )


def _value(value: Any, width: int) -> str:
    text = "-" if value is None else value if isinstance(value, str) else json.dumps(value)
    text = line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


class ChangeSource(ViewSource):
    def count(self, s: Session) -> int:
        return audit.change_count(s)

    def index_of(self, s: Session, key: Any) -> int | None:
        return audit.change_index(s, int(key))

    def window(self, s: Session, window: views.Window) -> list[Row]:
        after: Any = window.after  # this list's sort key is the change's id
        return audit.change_rows(s, window.offset, window.limit, after)


class ChangeList(RowList):
    """One line per change: when, who, what, before -> after."""

    empty_text: ClassVar[str] = "No settings change yet."

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "select"  # a change opens nothing: it is shown whole below

    def row_cells(self, row: Row, line_no: int, width: int) -> Sequence[Cell]:
        when = stamp(row["at"])[5:]  # 12-05 14:03 (the detail below has the year)
        who_width = 10 if width < 100 else 16
        what_width = 26 if width < 100 else 40
        what = f"{row['kind']} {row['object']} {row['action']}"
        rest = max(4, width - len(when) - who_width - what_width - 4)
        dim = self.style("dim")
        return [
            (f" {when} ", dim),
            (fit(line(row["actor"]), who_width) + " ", self.style("accent")),
            (fit(line(what), what_width) + " ", None),
            (fit(old_new(row["old"], row["new"]), rest), dim),
        ]


class SettingsHistoryScreen(DeskScreen):
    HELP_TITLE = "Settings history"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,H", "back", "Back", id="settings_history.back"),
    ]
    DEFAULT_CSS = """
    SettingsHistoryScreen #history-title { height: 1; padding: 0 1; }
    SettingsHistoryScreen #history-changes { height: 1fr; }
    SettingsHistoryScreen #history-detail {
        height: 5; padding: 0 1; border-top: solid $primary-muted;
        text-overflow: ellipsis;
    }
    """

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Label(Content("Settings history · newest first"), id="history-title")
        yield ChangeList(id="history-changes")
        yield Static("", id="history-detail")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        changes = self.query_one(ChangeList)
        changes.set_source(ChangeSource(self.backend))
        changes.focus()

    def refresh_data(self) -> None:
        self.query_one(ChangeList).reload()

    @on(RowList.Highlighted, "#history-changes")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        self.query_one("#history-detail", Static).update(Content(detail_text(event.row)))

    def action_back(self) -> None:
        self.dismiss()


def detail_text(row: Row | None) -> str:
    """The highlighted change whole (what the row's line had to cut)."""
    if row is None:
        return ""
    apply = f" · apply {row['apply_id']}" if row["apply_id"] else ""
    head = f"{stamp(row['at'])} · {line(row['actor'])}{apply}"
    what = line(f"{row['kind']} {row['object']} {row['action']}")
    return f"{head}\n{what}\n{old_new(row['old'], row['new'], width=200) or '(no values)'}"
