"""The composer: a reply from the ticket or the contact record, or an internal note.

What is typed is saved as a draft in the database (a second after the last key, on escape, and
when the composer closes with the app: quitting or a dropped SSH session), so a crash or a closed
terminal loses nothing; sending removes the draft in the same transaction.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Label, TextArea

from app.backend import Backend, backend_of
from app.screens.base import EXPECTED
from app.screens.compose_extras import EXTRA_BINDINGS, ReplyExtras
from app.screens.compose_mail import MAIL_BINDINGS, MailFields
from app.screens.dialogs import ConfirmScreen
from automation import services
from mail.recipients import RecipientError
from storage import coordination_views, views
from widgets.text import line, stamp

# Words only: rule codes stay in comments (R-T1: a ticket-record reply moves the ticket; E3).
TITLES = {
    "ticket": "Reply from the ticket record (moves the ticket)",
    "contact": "Email from the contact record (no status change)",
    "note": "Internal note (never mailed)",
}


log = logging.getLogger("deskline.app")


@dataclass(frozen=True)
class Draft:
    kind: str  # ticket / contact / note
    ticket: int | None  # None: a conversation without a ticket (contact record only, SPEC D5)
    conversation: int | None = None
    subject: str = ""

    @property
    def scope(self) -> str:
        where = (
            f"conversation:{self.conversation}" if self.conversation else f"ticket:{self.ticket}"
        )
        return f"{where}:{'note' if self.kind == 'note' else 'reply'}"


class RefusedScreen(ModalScreen[None]):
    """Why a key that starts writing (a note) cannot: it stays until escape or enter, and the
    keys typed meanwhile go nowhere, so a sentence meant for the composer never reaches the list
    as commands (SPEC D5: a refused key keeps the keys where typing is safe)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Close", id="refused.close"),
    ]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content("Cannot start writing here"), classes="dialog-title")
            yield Label(Content(self.message))
            yield Label(
                Content.from_markup(
                    "[$text-muted]What you type now goes nowhere. [b]escape[/b] closes.[/]"
                )
            )


