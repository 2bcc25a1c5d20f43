"""The template editor: subject and body with a live preview against a real ticket (B7, D10).

Every name the template uses is checked against the variables the renderer offers as it is typed
(the static check reads every branch, not only the one the preview ticket takes); a picker lists
those variables with what each is and inserts one at the cursor. The preview renders in a worker
process within the render budget. On an error the preview keeps the last good render beside the
message. Saving runs the check and the lint (the newest tickets and one with empty optional
fields) and refuses what fails. Everything a template holds is shown as typed (SPEC §7): it is
never parsed as markup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Static, TextArea

from app.backend import backend_of
from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.keys import key_for
from app.screens.settings_dialogs import READ_ONLY
from automation.render_worker import render_within
from automation.template_check import check_template, known_variables
from automation.templates import TemplateRenderError
from storage.repository import SqlRepository
from widgets.text import block, line

TYPE_A_NUMBER = "type"  # the picker's last choice: a ticket number typed by hand
RECENT_TICKETS = 20  # the preview picker lists this many of the newest tickets
# The ticket each session previews against, once picked (None: the newest).
PREVIEW_TICKETS: WeakKeyDictionary[App[Any], int] = WeakKeyDictionary()
PREVIEW_DELAY = 0.25  # seconds after the last key before the preview renders again

# The settings screen gives the editor these: load the variables of a ticket (None: the newest),
# lint a template (its problems, one line each; none when it may be saved) and save (name,
# subject, body, close-on-success).
LoadPreview = Callable[[int | None], Awaitable[dict[str, Any]]]
LintTemplate = Callable[[str, str], Awaitable[list[str]]]
SaveTemplate = Callable[[str, str, str, Callable[[], Any]], None]


async def _no_lint(subject: str, body: str) -> list[str]:
    return []


class TemplateEditor(ModalScreen[None]):
    """Edit a template's subject and body with a live preview against a real ticket (B7)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,ctrl+j", "save", "Save", priority=True, id="settings.template_save"),
        Binding(
            "ctrl+o", "pick_ticket", "Preview ticket", priority=True, id="settings.template_ticket"
        ),
        Binding(
            "ctrl+t",
            "pick_variable",
            "Insert variable",
            priority=True,
            id="settings.template_variable",
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
        lint: LintTemplate = _no_lint,
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
        self.lint_template = lint
        self.taken = taken
        self.variables: dict[str, Any] | None = None
        self.error: str | None = None
        self.last_good: str | None = None  # the preview text of the last render without error
        self.preview_ticket: int | None = None
        self.rendered = False  # tests: the first preview is on screen
        self.saving = False
        self._timer: Timer | None = None
        self._insert_into: Widget | None = None

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
        self._load_variables(PREVIEW_TICKETS.get(self.app))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # a rep reads, never saves nor inserts
        return not (action in ("save", "pick_variable") and self.read_only)

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
        if number is not None and self.preview_ticket == number:
            PREVIEW_TICKETS[self.app] = number  # the next editor of this session opens on it
        if found.get("ticket") is None:
            what = "sample values (no ticket yet)"
        else:
            what = f"ticket #{found['ticket']} “{line(found.get('subject'))}”"
        self.query_one("#template-preview-title", Label).update(
            Content.from_markup(
                "[b]Preview[/b] [$text-muted]against $what · $key another ticket · "
                "$variable a variable[/]",
                what=what,
                key=key_for(self, "settings.template_ticket"),
                variable=key_for(self, "settings.template_variable"),
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
        problems = check_template(subject, body)  # every branch, not only this ticket's
        if problems:
            self._show(None, "; ".join(problems))
            return
        try:
            # A worker process within the render budget: a runaway template cannot freeze
            # the screen or the desk.
            done = await asyncio.to_thread(render_within, subject, body, variables)
        except TemplateRenderError as exc:
            self._show(None, str(exc))
        else:
            self._show(f"Subject: {done.subject}\n\n{done.body}", None)

    def _show(self, text: str | None, error: str | None) -> None:
        self.error = error
        preview = self.query_one("#template-preview-text", Static)
        if text is not None:
            self.last_good = text
            preview.update(Content(block(text)))
        elif self.last_good is not None:
            preview.update(
                Content.assemble(
                    Content.from_markup("[$text-muted](the last render without errors)[/]\n\n"),
                    Content(block(self.last_good)),
                )
            )
        else:
            preview.update(
                Content.from_markup("[$text-muted](no preview: the template has an error)[/]")
            )
        label = self.query_one("#template-error", Label)
        if error:
            label.update(Content.from_markup("[b $text-error]Error:[/] $error", error=line(error)))
        else:
            label.update(Content.from_markup("[$text-success]Renders without errors.[/]"))
        self.rendered = True

    def action_pick_ticket(self) -> None:
        self._pick_ticket()

    @work(group="template-ticket", exclusive=True)
    async def _pick_ticket(self) -> None:
        """The ticket to preview against, picked from the newest tickets (or typed: any
        number); the choice holds for the rest of the session."""
        recent = await backend_of(self.app).query(recent_tickets)
        choices: list[tuple[str, int | str]] = [
            (f"#{number} {line(subject)}", number) for number, subject in recent
        ]
        choices.append(("Another ticket: type its number…", TYPE_A_NUMBER))
        picked = await self.app.push_screen_wait(
            PickerScreen("Preview against ticket", choices, self.preview_ticket)
        )
        if picked == TYPE_A_NUMBER:
            typed = await self.app.push_screen_wait(
                PromptScreen("Preview against ticket number", placeholder="42")
            )
            text = (typed or "").strip().lstrip("#")
            if text and not text.isdigit():
                self.notify("A ticket number, like 42.", severity="warning")
                return
            picked = int(text) if text else None
        if isinstance(picked, int):
            self._load_variables(picked)

    # --- the variable picker ------------------------------------------------------------------

    def action_pick_variable(self) -> None:
        """A list of the variables the template may use, with what each is; enter inserts the
        chosen one at the cursor of the subject or the body (the body when neither had focus)."""
        focused = self.focused
        subject = self.query_one("#template-subject", Input)
        self._insert_into = subject if focused is subject else None
        choices = [(f"{name} — {what}", name) for name, what in known_variables()]
        self.app.push_screen(
            PickerScreen("Insert a variable (enter inserts it at the cursor)", choices),
            self._insert_variable,
        )

    def _insert_variable(self, name: str | None) -> None:
        target = self._insert_into
        if name is None:
            (target or self.query_one("#template-body", TextArea)).focus()
            return
        text = "{{ " + name + " }}"
        if isinstance(target, Input):
            target.insert_text_at_cursor(text)
            target.focus()
            return
        area = self.query_one("#template-body", TextArea)
        area.insert(text)
        area.focus()

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
        if not self.saving:
            self._save(name, self.subject, self.body)

    @work(group="template-save", exclusive=True)
    async def _save(self, name: str, subject: str, body: str) -> None:
        """B7, D10: never save what names an unknown variable or fails for a recent ticket."""
        self.saving = True
        try:
            problems = check_template(subject, body) or await self.lint_template(subject, body)
        finally:
            self.saving = False
        if problems:
            self._show(None, "; ".join(problems))
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            self.notify(f"Not saved: {problems[0]}{more}", severity="warning", markup=False)
            return
        self.save_template(name, subject, body, lambda: self.dismiss(None))

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


def recent_tickets(session: Session) -> list[tuple[int, str]]:
    """The newest tickets, number and subject, for the preview picker."""
    return [(t.id, t.subject) for t in SqlRepository(session).newest_tickets(RECENT_TICKETS)]
