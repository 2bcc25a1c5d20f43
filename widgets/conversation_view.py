"""The reading pane: one conversation, its messages oldest first, quoted history folded.

Everything from mail is inserted as plain text (`$variables` of our own markup never parse their
values), so a subject like `[@click=app.quit]` is only characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from mail.filenames import safe_filename
from widgets.text import block, line, stamp

DELIVERY_LABELS = {
    "queued": "queued",
    "sending": "sending",
    "handed": "sending (server answering)",
    "sent": "sent",
    "failed": "failed",
    "held": "held",
    "dropped": "dropped",
}


class ConversationView(VerticalScroll, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="pane.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="pane.up"),
        Binding("z", "toggle_quotes", "Quotes", id="pane.quotes"),
    ]
    DEFAULT_CSS = """
    ConversationView { height: 1fr; padding: 0 1; }
    ConversationView > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: dict[str, Any] | None = None
        self.unfolded = False
        self.highlight: str | None = None  # a regular expression: a search's words, marked

    def compose(self) -> Any:
        yield Static(Content(""), id="pane-text")

    def show(
        self,
        view: dict[str, Any] | None,
        *,
        keep_scroll: bool = False,
        highlight: str | None = None,
    ) -> None:
        """Show a conversation; `highlight` marks what a search looked for in its text."""
        same = view is not None and self.view is not None and view["id"] == self.view["id"]
        self.view = view
        self.highlight = highlight
        if not same:
            self.unfolded = False
        shown = self.query("#pane-text").results(Static)
        text = next(shown, None)
        if text is None:
            return  # a load that ended after the screen was taken down: nothing to show it on
        text.update(self._render())
        if not (same and keep_scroll):
            self.scroll_home(animate=False)

    def action_toggle_quotes(self) -> None:
        self.unfolded = not self.unfolded
        self.query_one("#pane-text", Static).update(self._render())

    def attachments(self) -> list[ShownAttachment]:
        """Every attachment of the conversation shown, oldest message first."""
        if self.view is None:
            return []
        return [found for m in self.view["messages"] for found in numbered_attachments(m)]

    def _render(self) -> Content:
        view = self.view
        if view is None:
            return Content.from_markup("[$text-muted]No conversation selected.[/]")
        parts = [_header(view)]
        for message in view["messages"]:
            parts.append(_message(message, view, unfolded=self.unfolded))
        shown = Content("\n").join(parts)
        if self.highlight:
            shown = shown.highlight_regex(self.highlight, style="bold reverse")
        return shown


def _header(view: dict[str, Any]) -> Content:
    contact = line(view["contact_name"]) or line(view["contact"]) or "(no contact)"
    lines = [
        Content.from_markup("[b]$subject[/b]", subject=line(view["subject"]) or "(no subject)"),
        Content.from_markup(
            "[$text-muted]$contact <$address> · $channel · $source · $state[/]",
            contact=contact,
            address=line(view["contact"]),
            channel=line(view["channel"]),
            source=view["source"],
            state=view["state"],
        ),
    ]
    ticket = view["ticket"]
    if ticket is not None:
        lines.append(
            Content.from_markup(
                "Ticket [b]#$number[/b] · [$text-accent]$status[/] · owner $owner · "
                "priority $priority",
                number=str(ticket["number"]),
                status=line(ticket["status"]),
                owner=line(ticket["owner"]) or "nobody",
                priority=ticket["priority"],
            )
        )
    else:
        lines.append(Content.from_markup("[$text-muted]No ticket yet (c creates one)[/]"))
    if view["assignee"]:
        lines.append(Content.from_markup("Assigned to $who", who=line(view["assignee"])))
    lines.append(Content("─" * 40))
    return Content("\n").join(lines)


