"""What the composer adds to a rep's text (issue 12; SPEC D10, D18): snippets and the signature.

- `ctrl+n`, or typing `::` at the start of a word, opens the snippet picker; the chosen snippet is
  rendered for this ticket (or ticketless conversation) in a worker within the render budget and
  inserted at the cursor. Several per reply.
- The signature that applies (rep on the channel, rep, channel) is shown under the text, rendered;
  `ctrl+g` leaves it off this one message (and puts it back). It is added when the email is sent,
  after the text and before quoted text (`automation.signatures.place`); notes never get one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding
from textual.content import Content
from textual.widgets import Label, TextArea

from app.screens.snippet_picker import SnippetPicker
from automation import signatures, snippets
from automation.templates import TemplateRenderError
from runtime import reply_text
from widgets.text import line

if TYPE_CHECKING:
    from app.backend import Backend

EXTRA_BINDINGS = [
    # Not in the footer (80 columns hold the composer's own keys): the line under the text
    # names them, and the palette lists them.
    Binding("ctrl+n", "snippet", "Snippet", show=False, priority=True, id="compose.snippet"),
    Binding(
        "ctrl+g", "signature", "Signature on/off", show=False, priority=True, id="compose.signature"
    ),
    Binding(
        "ctrl+r", "markdown", "Markdown on/off", show=False, priority=True, id="compose.markdown"
    ),
]
HINT = "ctrl+n or :: snippet · ctrl+g signature · ctrl+r Markdown"
TRIGGER = "::"


class ReplyExtras:
    """Mixed into the composer, which has `draft`, `backend`, `notify`, `query_one`, `app`."""

    draft: Any
    if TYPE_CHECKING:

        @property
        def backend(self) -> Backend: ...

    signature: str | None = None  # rendered; None: none applies (or a note)
    signature_on: bool = True
    markdown: bool = False  # sent with a text/html alternative rendered from Markdown
    picking: bool = False

    def extras_label(self) -> Label:
        label = Label(Content.styled(HINT, "dim"), id="compose-signature")
        return label

    # --- the signature ---------------------------------------------------------------------------

    @work(group="signature")
    async def load_signature(self) -> None:
        if self.draft.kind == "note":
            return
        try:
            sources = await self._sources(signature=True)
            self.signature = await reply_text.render_signature(sources)
        except Exception as exc:  # said, never blocks writing (a render error, no ticket)
            self.notify(f"Signature not added: {exc}", severity="warning", markup=False)  # type: ignore[attr-defined]
            self.signature = None
        self._show_signature()

    def _show_signature(self) -> None:
        label = self.query_one("#compose-signature", Label)  # type: ignore[attr-defined]
        parts: list[str | tuple[str, str]] = [(HINT + "\n", "dim")]
        if self.markdown:
            parts.append(("Markdown: sent formatted too (ctrl+r: plain text only)\n", "bold"))
        if self.signature is not None and self.signature_on:
            shown = "\n".join(line(row) for row in self.signature.splitlines()[:3])
            parts += [("-- \n" + shown, "dim"), ("  (ctrl+g leaves it off)", "dim")]
        elif self.signature is not None:
            parts.append("No signature on this message (ctrl+g puts it back).")
        label.update(Content.assemble(*parts))

    def action_markdown(self) -> None:
        if self.draft.kind == "note" or self.draft.ticket is None:
            self.notify("Markdown is for replies on a ticket.", severity="warning")  # type: ignore[attr-defined]
            return
        self.markdown = not self.markdown
        self._show_signature()

    def action_signature(self) -> None:
        if self.signature is None:
            self.notify("No signature applies here: `deskline signature set` adds one.")  # type: ignore[attr-defined]
            return
        self.signature_on = not self.signature_on
        self._show_signature()

    def signed(self, text: str) -> str:
        """The text as it is sent: with the signature unless left off (never on notes)."""
        if self.draft.kind == "note" or not self.signature_on:
            return text
        return signatures.place(text, self.signature)

    # --- snippets --------------------------------------------------------------------------------

    def check_trigger(self) -> None:
        """`::` typed at the start of a word opens the picker (the two colons go)."""
        area = self.query_one(TextArea)  # type: ignore[attr-defined]
        row, column = area.cursor_location
        before = area.document.get_line(row)[:column]
        if self.picking or not before.endswith(TRIGGER):
            return
        start = before[: -len(TRIGGER)]
        if start and not start[-1].isspace():
            return
        area.delete((row, column - len(TRIGGER)), (row, column))
        self.action_snippet()

    def action_snippet(self) -> None:
        if not self.picking:
            self.picking = True
            self._pick_snippet()

    @work(group="snippet-pick")
    async def _pick_snippet(self) -> None:
        try:
            found = await self.backend.read(snippets.visible)
            chosen = await self.app.push_screen_wait(SnippetPicker(found))  # type: ignore[attr-defined]
            if chosen is None:
                return
            try:
                sources = await self._sources(signature=False)
                text = await reply_text.render_snippet(sources, chosen.body)
            except TemplateRenderError as exc:
                self.notify(  # type: ignore[attr-defined]
                    f"Snippet {chosen.name} not inserted: {exc}", severity="error", markup=False
                )
                return
            area = self.query_one(TextArea)  # type: ignore[attr-defined]
            area.insert(text)
            area.focus()
        finally:
            self.picking = False

    async def _sources(self, *, signature: bool) -> reply_text.Sources:
        draft = self.draft
        return await self.backend.read(
            lambda repo, user: reply_text.read_sources(
                repo,
                user,
                ticket=draft.ticket,
                conversation=draft.conversation,
                signature=signature,
            )
        )
