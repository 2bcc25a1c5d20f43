"""What the composer adds to a rep's email besides the text (issue 12; SPEC D15, D16, D18):

- To, Cc and Bcc lines, filled with the contact and the thread's others (D16) and editable; a bad
  address keeps the composer open and names it. Bcc goes in the envelope only.
- Attached files, listed numbered under the text: `ctrl+o` opens a file picker (several files,
  one at a time), `ctrl+b` removes one. They are kept with the draft (D18) until it is sent.
  Over SSH (`deskline serve`, S3) the server's files are not the rep's: no picker.
- On a live chat (SPEC C4) none of this: the reply goes over the live connection to the
  visitor's browser, never by email, so the composer says so instead of showing addresses,
  the subject and files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label

from app.screens.dialogs import PromptScreen
from automation import recipients
from automation.chat import is_chat
from automation.recipients import Addressing
from mail.attach import AttachError, read_attachment
from mail.compose import OutgoingAttachment
from mail.model import Address
from mail.recipients import RecipientError, format_recipients, parse_recipients
from runtime import files
from storage import draft_files
from widgets.file_picker import FilePicker
from widgets.text import line

if TYPE_CHECKING:
    from app.backend import Backend

# Not in the footer (80 columns): the files line names them, and the palette lists them.
MAIL_BINDINGS = [
    Binding("ctrl+o", "attach", "Attach file", show=False, priority=True, id="compose.attach"),
    Binding("ctrl+b", "detach", "Remove file", show=False, priority=True, id="compose.detach"),
]
NO_PICKER = (
    "Over SSH there is no file picker: the desk's files are not yours to send. "
    "Attach files from Deskline on your own machine, or with `deskline reply --attach`."
)
FIELDS = (("To", "compose-to"), ("Cc", "compose-cc"), ("Bcc", "compose-bcc"))
LIVE = "Live chat: your reply goes to the visitor's chat, not by email."
NO_FILES_IN_CHAT = "A chat takes no files: send a link, or email the visitor separately."


class MailFields:
    """Mixed into the composer, which has `draft`, `backend`, `notify`, `query_one`, `app`."""

    draft: Any
    if TYPE_CHECKING:

        @property
        def backend(self) -> Backend: ...

    attached: list[tuple[int | None, OutgoingAttachment]]
    default_to: str = ""
    default_cc: str = ""
    is_chat: bool = False  # C4: the reply goes over the live chat, never by email

    def mail_fields(self) -> ComposeResult:
        self.attached = []
        live = Label(Content.from_markup("[$text-accent]$text[/]", text=LIVE), id="compose-live")
        live.display = False
        yield live
        for name, widget_id in FIELDS:
            with Horizontal(classes="compose-field", id=f"{widget_id}-row"):
                yield Label(f"{name}:", classes="compose-field-name")
                yield Input("", id=widget_id, compact=True)
        yield Label("", id="compose-files")

    def show_mail_fields(self) -> None:
        """Notes are never mailed: no addresses, no files."""
        mailed = self.draft.kind != "note"
        for _, widget_id in FIELDS:
            self.query_one(f"#{widget_id}-row").display = mailed  # type: ignore[attr-defined]
        self.query_one("#compose-files").display = mailed  # type: ignore[attr-defined]
        if mailed:
            self.load_mail_fields()

    @work(group="mail-fields")
    async def load_mail_fields(self) -> None:
        draft, me = self.draft, self.backend.me
        found: list[tuple[tuple[Address, ...], tuple[Address, ...]]] = []
        chat: list[bool] = []

        def defaults(repo: Any) -> None:  # a read; `store` is the repository path the app has
            found.append(recipients.reply_defaults(repo, draft.ticket, draft.conversation))
            chat.append(_goes_to_chat(repo, draft.ticket, draft.conversation))

        await self.backend.store(defaults)
        if chat[0]:
            self.show_live_chat()
            return
        to, cc = found[0]
        self.default_to, self.default_cc = format_recipients(to), format_recipients(cc)
        self.query_one("#compose-to", Input).value = self.default_to  # type: ignore[attr-defined]
        self.query_one("#compose-cc", Input).value = self.default_cc  # type: ignore[attr-defined]
        kept = await self.backend.query(lambda s: draft_files.listed(s, me.id, draft.scope))
        self.attached = [(i, OutgoingAttachment(n, t, d)) for i, n, t, d in kept]
        self._show_files()

    def show_live_chat(self) -> None:
        """C4: no addresses, subject or files on a chat; one line says where the reply goes."""
        self.is_chat = True
        for _, widget_id in FIELDS:
            self.query_one(f"#{widget_id}-row").display = False  # type: ignore[attr-defined]
        self.query_one("#compose-files").display = False  # type: ignore[attr-defined]
        self.query_one("#compose-live").display = True  # type: ignore[attr-defined]
        heading = self.query_one("#compose-subject", Label)  # type: ignore[attr-defined]
        number = f"#{self.draft.ticket}" if self.draft.ticket else "no ticket"
        heading.update(Content.from_markup("[$text-muted]$n · live chat[/]", n=number))

    def addressing(self) -> Addressing:
        """What the fields say; RecipientError names a bad address."""
        if self.draft.kind == "note" or self.is_chat:
            return Addressing()
        typed = {
            name: self.query_one(f"#{widget_id}", Input).value  # type: ignore[attr-defined]
            for name, widget_id in FIELDS
        }
        to = None
        if typed["To"].strip() != self.default_to.strip():
            to = parse_recipients(typed["To"], field="To")
            if not to:
                raise RecipientError("To: the email needs at least one address")
        cc = None
        if typed["Cc"].strip() != self.default_cc.strip():
            cc = parse_recipients(typed["Cc"], field="Cc")
        return Addressing(
            to=to,
            cc=cc,
            bcc=parse_recipients(typed["Bcc"], field="Bcc"),
            attachments=tuple(a for _, a in self.attached),
        )

    def forget_files(self, repo: Any) -> None:
        """Sent: the draft's files go with it, in the sending transaction."""
        draft_files.clear(repo.session, self.backend.me.id, self.draft.scope)

    # --- files ----------------------------------------------------------------------------------

    def action_attach(self) -> None:
        if self.draft.kind == "note":
            self.notify("Notes are never mailed: nothing to attach to.", severity="warning")  # type: ignore[attr-defined]
            return
        if self.is_chat:
            self.notify(NO_FILES_IN_CHAT, severity="warning", markup=False)  # type: ignore[attr-defined]
            return
        if files.server_files_refused():
            self.notify(NO_PICKER, severity="warning", markup=False, timeout=8)  # type: ignore[attr-defined]
            return
        self._pick()

    @work(group="attach")
    async def _pick(self) -> None:
        start = Path(os.environ.get("DESKLINE_ATTACH_DIR") or Path.cwd())
        chosen = await self.app.push_screen_wait(FilePicker(start))  # type: ignore[attr-defined]
        if chosen is None:
            return
        await self.attach_path(chosen)

    async def attach_path(self, path: Path) -> None:
        """Read the file now (its bytes are what will be sent) and keep it with the draft."""
        try:
            attachment = read_attachment(path)
        except AttachError as exc:
            self.notify(str(exc), severity="error", markup=False)  # type: ignore[attr-defined]
            return
        draft, me = self.draft, self.backend.me

        def keep(repo: Any) -> None:
            a = attachment
            kept.append(
                draft_files.add(
                    repo.session,
                    me.id,
                    draft.scope,
                    a.filename,
                    a.content_type,
                    a.data,
                    added_at=repo.now(),
                )
            )

        kept: list[int] = []
        await self.backend.store(keep)
        self.attached.append((kept[0] if kept else None, attachment))
        self._show_files()
        self.notify(f"Attached {line(attachment.filename)}", timeout=2, markup=False)  # type: ignore[attr-defined]

    def action_detach(self) -> None:
        if not self.attached:
            self.notify("No file attached.", timeout=2)  # type: ignore[attr-defined]
            return
        if len(self.attached) == 1:
            self._remove(1)
            return
        self._ask_which()

    @work(group="detach")
    async def _ask_which(self) -> None:
        count = len(self.attached)

        def check(text: str) -> str | None:
            ok = text.strip().isdigit() and 1 <= int(text) <= count
            return None if ok else f"a number from 1 to {count}"

        answer = await self.app.push_screen_wait(  # type: ignore[attr-defined]
            PromptScreen(f"Remove which file (1-{count})?", check=check)
        )
        if answer:
            self._remove(int(answer))

    def _remove(self, number: int) -> None:
        row_id, attachment = self.attached.pop(number - 1)
        if row_id is not None:
            me = self.backend.me
            self._forget(row_id, me.id)
        self._show_files()
        self.notify(f"Removed {line(attachment.filename)}", timeout=2, markup=False)  # type: ignore[attr-defined]

    @work(group="detach-store")
    async def _forget(self, row_id: int, user_id: int) -> None:
        await self.backend.store(lambda repo: draft_files.remove(repo.session, user_id, row_id))

    def _show_files(self) -> None:
        label = self.query_one("#compose-files", Label)  # type: ignore[attr-defined]
        if not self.attached:
            label.update(Content.styled("No files · ctrl+o attaches one", "dim"))
            return
        rows = [
            f"{n}. {line(a.filename)} ({a.content_type}, {_size(len(a.data))})"
            for n, (_, a) in enumerate(self.attached, 1)
        ]
        label.update(Content("Files: " + " · ".join(rows) + "  (ctrl+o adds, ctrl+b removes)"))


def _goes_to_chat(repo: Any, ticket_number: int | None, conversation_id: int | None) -> bool:
    """Is the conversation a reply goes to (the one chosen, else the ticket's origin) a live
    chat (C4)."""
    if conversation_id is None and ticket_number is not None:
        ticket = repo.ticket(ticket_number)
        conversation_id = ticket.origin_conversation_id if ticket is not None else None
    if conversation_id is None:
        return False
    return is_chat(repo.conversation(conversation_id))


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count / 1024 / 1024:.1f} MB"