class ComposeScreen(MailFields, ReplyExtras, ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,ctrl+j", "send", "Send", priority=True, id="compose.send"),
        Binding("ctrl+e", "editor", "$EDITOR", priority=True, id="compose.editor"),
        Binding(
            "ctrl+t", "toggle_record", "Ticket/contact record", priority=True, id="compose.record"
        ),
        Binding("escape", "keep", "Keep draft, close", id="compose.keep"),
        *MAIL_BINDINGS,
        *EXTRA_BINDINGS,
    ]

    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.draft = draft
        self._save_timer: Timer | None = None
        self._unsaved: str | None = None  # typed since the last save
        self.sending = False
        self.began = datetime.now(UTC)  # what reached the conversation since is shown first

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog composer"):
            yield Label("", id="compose-title", classes="dialog-title")
            yield Label(
                Content.from_markup(
                    "[$text-muted]$number · $subject[/]",
                    number=f"#{self.draft.ticket}" if self.draft.ticket else "no ticket",
                    subject=line(self.draft.subject),
                ),
                id="compose-subject",
            )
            yield from self.mail_fields()
            yield TextArea(id="compose-body", soft_wrap=True, show_line_numbers=False)
            yield self.extras_label()
        yield Footer()

    @property
    def backend(self) -> Backend:
        return backend_of(self.app)

    def on_mount(self) -> None:
        self._show_title()
        self.query_one(TextArea).focus()
        self._load_draft()
        self.show_mail_fields()
        self.load_signature()

    def _show_title(self) -> None:
        self.query_one("#compose-title", Label).update(Content(TITLES[self.draft.kind]))

    @work(group="draft")
    async def _load_draft(self) -> None:
        me, scope = self.backend.me, self.draft.scope
        text = await self.backend.query(lambda s: views.draft(s, me.id, scope))
        if text:
            area = self.query_one(TextArea)
            area.load_text(text)
            area.move_cursor(area.document.end)
            self.notify("Your saved draft is back.", timeout=2)

    @on(TextArea.Changed)
    def _typed(self, event: TextArea.Changed) -> None:
        self._unsaved = event.text_area.text
        self.check_trigger()
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(1.0, self._save)

    def _save(self) -> None:
        if not self.sending and self._unsaved is not None:
            self.save_draft(self._unsaved)

    @work(group="draft-save")
    async def save_draft(self, text: str) -> None:
        await self._store_draft(text)
        if self._unsaved == text:  # kept until stored: closing now would cancel this save
            self._unsaved = None

    async def _store_draft(self, text: str) -> None:
        me, scope = self.backend.me, self.draft.scope
        await self.backend.store(lambda repo: repo.save_draft(me.id, scope, text))

    def action_keep(self) -> None:
        """Close; what was typed since the last save is saved as the composer closes."""
        if self._save_timer is not None:
            self._save_timer.stop()
        if self.query_one(TextArea).text.strip():
            self.app.notify("Draft kept: reopen the composer to go on.", timeout=3)
        self.dismiss(False)

    async def on_unmount(self) -> None:
        """The composer closes (escape, or the app quitting within a second of the last key):
        the text typed since the last save is saved now, not lost with the timer."""
        text, self._unsaved = self._unsaved, None
        if text is None or self.sending:
            return
        try:
            await self._store_draft(text)
        except Exception as exc:  # the desk is gone: nothing more can be kept
            log.warning("the draft could not be saved as the composer closed: %s", exc)

    def action_toggle_record(self) -> None:
        if self.draft.kind == "note":
            return
        if self.draft.ticket is None:
            self.notify(
                "No ticket yet: this email goes from the contact record.", severity="warning"
            )
            return
        kind = "contact" if self.draft.kind == "ticket" else "ticket"
        self.draft = replace(self.draft, kind=kind)
        self._show_title()

    # ctrl+e and ctrl+s are priority keys: they run before the text area has handled the keys
    # typed just before them. Queuing the work behind those keys (call_later on the text area)
    # keeps a fast typist's or a paste's last characters in place.
    def action_editor(self) -> None:
        self.query_one(TextArea).call_later(self._run_editor)

    def _run_editor(self) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        area = self.query_one(TextArea)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as tmp:
            tmp.write(to_editor(area.text))
            path = Path(tmp.name)
        try:
            with self.app.suspend():
                result = subprocess.run([*shlex.split(editor), str(path)], check=False)
            if result.returncode == 0:
                area.load_text(from_editor(path.read_text("utf-8")))
            else:
                self.notify(
                    f"{editor} exited with {result.returncode}; text unchanged", severity="warning"
                )
        except OSError as exc:
            self.notify(f"cannot run {editor}: {exc}", severity="error", markup=False)
        finally:
            path.unlink(missing_ok=True)

    def action_send(self) -> None:
        self.query_one(TextArea).call_later(self._send_typed)

    def _send_typed(self) -> None:
        if not self.sending:
            self.sending = True
            self._send(self.query_one(TextArea).text)

    @work(group="send")
    async def _send(self, text: str) -> None:
        draft, me = self.draft, self.backend.me
        if self._save_timer is not None:
            self._save_timer.stop()
        try:
            addressing = self.addressing()  # D16: a bad address keeps the composer open
        except RecipientError as exc:
            self.sending = False
            self.notify(str(exc), severity="warning", markup=False)
            return
        sent = self.signed(text)  # D18: the signature, unless left off

        def send(repo: Any, user: Any) -> None:
            if draft.ticket is None:  # the contact record is all there is (SPEC D5, E3)
                assert draft.conversation is not None
                services.email_conversation(
                    repo, user, draft.conversation, sent, addressing=addressing
                )
            elif draft.kind == "note":
                services.add_note(repo, user, draft.ticket, text)
            else:
                services.reply(
                    repo,
                    user,
                    draft.ticket,
                    sent,
                    from_contact_record=draft.kind == "contact",
                    conversation_id=draft.conversation,
                    markdown=self.markdown,
                    addressing=addressing,
                )
            repo.discard_draft(me.id, draft.scope)
            self.forget_files(repo)

        if not await self._still_wanted(draft):
            self.sending = False
            return
        before = await self.backend.query(views.last_event_id)
        try:
            await self.backend.act(send)
        except EXPECTED as exc:
            self.sending = False
            self.notify(str(exc), severity="warning", markup=False)
            return
        number = draft.ticket
        if number is None:
            self.app.notify("Email queued to the contact.", markup=False, timeout=6)
            self.dismiss(True)
            return
        caused = await self.backend.query(lambda s: views.events_since(s, number, before))
        summary = "\n".join(line(e["summary"]) for e in caused if e["summary"]) or "Sent."
        what = "Note added" if draft.kind == "note" else "Reply queued"
        self.app.notify(summary, title=f"{what} on #{number}", markup=False, timeout=6)
        self.dismiss(True)

    async def _still_wanted(self, draft: Draft) -> bool:
        """When mail or a note reached the conversation (queued ones too) since the draft
        began, say what and ask before sending (SPEC D22); yes starts the count again."""
        since, ticket, conversation = self.began, draft.ticket, draft.conversation
        arrived = await self.backend.query(
            lambda s: coordination_views.arrived_since(
                s, since, conversation_id=conversation, ticket_id=ticket
            )
        )
        if not arrived:
            return True
        question = (
            f"Since you began writing, {len(arrived)} new in this conversation:\n"
            f"{arrived_text(arrived)}\nSend anyway?"
        )
        if not await self.app.push_screen_wait(ConfirmScreen(question)):
            self.notify("Not sent: your text stays here.", timeout=4)
            return False
        self.began = datetime.now(UTC)
        return True


def arrived_text(arrived: list[dict[str, Any]]) -> str:
    """What reached the conversation since the draft began, one line each."""
    words = {"inbound": "email from", "outbound": "reply by", "note": "note by"}
    rows = [
        f"{stamp(x['at'])} {words.get(x['direction'], x['direction'])} {line(x['from'])}"
        for x in arrived[-6:]
    ]
    more = len(arrived) - len(rows)
    return "\n".join(rows + ([f"and {more} more"] if more > 0 else []))


def to_editor(text: str) -> str:
    """The composer's text as a file for $EDITOR: ending in a newline, as a text file does, so
    an editor (or a script) that appends lines does not join the last one."""
    return text if text.endswith("\n") or not text else text + "\n"


def from_editor(text: str) -> str:
    """The edited file back in the composer, without the final newline a file ends with."""
    return text[:-1] if text.endswith("\n") else text
