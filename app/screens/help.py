"""`?`: the keys of the screen underneath, read from the same bindings the footer shows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


def key_label(keys: str) -> str:
    return " ".join(k.strip() for k in keys.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss(None)", "Close", id="help.close"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="help.down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="help.up"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        rows: list[Content] = []
        seen: set[tuple[str, str]] = set()
        # Deskline's own keys (they carry ids) first, then the focused widget's and Textual's.
        ordered = sorted(self.under.active_bindings.items(), key=lambda kv: not kv[1].binding.id)
        for key, active in ordered:
            binding = active.binding
            if not binding.description or (binding.description, binding.action) in seen:
                continue
            seen.add((binding.description, binding.action))
            keys = (
                self.app.get_key_display(binding)
                if binding.key_display is None
                else binding.key_display
            )
            rows.append(
                Content.from_markup(
                    "[b]$keys[/b]  $what [$text-muted]$id[/]",
                    keys=f"{keys or key:>10}",
                    what=f"{binding.description:<26}",
                    id=binding.id or "",
                )
            )
        title = getattr(self.under, "HELP_TITLE", self.under.__class__.__name__)
        with Vertical(classes="dialog help"):
            yield Label(Content(f"Keys: {title}"), classes="dialog-title")
            with VerticalScroll():
                yield Static(Content("\n").join(rows))
            yield Label(
                Content.from_markup(
                    "[$text-muted]ctrl+p reaches every command. Remap keys by id in keys.toml "
                    "(see README).[/]"
                )
            )

    def action_scroll(self, step: int) -> None:
        self.query_one(VerticalScroll).scroll_relative(y=step, animate=False)