def _message(message: dict[str, Any], view: dict[str, Any], *, unfolded: bool) -> Content:
    lines = [_message_title(message, view)]
    text = block(message["text"]).rstrip()
    if text:
        lines.append(Content(text))
    quoted = block(message["quoted"]).rstrip()
    if quoted:
        count = quoted.count("\n") + 1
        if unfolded:
            lines.extend(
                Content.from_markup("[$text-muted]┆ $text[/]", text=q) for q in quoted.split("\n")
            )
        else:
            lines.append(
                Content.from_markup(
                    "[$text-muted]┆ $count quoted lines folded (z shows them)[/]", count=str(count)
                )
            )
    if message["attachments"]:
        lines.append(
            Content.from_markup(
                "[$text-muted]Attachments of message $id:[/]", id=str(message["id"])
            )
        )
    for found in numbered_attachments(message):
        lines.append(
            Content.from_markup(
                " [b]$number[/b] $name [$text-muted]($kind, $size)[/]",
                number=str(found.number),
                name=line(found.name),
                kind=line(found.content_type),
                size=_size(found.size),
            )
        )
    lines.append(Content(""))
    return Content("\n").join(lines)


@dataclass(frozen=True)
class ShownAttachment:
    """An attachment as the pane numbers it: its message, its number there (from 1, in the
    message's MIME order), the name it is saved under, its type and size."""

    message: int
    number: int
    name: str
    content_type: str
    size: int

    def label(self) -> str:
        return f"{self.number}  {line(self.name)}  ({line(self.content_type)}, {_size(self.size)})"


def numbered_attachments(message: dict[str, Any]) -> list[ShownAttachment]:
    return [
        ShownAttachment(
            message["id"],
            number,
            safe_filename(a["filename"], number, a["content_type"]),
            a["content_type"],
            a["size"],
        )
        for number, a in enumerate(message["attachments"], 1)
    ]


def _message_title(message: dict[str, Any], view: dict[str, Any]) -> Content:
    when = stamp(message["sent_at"])
    direction = message["direction"]
    if direction == "note":
        return Content.from_markup(
            "[$text-warning]✎ Internal note by $who · $when[/]",
            who=line(message["author"]) or "someone",
            when=when,
        )
    if direction == "inbound":
        sender = line(message["from_name"]) or line(message["from"])
        automated = (
            Content.from_markup(
                " [$text-warning](automated: $why)[/]", why=line(message["automated_reason"])
            )
            if message["automated"]
            else Content("")
        )
        return (
            Content.from_markup(
                "[b $text-accent]▶ $who[/] [$text-muted]<$address> · $when[/]",
                who=sender,
                address=line(message["from"]),
                when=when,
            )
            + automated
        )
    state = _delivery(message["delivery"])
    to = ", ".join(line(x) for x in message["to"]) or "(nobody)"
    if message["template"] or message["sent_from"] == "automation":
        ticket = view["ticket"]
        return Content.from_markup(
            "[$text-muted]⚙ Automated email “$template” to $to · #$ticket · $when · $state[/]",
            template=line(message["template"]) or "notification",
            to=to,
            ticket=str(ticket["number"]) if ticket else "?",
            when=when,
            state=state,
        )
    record = "ticket record" if message["sent_from"] == "ticket" else "contact record"
    return Content.from_markup(
        "[b $text-success]◀ $who[/] [$text-muted]from the $record to $to · $when ·[/] $state",
        who=line(message["author"]) or line(message["from"]),
        record=record,
        to=to,
        when=when,
        state=state,
    )


def _delivery(delivery: dict[str, Any] | None) -> str:
    if delivery is None:
        return "not in the outbox"
    label = DELIVERY_LABELS.get(delivery["state"], delivery["state"])
    if delivery["state"] == "held" and delivery["held_reason"]:
        return f"held: {line(delivery['held_reason'])}"
    if delivery["state"] == "failed" and delivery["last_error"]:
        return f"failed: {line(delivery['last_error'])}"
    if delivery["state"] == "queued" and delivery["attempts"]:
        return f"queued (attempt {delivery['attempts']} failed: {line(delivery['last_error'])})"
    return label


def _size(size: int) -> str:
    if size >= 1_048_576:
        return f"{size / 1_048_576:.1f} MB"
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} B"
