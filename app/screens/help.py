"""`?`: the keys of the screen underneath, read from the same bindings the footer shows.

A screen whose keys act on kinds of rows (settings) names them per kind first (`help_groups`),
then its other keys, then the app's. Textual's own generic keys (no binding id) are left out:
they are the same everywhere and not in keys.toml.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from app.screens.footer import rank


def help_bindings(screen: Screen[object]) -> list[Binding]:
    """The commands of `screen` with a description, one binding per action (the one with an
    id, when several): the screen's own in the footer's order, then the focused widget's, then
    the app's, then Textual's (no id)."""
    found: dict[tuple[str, str], tuple[Binding, int]] = {}
    for node, binding, *_ in screen.active_bindings.values():
        if not binding.description or not binding.id:
            continue
        where = 0 if node is screen else 2 if node is screen.app else 1
        seen = found.get((binding.description, binding.action))
        if seen is None or (binding.id and not seen[0].id):
            found[(binding.description, binding.action)] = (binding, where)
    order = {id(binding): n for n, (binding, _) in enumerate(found.values())}
    return [
        binding
        for binding, _ in sorted(
            found.values(),
            key=lambda bw: (bw[0].id is None, bw[1], rank(bw[0], order[id(bw[0])])),
        )
    ]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = "#help-footnote { width: 1fr; height: auto; margin-top: 1; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss(None)", "Close", id="help.close"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="help.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="help.up"),
        Binding("G,end", "ends(1)", "Last keys", show=False, id="help.end"),
        Binding("g,home", "ends(-1)", "First keys", show=False, id="help.home"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        title = getattr(self.under, "HELP_TITLE", self.under.__class__.__name__)
        with Vertical(classes="dialog help"):
            yield Label(Content(f"Keys: {title}"), classes="dialog-title")
            with VerticalScroll():
                yield Static(Content("\n").join(self._rows()))
            yield Label(self._footnote(), id="help-footnote")

    def action_ends(self, direction: int) -> None:
        scroll = self.query_one(VerticalScroll)
        if direction > 0:
            scroll.scroll_end(animate=False)
        else:
            scroll.scroll_home(animate=False)

    def _rows(self) -> list[Content]:
        """The keys by the kind of row they act on (when the screen says), then one row per
        command: its key after the keymap, what it does, its id for keys.toml."""
        rows: list[Content] = []
        groups = getattr(self.under, "help_groups", None)
        if callable(groups):
            for title, keys in groups():
                rows.append(Content.from_markup("[b]$title[/b]", title=title))
                rows += [
                    Content.from_markup(
                        "[b]$keys[/b]  $what", keys=f"{key:>10}", what=f"{what:<26}"
                    )
                    for key, what in keys
                ]
                rows.append(Content(""))
            rows.append(Content.from_markup("[b]All keys of this screen[/b]"))
        rows += self._command_rows()
        return rows

    def _command_rows(self) -> list[Content]:
        rows: list[Content] = []
        seen: set[str] = set()
        for binding in help_bindings(self.under):
            what = binding.description.casefold()
            if what in seen:  # "Up" of the list and "Up" of the screen: one row, one key
                continue
            seen.add(what)
            rows.append(
                Content.from_markup(
                    "[b]$keys[/b]  $what [$text-muted]$id[/]",
                    keys=f"{self.app.get_key_display(binding):>10}",
                    what=f"{binding.description:<26}",
                    id=binding.id or "",
                )
            )
        return rows

    def _footnote(self) -> Content:
        where = getattr(self.app, "keymap_file", None) or "keys.toml"
        return Content.from_markup(
            "[$text-muted]ctrl+p finds any command of any screen by its words. "
            "Change a key by its id in $where, e.g. $example[/]",
            where=str(where),
            example='[keys] "inbox.reply" = "x"',
        )

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)
