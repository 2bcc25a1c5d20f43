"""The composer's snippet picker (issue 12; SPEC D18): the rep's snippets and the shared ones their
own do not shadow, filtered as you type (fuzzy, by name then text); enter inserts the highlighted
one, escape goes back to the text unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Input, Label
from textual.widgets.option_list import Option

from automation.snippets import Snippet
from widgets.option_list import OptionList
from widgets.text import line


def ranked(found: Sequence[Snippet], typed: str) -> list[Snippet]:
    """The snippets that match what was typed, best first (all of them, by name, for nothing)."""
    if not typed.strip():
        return list(found)
    matcher = Matcher(typed.strip())
    scored = [(max(matcher.match(s.name), matcher.match(s.body) * 0.5), s) for s in found]
    return [s for score, s in sorted(scored, key=lambda pair: -pair[0]) if score > 0]


class SnippetPicker(ModalScreen[Snippet | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back to the text", id="snippets.close"),
        Binding("down", "down", "Next", show=False, id="snippets.down"),
        Binding("up", "up", "Previous", show=False, id="snippets.up"),
    ]

    def __init__(self, found: Sequence[Snippet]) -> None:
        super().__init__()
        self.found = list(found)
        self.shown: list[Snippet] = list(found)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content("Insert a snippet"), classes="dialog-title")
            yield Input(placeholder="type to filter", id="snippet-filter")
            yield OptionList(id="snippet-list")
            yield Label(
                Content.from_markup(
                    "[$text-muted][b]enter[/b] inserts · [b]escape[/b] back to the text · "
                    "`deskline snippet set` adds one[/]"
                )
            )

    def on_mount(self) -> None:
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, typed: str) -> None:
        self.shown = ranked(self.found, typed)
        options = self.query_one(OptionList)
        options.clear_options()
        if not self.found:
            options.add_option(Option(Content("No snippets yet."), disabled=True))
            return
        for snippet in self.shown:
            kind = "shared" if snippet.shared else "yours"
            text = line(" ".join(snippet.body.split()))[:50]
            options.add_option(
                Option(Content.assemble((line(snippet.name), "bold"), f"  {kind} · {text}"))
            )
        if self.shown:
            options.highlighted = 0

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted)
    def _entered(self) -> None:
        self._choose()

    @on(OptionList.OptionSelected)
    def _selected(self) -> None:
        self._choose()

    def _choose(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.shown):
            self.dismiss(self.shown[index])

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()
