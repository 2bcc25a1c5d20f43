"""The settings screen's snippets (issue 12; SPEC D10, D18): the shared ones and the user's own,
edited in the template editor with its live preview, checked and linted (the newest tickets, one
with empty optional fields, a conversation without a ticket) before saving. Admins keep the shared
snippets; a rep edits their own and reads the shared ones."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work
from textual.content import Content
from textual.widgets import Input, Label

from app.screens.dialogs import ConfirmScreen
from app.screens.settings.host import SettingsHost
from app.screens.settings.rows import Hint, Row, hint
from app.screens.template_editor import TemplateEditor
from automation import snippets
from automation.templates import TemplateRenderError
from widgets.text import block, line


class SnippetRow(Row):
    kind = "snippet"
    KEYS = (
        hint("edit with live preview", "settings.edit"),
        hint("delete", "settings.delete"),
        hint("new snippet", "settings.new"),
        Hint((), "open", fixed="enter"),
    )

    @classmethod
    def of(cls, snippet: dict[str, Any]) -> SnippetRow:
        prompt = Content.from_markup(
            "$name [$text-muted]$kind[/]",
            name=line(snippet["name"]),
            kind="shared" if snippet["shared"] else "yours",
        )
        return cls(f"snippet:{snippet['id']}", prompt, snippet)

    def explain(self) -> list[Content]:
        d = self.data
        whose = (
            "Shared (admins keep it)" if d["shared"] else "Yours (over a shared one of its name)"
        )
        return [
            Content.from_markup("[b]$name[/b]", name=line(d["name"])),
            Content.from_markup("[$text-muted]$whose[/]", whose=whose),
            Content(block(d["body"])),
        ]

    def open(self, screen: SettingsHost) -> None:
        open_snippet(screen, self.data)

    def edit(self, screen: SettingsHost) -> None:
        open_snippet(screen, self.data)

    def new(self, screen: SettingsHost) -> None:
        open_snippet(screen, None)

    def delete(self, screen: SettingsHost) -> None:
        screen.ask(self._delete(screen))

    async def _delete(self, screen: SettingsHost) -> None:
        name, shared = self.data["name"], self.data["shared"]
        if not await screen.app.push_screen_wait(
            ConfirmScreen(f"Delete the snippet {line(name)}?")
        ):
            return
        screen.change(
            lambda repo, me: snippets.delete(repo, me, name, shared=shared),
            f"Snippet {line(name)} deleted",
        )


def open_snippet(screen: SettingsHost, snippet: dict[str, Any] | None) -> None:
    """The editor on a snippet (a new one: shared for an admin, else the rep's own)."""
    shared = snippet["shared"] if snippet is not None else screen.me.is_admin
    read_only = shared and not screen.me.is_admin

    async def load_preview(number: int | None) -> dict[str, Any]:
        def read(repo: Any, user: Any) -> dict[str, Any]:
            ticket = repo.ticket(number) if number else repo.latest_ticket()
            variables = snippets.variables_for(repo, user, ticket=ticket)
            if ticket is None:
                return {"variables": variables, "ticket": None}
            return {"variables": variables, "ticket": ticket.id, "subject": ticket.subject}

        return await screen.backend.read(read)

    async def lint(subject: str, body: str) -> list[str]:
        samples, budget = await screen.backend.read(snippets.lint_samples)
        return await asyncio.to_thread(snippets.lint, body, samples, budget)

    def save(name: str, subject: str, body: str, close: Any) -> None:
        def saved(_: Any) -> None:
            close()

        screen.change(
            lambda repo, me: snippets.save(repo, me, name, body, shared=shared),
            f"Snippet {line(name)} saved",
            after=saved,
        )

    screen.app.push_screen(
        SnippetEditor(
            name=snippet["name"] if snippet is not None else None,
            subject="",
            body=snippet["body"] if snippet is not None else "",
            read_only=read_only,
            load_preview=load_preview,
            save=save,
            lint=lint,
        )
    )


class SnippetEditor(TemplateEditor):
    """The template editor for a snippet: a body only, checked against the snippets' variables
    (with `me`) and previewed in a worker within the render budget."""

    def on_mount(self) -> None:
        subject = self.query_one("#template-subject", Input)
        if subject.parent is not None:
            subject.parent.display = False
        title = f"Snippet “{line(self.template_name)}”" if self.template_name else "New snippet"
        self.query_one("#template-title", Label).update(Content(title))
        super().on_mount()

    @work(group="template-preview", exclusive=True)
    async def _render_preview(self) -> None:
        if self.variables is None:
            return
        body, variables = self.body, self.variables
        problems = snippets.problems(body)
        if problems:
            self._show(None, "; ".join(problems))
            return
        try:
            done = await asyncio.to_thread(snippets.render, body, variables)
        except TemplateRenderError as exc:
            self._show(None, str(exc))
        else:
            self._show(done, None)

    def action_save(self) -> None:
        if self.read_only:
            super().action_save()
            return
        name = self._typed_name()
        try:
            snippets.checked_name(name)
        except Exception as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if not self.body.strip():
            self.notify("A snippet needs a text.", severity="warning")
            return
        if not self.saving:
            self._save(name, "", self.body)

    @work(group="template-save", exclusive=True)
    async def _save(self, name: str, subject: str, body: str) -> None:
        """D10: never save what names an unknown variable or fails for a sample."""
        self.saving = True
        try:
            problems = snippets.problems(body) or await self.lint_template("", body)
        finally:
            self.saving = False
        if problems:
            self._show(None, "; ".join(problems))
            self.notify(f"Not saved: {problems[0]}", severity="warning", markup=False)
            return
        self.save_template(name, "", body, lambda: self.dismiss(None))
