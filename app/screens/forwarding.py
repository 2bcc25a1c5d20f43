"""Forwarding a message of the conversation in the reading pane (issue 12, SPEC D17): `w` in the
inbox and the ticket record asks which message (the newest from the customer first), to whom and
an optional note, then queues the forward with its attachments; it waits the undo window, and
`u` takes it back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from app.screens.base import EXPECTED
from app.screens.dialogs import PickerScreen, PromptScreen
from automation.forward import forward
from mail.recipients import RecipientError, parse_recipients
from widgets.conversation_view import ConversationView
from widgets.text import line, stamp


def forward_binding(screen: str) -> Binding:
    return Binding("w", "forward", "Forward", show=False, id=f"{screen}.forward")


if TYPE_CHECKING:
    from app.screens.base import DeskScreen

    _Screen = DeskScreen
else:
    _Screen = object


def _address_fault(text: str) -> str | None:
    try:
        return None if parse_recipients(text, field="To") else "type at least one address"
    except RecipientError as exc:
        return str(exc)


class ForwardKeys(_Screen):
    """The forward action of a DeskScreen with a ConversationView."""

    def action_forward(self) -> None:
        self._forward()

    @work(group="forward", exclusive=True)
    async def _forward(self) -> None:
        view = self.query_one(ConversationView).view
        messages = [m for m in (view or {}).get("messages", []) if m["direction"] != "note"]
        if not messages:
            self.notify("No message here to forward.", severity="warning")
            return
        inbound = [m for m in messages if m["direction"] == "inbound"]
        chosen = (inbound or messages)[-1]["id"]
        if len(messages) > 1:
            choices = [
                (f"{stamp(m['sent_at'])}  {m['from']}  {m.get('subject') or ''}", m["id"])
                for m in messages
            ]
            chosen = await self.app.push_screen_wait(
                PickerScreen("Forward which message?", choices, current=chosen)
            )
            if chosen is None:
                return
        typed = await self.app.push_screen_wait(
            PromptScreen(
                "Forward to (addresses)", placeholder="name@example.org", check=_address_fault
            )
        )
        if not typed:
            return
        to = parse_recipients(typed, field="To")
        note = await self.app.push_screen_wait(
            PromptScreen("A note above it (optional; enter to skip)")
        )
        if note is None:
            return
        message_id = int(chosen)

        def send(repo: Any, user: Any) -> int:
            return forward(repo, user, message_id, to, note=note)

        try:
            await self.backend.act(send)
        except EXPECTED as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.notify(
            f"Forward to {line(to[0].addr)} queued with its attachments; u takes it back.",
            markup=False,
        )
        self.refresh_data()
