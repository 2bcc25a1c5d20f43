"""Small modal dialogs: pick one of a list, type one line, confirm, tick several."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label, SelectionList
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection

from app.screens.keys import key_for
from widgets.option_list import OptionList
from widgets.text import line


class PickerScreen(ModalScreen[Any]):
    """Choose one value; escape returns None. Labels are plain text (they may come from mail)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel"),
        Binding("j", "down", "Down", show=False, id="dialog.down"),
        Binding("k", "up", "Up", show=False, id="dialog.up"),
    ]

    def __init__(self, title: str, choices: list[tuple[str, Any]], current: Any = None) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield OptionList(
                *(
                    Option(Content(line(label)), id=str(i))
                    for i, (label, _) in enumerate(self.choices)
                )
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        values = [value for _, value in self.choices]
        if self.current in values:
            options.highlighted = values.index(self.current)
        elif self.choices:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.choices[int(event.option.id or 0)][1])

    def action_down(self) -> None:
        self.query_one(OptionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(OptionList).action_cursor_up()


class PromptScreen(ModalScreen[str | None]):
    """Type one line (a subject, a search); enter accepts, escape cancels.

    With `check`, enter accepts only a line it finds no fault with: otherwise the dialog stays
    open with what was typed and shows the fault in one line under it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel"),
    ]

    def __init__(
        self,
        title: str,
        value: str = "",
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
        suggester: Suggester | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.check = check
        self.suggester = suggester  # completion as you type (right arrow takes it)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, suggester=self.suggester)
            if self.check is not None:
                yield Label("", id="prompt-error", classes="dialog-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        fault = self.check(event.value) if self.check is not None else None
        if fault:
            error = self.query_one("#prompt-error", Label)
            error.update(Content.from_markup("[b $text-error]$fault[/]", fault=line(fault)))
            return
        self.dismiss(event.value)


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "dismiss(True)", "Yes", id="dialog.yes"),
        Binding("n,escape", "dismiss(False)", "No", id="dialog.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.question), classes="dialog-title")
            yield Label(Content.from_markup("[b]y[/b] yes   [b]n[/b] no"))


class ChecklistScreen(ModalScreen[list[Any] | None]):
    """Tick several values (space), enter accepts the ticked ones, escape cancels. Labels are
    plain text."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="dialog.cancel"),
        Binding("enter", "accept", "Accept", priority=True, id="dialog.accept"),
        Binding("j", "down", "Down", show=False, id="dialog.down"),
        Binding("k", "up", "Up", show=False, id="dialog.up"),
    ]

    def __init__(self, title: str, choices: list[tuple[str, Any]], ticked: Any = ()) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.ticked = list(ticked)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield SelectionList[int](
                *(
                    Selection(Content(line(label)), i, value in self.ticked)
                    for i, (label, value) in enumerate(self.choices)
                )
            )
            yield Label("", id="checklist-error", classes="dialog-error")
            yield Label(
                Content.from_markup(
                    "[b]space[/b] ticks · [b]$accept[/b] accepts · [b]$cancel[/b] cancels",
                    accept=key_for(self, "dialog.accept"),
                    cancel=key_for(self, "dialog.cancel"),
                )
            )

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    def action_accept(self) -> None:
        ticked = sorted(self.query_one(SelectionList).selected)
        if not ticked:
            self.query_one("#checklist-error", Label).update(
                Content.from_markup("[b $text-error]Tick at least one (space).[/]")
            )
            return
        self.dismiss([self.choices[i][1] for i in ticked])

    def action_down(self) -> None:
        self.query_one(SelectionList).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(SelectionList).action_cursor_up()
