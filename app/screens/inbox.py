"""Inbox (SPEC §5): the shared conversations, a reading pane, the composer's entry points."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Input, Label

from app.screens.attachments import AttachmentKeys, attachment_bindings
from app.screens.base import DeskScreen, pick_user
from app.screens.compose import ComposeScreen, Draft, RefusedScreen
from app.screens.dialogs import PickerScreen, PromptScreen
from app.screens.forwarding import ForwardKeys, forward_binding
from app.screens.snooze import ask_snooze, snooze_binding
from app.screens.views_picker import ViewsPicker
from app.sources import InboxSource
from automation import chat, saved_views, services
from automation.search.query import highlight_pattern
from storage import search, views
from storage.repository import SqlRepository
from widgets.conversation_view import ConversationView
from widgets.lists import ConversationList
from widgets.row_list import RowList
from widgets.text import line

VIEW_LABELS = {
    "open": "Open",
    "mine": "Assigned to me",
    "unassigned": "Unassigned",
    "closed": "Closed",
    "all": "All",
}

NO_TICKET = "This conversation has no ticket yet: c creates one."
NOTE_WITHOUT_TICKET = (
    "A note belongs to a ticket and this conversation has none yet: c creates one, then n "
    "writes the note. r writes an email to the contact without a ticket."
)


class InboxScreen(ForwardKeys, AttachmentKeys, DeskScreen):
    MODE = "inbox"
    HELP_TITLE = "Inbox"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reply(False)", "Reply", id="inbox.reply"),
        Binding("R", "reply(True)", "Reply (contact record)", id="inbox.reply_contact"),
        Binding("n", "note", "Note", id="inbox.note"),
        Binding("a", "assign", "Assign", id="inbox.assign"),
        Binding("e", "close", "Close", id="inbox.close"),
        Binding("u", "undo", "Undo", id="inbox.undo"),
        Binding("c", "create_ticket", "Create ticket", id="inbox.create_ticket"),
        Binding("t", "open_ticket", "Ticket", id="inbox.open_ticket"),
        Binding("f", "pick_view", "Filter", id="inbox.filter"),
        Binding("V", "save_view", "Save view", show=False, id="inbox.save_view"),
        Binding("F", "pick_channel", "Channel", id="inbox.channel"),
        Binding("slash", "search", "Search", id="inbox.search"),
        snooze_binding("inbox"),
        *attachment_bindings("inbox"),
        forward_binding("inbox"),
        Binding("escape", "back", "Back", show=False, id="inbox.back"),
        Binding("E", "end_chat", "End chat", show=False, id="inbox.end_chat"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.selection = views.InboxFilter()
        self.channel_names: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Label("", id="inbox-filter")
        with Horizontal(id="inbox-panes"):
            yield ConversationList(id="conversations")
            yield ConversationView(id="reading-pane")
        yield Input(
            placeholder='Search: words, "a phrase", from: status: is:closed …; enter applies',
            id="search",
        )
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#search", Input).display = False
        self.selection = views.InboxFilter(view="open", user_id=self.me.id)
        self._show_filter()
        self.query_one(ConversationList).set_source(InboxSource(self.backend, self.selection))
        self.query_one(ConversationList).focus()
        self._load_channels()

    @work(group="channels")
    async def _load_channels(self) -> None:
        rows = await self.backend.query(views.channels)
        self.channel_names = {row["id"]: row["name"] for row in rows}

    # --- reading ----------------------------------------------------------------------------

    @property
    def conversation(self) -> dict[str, Any] | None:
        return self.query_one(ConversationList).current

    @on(RowList.Highlighted, "#conversations")
    def _highlighted(self, event: RowList.Highlighted) -> None:
        self._load_pane(event.row["id"] if event.row else None, keep_scroll=False)

    @on(RowList.Selected, "#conversations")
    def _selected(self, event: RowList.Selected) -> None:
        self.query_one(ConversationView).focus()

    @work(group="pane", exclusive=True)
    async def _load_pane(self, conversation_id: int | None, *, keep_scroll: bool) -> None:
        view = None
        if conversation_id is not None:
            view = await self.backend.query(lambda s: views.conversation_view(s, conversation_id))
        marked = highlight_pattern(self.selection.search) if self.selection.search else None
        self.query_one(ConversationView).show(view, keep_scroll=keep_scroll, highlight=marked)

    def refresh_data(self) -> None:
        self.query_one(ConversationList).reload()
        pane, row = self.query_one(ConversationView), self.conversation
        if pane.view is not None:
            # the cursor's row: a load for a row just highlighted is not replaced by the old one
            shown = row["id"] if row is not None else pane.view["id"]
            self._load_pane(shown, keep_scroll=shown == pane.view["id"])

    def action_back(self) -> None:
        """Escape: out of the search box or the reading pane to the list; on the list, a
        search is cleared and the whole view comes back, the cursor on the same conversation."""
        rows = self.query_one(ConversationList)
        if self.query_one("#search", Input).has_focus:
            self._close_search()
            self._clear_search()
        elif not rows.has_focus:
            rows.focus()
        else:
            self._clear_search()

    def _clear_search(self) -> None:
        if self.selection.search:
            row = self.conversation
            self._apply(search="", keep=row["id"] if row else None)

    # --- filters ----------------------------------------------------------------------------

    def _show_filter(self) -> None:
        channel = self.channel_names.get(self.selection.channel_id or 0, "all channels")
        self.query_one("#inbox-filter", Label).update(
            Content.from_markup(
                " [b]$view[/b] [$text-muted]· $channel$search · f filter · F channel · / search[/]",
                view=VIEW_LABELS[self.selection.view],
                channel=line(channel),
                search=f" · “{line(self.selection.search)}”" if self.selection.search else "",
            )
        )

    def _apply(self, keep: int | None = None, **changes: Any) -> None:
        """Show the list with `changes` to the filter (the cursor on `keep` if it is there)."""
        values = {**self.selection.__dict__, **changes}
        self.selection = views.InboxFilter(**values)
        self._show_filter()
        rows = self.query_one(ConversationList)
        rows.set_source(InboxSource(self.backend, self.selection), key=keep)

    @work(group="pickers")
    async def action_pick_view(self) -> None:
        """The built-in views, then the saved ones (SPEC D20: yours shadow shared ones); a saved
        view is its search over the current view."""
        me = self.me
        saved = await self.backend.query(lambda s: saved_views.views_of(SqlRepository(s), me))
        choices: list[tuple[str, Any]] = [(label, key) for key, label in VIEW_LABELS.items()]
        choices += [(f"★ {v.name}{' (shared)' if v.shared else ''}: {v.query}", v) for v in saved]
        picker = ViewsPicker("Show", choices, self.selection.view, viewer_id=me.id)
        view = await self.app.push_screen_wait(picker)
        if isinstance(view, saved_views.View):
            self._check_and_search(view.query)
        elif view is not None:
            self._apply(view=view)

    def action_save_view(self) -> None:
        """Save the search shown as a view of one's own (admins share with view save)."""
        query = self.selection.search
        if not query.strip():
            self.notify("Search first (/), then V saves the search as a view.")
            return

        def named(name: str | None) -> None:
            if name is not None and name.strip():
                self.change(
                    lambda repo, me: saved_views.save_view(repo, me, name, query)[0],
                    lambda view: f"View {view.name} saved: f shows it",
                )

        self.app.push_screen(PromptScreen("Save this search as the view named", ""), named)

    def action_pick_channel(self) -> None:
        choices = [("All channels", 0), *((name, cid) for cid, name in self.channel_names.items())]

        def chosen(channel_id: int | None) -> None:
            if channel_id is not None:  # None: cancelled
                self._apply(channel_id=channel_id or None)

        current = self.selection.channel_id or 0
        self.app.push_screen(PickerScreen("Channel", choices, current), chosen)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.selection.search
        box.focus()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self._check_and_search(event.value)

    @work(group="search", exclusive=True)
    async def _check_and_search(self, typed: str) -> None:
        """Apply a search once the desk says it can be read; else say what is wrong and keep
        the text in the box to mend (a newer search cancels this one)."""
        viewer = self.selection.user_id
        wrong = None
        if typed.strip():
            wrong = await self.backend.query(lambda s: search.problem(s, typed, viewer_id=viewer))
        if wrong is not None:
            self.notify(wrong, title="Search", severity="error")
            self.query_one("#search", Input).focus()
            return
        self._close_search()
        self._apply(search=typed)

    def _close_search(self) -> None:
        self.query_one("#search", Input).display = False
        self.query_one(ConversationList).focus()

    # --- actions ----------------------------------------------------------------------------

    def _ticket_of_current(
        self, no_ticket: str = NO_TICKET, *, writing: bool = False
    ) -> tuple[dict[str, Any], int] | None:
        """The conversation under the cursor and its ticket number, or None with a refusal.
        Refusing a key that starts writing opens a notice that takes the keys typed next (SPEC
        D5), so a sentence typed after it never reaches the list as commands."""
        row = self.conversation
        if row is None:
            self._refuse("No conversation selected.", writing=writing)
            return None
        if row["ticket"] is None:
            self._refuse(no_ticket, writing=writing)
            return None
        return row, int(row["ticket"])

    def _refuse(self, message: str, *, writing: bool) -> None:
        if writing:
            self.app.push_screen(RefusedScreen(message))
        else:
            self.notify(message, severity="warning")

    def action_reply(self, from_contact_record: bool) -> None:
        row = self.conversation
        if row is None:
            self._refuse("No conversation selected.", writing=True)
            return
        # Without a ticket there is only the contact record to write from (SPEC D5, E3).
        kind = "contact" if from_contact_record or row["ticket"] is None else "ticket"
        self.app.push_screen(
            ComposeScreen(
                Draft(
                    kind=kind, ticket=row["ticket"], conversation=row["id"], subject=row["subject"]
                )
            )
        )

    def action_note(self) -> None:
        found = self._ticket_of_current(NOTE_WITHOUT_TICKET, writing=True)
        if found is not None:
            row, number = found
            self.app.push_screen(
                ComposeScreen(
                    Draft(
                        kind="note", ticket=number, conversation=row["id"], subject=row["subject"]
                    )
                )
            )

    def action_assign(self) -> None:
        row = self.conversation
        if row is not None:
            self._assign(row["id"], row["ticket"])

    @work(group="pickers")
    async def _assign(self, conversation_id: int, ticket: int | None) -> None:
        what = f"#{ticket}" if ticket else "this conversation"
        owner = await pick_user(self, f"Assign {what} to")
        if owner is not None:
            self.change(
                lambda repo, me: services.assign_conversation(
                    repo, me, conversation_id, owner or None
                ),
                f"{what} assigned to {owner or 'nobody'}",
            )

    def action_close(self) -> None:
        row = self.conversation
        if row is None:
            return
        conversation_id, ticket = row["id"], row["ticket"]
        if ticket is not None:
            self.change_ticket(
                ticket,
                lambda repo, me: services.close_conversation(repo, me, conversation_id),
                f"#{ticket} closed",
            )
        else:
            self.change(
                lambda repo, me: services.close_conversation(repo, me, conversation_id),
                "Conversation closed",
            )

    def action_end_chat(self) -> None:
        """End the live chat of this conversation: its visitor's next message starts a new one
        (SPEC C3)."""
        row = self.conversation
        if row is None or row.get("source") != "chat":
            self.notify("This conversation is not a live chat.", severity="warning")
            return
        conversation_id = row["id"]
        self.change(
            lambda repo, me: chat.end_chat(repo, conversation_id, services.actor_of(me)),
            "Chat ended",
        )

    def action_create_ticket(self) -> None:
        row = self.conversation
        if row is None:
            return
        conversation_id = row["id"]
        self.change(
            lambda repo, me: services.create_ticket_by_hand(repo, me, conversation_id).id,
            lambda number: f"Ticket #{number} created",
        )

    def action_open_ticket(self) -> None:
        found = self._ticket_of_current()
        if found is not None:
            from app.screens.ticket import TicketScreen

            self.app.push_screen(TicketScreen(found[1]))

    def action_snooze(self) -> None:
        row = self.conversation
        if row is None:
            self.notify("No conversation selected.", severity="warning")
            return
        self._snooze(row["id"], row["ticket"])

    @work(group="pickers")
    async def _snooze(self, conversation_id: int, ticket: int | None) -> None:
        what = f"#{ticket}" if ticket else "this conversation"
        await ask_snooze(self, number=None, conversation_id=conversation_id, what=what)

    def viewing(self) -> tuple[int | None, int | None]:
        view = self.query_one(ConversationView).view
        if view is None:
            return None, None
        return (view["ticket"]["number"] if view["ticket"] else None), view["id"]
