"""Dialogs of the automation settings screen: a read-only view, and the template editor.

The template editor previews the template live against a real ticket (B7): undefined variables
are errors, shown under the preview, and a template with an error is not saved. Everything a
template holds is shown as typed (SPEC §7): it is never parsed as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label, Static, TextArea

from app.screens.dialogs import ConfirmScreen, PromptScreen
from app.screens.keys import key_for
from automation.templates import TemplateRenderError, render
from widgets.text import block, line

PREVIEW_DELAY = 0.25  # seconds after the last key before the preview renders again
READ_ONLY = "Read-only: only admins change settings"


class InfoScreen(ModalScreen[None]):
    """A read-only page (a workflow, R-T5); escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss(None)", "Close", id="settings.info_close"),
        Binding("j,down", "scroll(1)", "Down", show=False, id="settings.info_down"),
        Binding("k,up", "scroll(-1)", "Up", show=False, id="settings.info_up"),
    ]

    def __init__(self, title: str, body: Content) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog settings-info"):
            yield Label(Content(line(self.title_text)), classes="dialog-title")
            with VerticalScroll(id="info-body"):
                yield Static(self.body, id="info-text")
            yield Label(
                Content.from_markup(
                    "[$text-muted]Read-only view · $close closes[/]",
                    close=key_for(self, "settings.info_close"),
                )
            )

    def action_scroll(self, step: int) -> None:
        self.query_one("#info-body", VerticalScroll).scroll_relative(y=step, animate=False)


# The settings screen gives the editor these: load the variables of a ticket (None: the newest)
# and save (name, subject, body, close-on-success).
LoadPreview = Callable[[int | None], Awaitable[dict[str, Any]]]
SaveTemplate = Callable[[str, str, str, Callable[[], Any]], None]


class TemplateEditor(ModalScreen[None]):
    """Edit a template's subject and body with a live preview against a real ticket (B7)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,ctrl+j", "save", "Save", priority=True, id="settings.template_save"),
        Binding(
            "ctrl+o", "pick_ticket", "Preview ticket", priority=True, id="settings.template_ticket"
        ),
        Binding("escape", "close", "Close", id="settings.template_close"),
    ]

    def __init__(
        self,
        *,
        name: str | None,
        subject: str,
        body: str,
        read_only: bool,
        load_preview: LoadPreview,
        save: SaveTemplate,
        taken: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.template_name = name
        self.original = (name or "", subject, body)
        self.subject = subject
        self.body = body
        self.read_only = read_only
        self.load_preview = load_preview
        self.save_template = save
        self.taken = taken
        self.variables: dict[str, Any] | None = None
        self.error: str | None = None
        self.preview_ticket: int | None = None
        self.rendered = False  # tests: the first preview is on screen
        self._timer: Timer | None = None

    # --- layout -------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if self.template_name is None:
            title = "New template"
        else:
            title = f"Template “{line(self.template_name)}”"
        if self.read_only:
            title += f" · {READ_ONLY}"
        with Vertical(classes="dialog template-editor"):
            yield Label(Content(title), classes="dialog-title", id="template-title")
            if self.template_name is None:
                with Horizontal(classes="template-field"):
                    yield Label("Name    ", classes="template-label")
                    yield Input(placeholder="template name", id="template-name", compact=True)
            with Horizontal(classes="template-field"):
                yield Label("Subject ", classes="template-label")
                yield Input(
                    self.subject,
                    placeholder="subject (Jinja2)",
                    id="template-subject",
                    compact=True,
                    disabled=self.read_only,
                )
            yield TextArea(
                self.body,
                id="template-body",
                soft_wrap=True,
                read_only=self.read_only,
                show_line_numbers=False,
            )
            yield Label("", id="template-preview-title")
            with VerticalScroll(id="template-preview"):
                yield Static("", id="template-preview-text")
            yield Label("", id="template-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        first = "#template-name" if self.template_name is None else "#template-body"
        self.query_one(first).focus()
        self._load_variables(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "save" and self.read_only)  # a rep reads, never saves

    # --- preview ------------------------------------------------------------------------------

    @work(group="template-variables", exclusive=True)
    async def _load_variables(self, number: int | None) -> None:
        try:
            found = await self.load_preview(number)
        except Exception as exc:  # an unknown ticket number: say so, keep the old preview
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.variables = found["variables"]
        self.preview_ticket = found.get("ticket")
        if found.get("ticket") is None:
            what = "sample values (no ticket yet)"
        else:
            what = f"ticket #{found['ticket']} “{line(found.get('subject'))}”"
        self.query_one("#template-preview-title", Label).update(
            Content.from_markup(
                "[b]Preview[/b] [$text-muted]against $what · $key another ticket[/]",
                what=what,
                key=key_for(self, "settings.template_ticket"),
            )
        )
        self._render_preview()

    @on(Input.Changed, "#template-subject")
    def _subject_changed(self, event: Input.Changed) -> None:
        self.subject = event.value
        self._schedule()

    @on(TextArea.Changed, "#template-body")
    def _body_changed(self, event: TextArea.Changed) -> None:
        self.body = event.text_area.text
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(PREVIEW_DELAY, self._render_preview)

    @work(group="template-preview", exclusive=True)
    async def _render_preview(self) -> None:
        if self.variables is None:
            return
        subject, body, variables = self.subject, self.body, self.variables
        try:
            # A thread: a heavy template must not freeze the screen.
            done = await asyncio.to_thread(render, subject, body, variables)
        except TemplateRenderError as exc:
            self._show(None, str(exc))
        else:
            self._show(f"Subject: {done.subject}\n\n{done.body}", None)

    def _show(self, text: str | None, error: str | None) -> None:
        self.error = error
        if text is not None:
            self.query_one("#template-preview-text", Static).update(Content(block(text)))
        else:
            self.query_one("#template-preview-text", Static).update(
                Content.from_markup("[$text-muted](no preview: the template has an error)[/]")
            )
        label = self.query_one("#template-error", Label)
        if error:
            label.update(Content.from_markup("[b $text-error]Error:[/] $error", error=line(error)))
        else:
            label.update(Content.from_markup("[$text-success]Renders without errors.[/]"))
        self.rendered = True

    def action_pick_ticket(self) -> None:
        def chosen(text: str | None) -> None:
            if text is None:
                return
            text = text.strip().lstrip("#")
            if text and not text.isdigit():
                self.notify("A ticket number, like 42.", severity="warning")
                return
            self._load_variables(int(text) if text else None)

        self.app.push_screen(
            PromptScreen("Preview against ticket number", placeholder="empty: the newest ticket"),
            chosen,
        )

    # --- save and close -----------------------------------------------------------------------

    def _typed_name(self) -> str:
        if self.template_name is not None:
            return self.template_name
        return " ".join(self.query_one("#template-name", Input).value.split())

    def action_save(self) -> None:
        if self.read_only:
            self.notify(READ_ONLY, severity="warning")
            return
        name = self._typed_name()
        if not name:
            self.notify("The template needs a name.", severity="warning")
            return
        if self.template_name is None and name.casefold() in self.taken:
            self.notify(
                f"A template named “{name}” exists already.", severity="warning", markup=False
            )
            return
        if not self.subject.strip() or not self.body.strip():
            self.notify("A template needs a subject and a body.", severity="warning")
            return
        if self.variables is not None:
            try:
                render(self.subject, self.body, self.variables)
            except TemplateRenderError as exc:  # B7: never save what does not render
                self._show(None, str(exc))
                self.notify(f"Not saved: {exc}", severity="warning", markup=False)
                return
        self.save_template(name, self.subject, self.body, lambda: self.dismiss(None))

    def _changed(self) -> bool:
        name = self._typed_name() if self.template_name is None else self.template_name
        return (name, self.subject, self.body) != self.original

    def action_close(self) -> None:
        if self.read_only or not self._changed():
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmScreen("Discard the changes to this template?"), answered)
