"""The ticket record (SPEC §5): properties, conversations, and the timeline with causes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import ContentSwitcher, Static

from app.screens.attachments import AttachmentKeys, attachment_bindings
from app.screens.base import DeskScreen, pick_owner
from app.screens.compose import ComposeScreen, Draft
from app.screens.dialogs import ConfirmScreen, PickerScreen, PromptScreen
from app.screens.explain import ExplainScreen
from app.screens.forwarding import ForwardKeys, forward_binding
from app.screens.snooze import ask_snooze, snooze_binding, snoozed_text
from automation import merge, properties, property_types, services, split, tags
from automation.services import PRIORITIES, DomainError
from automation.undo_line import UNDOABLE_ACTORS, describe, undo_line, undo_span
from automation.undo_window import Report, Selector, UndoWindowError, allowed
from storage import undo_history, views
from storage.repository import SqlRepository
from widgets.conversation_view import ConversationView
from widgets.suggest import ListItemSuggester
from widgets.text import line, stamp


class TicketScreen(ForwardKeys, AttachmentKeys, DeskScreen):
    MODE = ""
    HELP_TITLE = "Ticket record"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="ticket.back"),
        Binding("v", "toggle_view", "Timeline/conversations", id="ticket.view"),
        Binding("r", "reply('ticket')", "Reply", id="ticket.reply"),
        Binding("R", "reply('contact')", "Reply (contact record)", id="ticket.reply_contact"),
        Binding("n", "reply('note')", "Note", id="ticket.note"),
        Binding("o", "owner", "Owner", id="ticket.owner"),
        Binding("p", "priority", "Priority", id="ticket.priority"),
        Binding("t", "subject", "Subject", id="ticket.subject"),
        Binding("number_sign", "tags", "Tags", id="ticket.tags", key_display="#"),
        Binding("P", "properties", "Properties", id="ticket.properties"),
        Binding("s", "status", "Status", id="ticket.status"),
        Binding("H", "move(-1)", "Previous status", id="ticket.move_prev"),
        Binding("L", "move(1)", "Next status", id="ticket.move_next"),
        Binding("e", "close", "Close", id="ticket.close"),
        Binding("u", "undo", "Undo", id="ticket.undo"),
        Binding("E", "explain", "Explain", id="ticket.explain"),
        Binding("M", "merge", "Merge into…", show=False, id="ticket.merge"),
        Binding("X", "split", "Split message off", show=False, id="ticket.split"),
        Binding("U", "revert_line", "Revert a timeline line", show=False, id="ticket.revert"),
        snooze_binding("ticket"),
        *attachment_bindings("ticket"),
        forward_binding("ticket"),
        Binding(
            "bracketleft",
            "conversation(-1)",
            "Previous conversation",
            show=False,
            id="ticket.prev_conv",
        ),
        Binding(
            "bracketright",
            "conversation(1)",
            "Next conversation",
            show=False,
            id="ticket.next_conv",
        ),
    ]

    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number
        self.record: dict[str, Any] | None = None
        self.statuses: list[dict[str, Any]] = []
        self.conversation_index = 0

    def compose(self) -> ComposeResult:
        yield from self.compose_top()
        yield Static("", id="ticket-props")
        with ContentSwitcher(initial="ticket-conversation", id="ticket-switcher"):
            yield ConversationView(id="ticket-conversation")
            with VerticalScroll(id="ticket-timeline", can_focus=True):
                yield Static("", id="timeline-text")
        yield from self.compose_bottom()

    def on_mount(self) -> None:
        super().on_mount()
        self.set_status(f"ticket #{self.number} · escape goes back")
        self.query_one(ConversationView).focus()
        self.refresh_data()

    def refresh_data(self) -> None:
        self._load()

    @work(group="record", exclusive=True)
    async def _load(self) -> None:
        number = self.number
        record = await self.backend.query(lambda s: views.ticket_record(s, number))
        if record is None:
            self.notify(f"Ticket #{number} is gone.", severity="warning")
            self.app.pop_screen()
            return
        pipelines = await self.backend.query(views.pipelines)
        pipeline_id = record["ticket"]["pipeline_id"]
        self.statuses = next(p["statuses"] for p in pipelines if p["id"] == pipeline_id)
        self.record = record
        self._show_props(record["ticket"])
        self._show_timeline(record["timeline"])
        await self._show_conversation(keep_scroll=True)

    def _show_props(self, t: dict[str, Any]) -> None:
        contact = line(t["contact_name"]) or line(t["contact"]) or "(no contact)"
        self.query_one("#ticket-props", Static).update(
            Content.from_markup(
                "[b]#$number $subject[/b]\n"
                "[$text-accent]$status[/] in $pipeline · owner [b]$owner[/b] · priority $priority"
                "$reopened$tags$props\n[$text-muted]$contact <$address> · $source via $channel · "
                "created $created · updated $updated[/]",
                number=str(t["number"]),
                subject=line(t["subject"]),
                status=line(t["status"]),
                pipeline=line(t["pipeline"]),
                owner=line(t["owner"]) or "nobody",
                priority=t["priority"],
                reopened=(" · reopened" if t["reopened"] else "") + snoozed_text(t),
                tags=" · tags " + line(", ".join(t["tags"])) if t.get("tags") else "",
                props=_props_text(t.get("properties", [])),
                contact=contact,
                address=line(t["contact"]),
                source=t["source"],
                channel=line(t["channel"]) or "no channel",
                created=stamp(t["created_at"]),
                updated=stamp(t["updated_at"]),
            )
        )

    def _show_timeline(self, events: list[dict[str, Any]]) -> None:
        rows = []
        for event in reversed(events):  # newest first
            actor = event["actor"]
            who = line(actor["name"]) or actor["kind"]
            rows.append(
                Content.from_markup(
                    "[$text-muted]$at[/] [b]$who[/b] $summary",
                    at=stamp(event["at"]),
                    who=who,
                    summary=line(event["summary"]) or event["type"],
                )
            )
            if event["cause_summary"]:
                rows.append(
                    Content.from_markup(
                        "[$text-muted]    ↳ because: $cause[/]", cause=line(event["cause_summary"])
                    )
                )
        text = Content("\n").join(rows) if rows else Content("No events yet.")
        self.query_one("#timeline-text", Static).update(text)

    async def _show_conversation(self, *, keep_scroll: bool) -> None:
        record = self.record
        if record is None or not record["conversations"]:
            self.query_one(ConversationView).show(None)
            return
        self.conversation_index %= len(record["conversations"])
        conversation_id = record["conversations"][self.conversation_index]["id"]
        view = await self.backend.query(lambda s: views.conversation_view(s, conversation_id))
        self.query_one(ConversationView).show(view, keep_scroll=keep_scroll)
        count = len(record["conversations"])
        if count > 1:
            self.set_status(
                f"ticket #{self.number} · conversation {self.conversation_index + 1}/{count} "
                "([ ] switch) · escape goes back"
            )

    # --- keys -------------------------------------------------------------------------------

    def action_explain(self) -> None:
        """Why each message went where it did and what it caused (read-only)."""
        self.app.push_screen(ExplainScreen(self.number))

    def action_merge(self) -> None:
        """Merge this ticket into another, picked by its number (B3.1)."""
        number = self.number

        def typed(text: str | None) -> None:
            if text is None:
                return
            target = text.strip().lstrip("#")
            if not target.isdigit():
                self.notify(f"Not a ticket number: {line(text)}", severity="warning")
                return
            into = int(target)
            self.change(
                lambda repo, me: merge.merge(repo, me, number, into).describe(),
                lambda said: said,
            )

        self.app.push_screen(PromptScreen(f"Merge #{number} into ticket number", ""), typed)

    def action_split(self) -> None:
        """Split a received message of the shown conversation off into a new ticket (B3.2)."""
        view = self.query_one(ConversationView).view
        received = [m for m in (view or {}).get("messages", []) if m["direction"] == "inbound"]
        if len(received) < 2:
            self.notify("No message to split off: the first message stays", severity="warning")
            return
        choices = [
            (f"{stamp(m['sent_at'])} {m['from']}: {m['subject']}", m["id"]) for m in received[1:]
        ]

        def chosen(message_id: int | None) -> None:
            if message_id is not None:
                self.change(
                    lambda repo, me: split.split_message(repo, me, message_id).id,
                    lambda made: f"Message split off into ticket #{made}",
                )

        self.app.push_screen(
            PickerScreen("Split off into a new ticket", choices, choices[-1][1]), chosen
        )

    @work(group="pickers")
    async def action_revert_line(self) -> None:
        """Revert a change from its timeline line (B5): pick the line (a rule's: that change or
        all it did since), see what would be reverted, confirm."""
        events = [
            e
            for e in reversed(self.record["timeline"] if self.record else [])
            if e["actor"]["kind"] in UNDOABLE_ACTORS and e["type"] != "undone"
        ]
        if not events:
            self.notify("No change on this timeline can be reverted.", severity="warning")
            return
        choices = [
            (f"{stamp(e['at'])} {line(e['actor']['name'])}: {line(e['summary'])}", e)
            for e in events
        ]
        event = await self.app.push_screen_wait(PickerScreen("Revert which change?", choices))
        if event is None:
            return
        scope = "line"
        if event["actor"]["kind"] != "user":
            who = line(event["actor"]["name"]) or event["actor"]["kind"]
            scope = await self.app.push_screen_wait(
                PickerScreen(
                    "Revert",
                    [("This change only", "line"), (f"All {who} did since then", "window")],
                    "line",
                )
            )
            if scope is None:
                return
        try:
            preview = await self.backend.act(revert_line(event, scope, dry_run=True))
        except (UndoWindowError, DomainError) as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if not any(r.outcome in ("reverted", "cancelled") for r in preview.rows):
            self.notify("Nothing to revert: " + describe(preview), markup=False)
            return
        shown = [
            f"{'#' + str(r.ticket) if r.ticket else ''} {r.field}: {r.outcome} "
            f"{r.was}{' → ' + r.back_to if r.back_to else ''}"
            for r in preview.rows
        ]
        more = f"\n… and {len(shown) - 8} more" if len(shown) > 8 else ""
        question = f"Revert {preview.selector}?\n" + "\n".join(line(s) for s in shown[:8]) + more
        if await self.app.push_screen_wait(ConfirmScreen(question)):
            self.change(revert_line(event, scope, dry_run=False), describe)

    def action_toggle_view(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        showing = (
            "ticket-timeline"
            if switcher.current == "ticket-conversation"
            else "ticket-conversation"
        )
        switcher.current = showing
        self.query_one(f"#{showing}").focus()

    def action_conversation(self, step: int) -> None:
        self.conversation_index += step
        self._switch_conversation()

    @work(group="record-conversation", exclusive=True)
    async def _switch_conversation(self) -> None:
        await self._show_conversation(keep_scroll=False)

    def _current_conversation(self) -> int | None:
        view = self.query_one(ConversationView).view
        return view["id"] if view else None

    def action_reply(self, kind: str) -> None:
        subject = self.record["ticket"]["subject"] if self.record else ""
        self.app.push_screen(
            ComposeScreen(
                Draft(
                    kind=kind,
                    ticket=self.number,
                    conversation=self._current_conversation(),
                    subject=subject,
                )
            )
        )

    def action_owner(self) -> None:
        self._owner()

    @work(group="pickers")
    async def _owner(self) -> None:
        await pick_owner(self, self.number)

    def action_priority(self) -> None:
        number = self.number
        current = self.record["ticket"]["priority"] if self.record else None

        def chosen(priority: str | None) -> None:
            if priority is not None:
                self.change(
                    lambda repo, me: services.set_priority(repo, me, number, priority),
                    f"#{number} priority {priority}",
                )

        choices = [(p, p) for p in PRIORITIES]
        self.app.push_screen(PickerScreen(f"Priority of #{number}", choices, current), chosen)

    def action_subject(self) -> None:
        number = self.number
        current = self.record["ticket"]["subject"] if self.record else ""

        def typed(subject: str | None) -> None:
            if subject is not None:
                self.change(
                    lambda repo, me: services.set_subject(repo, me, number, subject),
                    f"#{number} subject changed",
                )

        self.app.push_screen(PromptScreen(f"Subject of #{number}", line(current)), typed)

    @work(group="tags", exclusive=True)
    async def action_tags(self) -> None:
        """Edit the ticket's tags as one line, completed from the tags the desk uses."""
        number = self.number
        current = list(self.record["ticket"].get("tags", [])) if self.record else []
        used = await self.backend.query(lambda s: [t for t, _ in SqlRepository(s).tag_counts()])

        def typed(text: str | None) -> None:
            if text is None:
                return
            wanted = tags.split(text)
            added = [t for t in wanted if t not in current]
            removed = [t for t in current if t not in wanted]

            def apply(repo: SqlRepository, me: Any) -> None:
                if added:
                    tags.tag_ticket(repo, me, number, added)
                if removed:
                    tags.untag_ticket(repo, me, number, removed)

            if added or removed:
                self.change(apply, f"#{number} tags: {', '.join(wanted) or 'none'}")

        def fault(text: str) -> str | None:
            try:
                tags.split(text)
            except DomainError as exc:
                return str(exc)
            return None

        prompt = PromptScreen(
            f"Tags of #{number} (separated by commas)",
            ", ".join(current),
            "billing, vip",
            check=fault,
            suggester=ListItemSuggester(used),
        )
        self.app.push_screen(prompt, typed)

    @work(group="properties", exclusive=True)
    async def action_properties(self) -> None:
        """Pick one of the desk's properties, then type or pick its value (empty clears)."""
        number = self.number
        defs = await self.backend.query(
            lambda s: [
                (p.name, p.kind, list(p.choices), p.required_to_close)
                for p in SqlRepository(s).property_defs()
            ]
        )
        if not defs:
            self.notify("No properties defined: admins add them with property define.")
            return
        record = self.record["ticket"] if self.record else {}
        shown = {name: value for name, value, _ in record.get("properties", [])}
        choices = [
            (f"{name} = {shown.get(name) or '(none)'}" + (" · required" if required else ""), i)
            for i, (name, _, _, required) in enumerate(defs)
        ]
        index = await self.app.push_screen_wait(PickerScreen(f"Properties of #{number}", choices))
        if index is None:
            return
        name, kind, values, _ = defs[index]

        def save(value: str | None) -> None:
            self.change(
                lambda repo, me: properties.set_property(repo, me, number, name, value),
                f"#{number} {name} " + (f"= {value}" if value else "cleared"),
            )

        if kind in ("choice", "checkbox"):
            values = values if kind == "choice" else ["yes", "no"]
            picked = await self.app.push_screen_wait(
                PickerScreen(
                    f"{name} of #{number}",
                    [(v, v) for v in values] + [("(none)", "")],
                    shown.get(name) or None,
                )
            )
            if picked is not None:
                save(picked or None)
            return
        prop_type = property_types.find(kind)

        def fault(text: str) -> str | None:
            if not text.strip() or prop_type is None:
                return None
            try:
                prop_type.parse(text, values)
            except property_types.BadValue as exc:
                return f"{name}: {exc}"
            return None

        typed = await self.app.push_screen_wait(
            PromptScreen(
                f"{name} of #{number} ({prop_type.help if prop_type else kind}; empty clears)",
                shown.get(name, ""),
                check=fault,
            )
        )
        if typed is not None:
            save(typed.strip() or None)

    def _move_to(self, label: str) -> None:
        number = self.number
        self.change_ticket(
            number,
            lambda repo, me: services.move_ticket(repo, me, number, label),
            f"#{number} → {label}",
        )

    def action_status(self) -> None:
        def chosen(label: str | None) -> None:
            if label is not None:
                self._move_to(label)

        current = self.record["ticket"]["status"] if self.record else None
        choices = [(s["label"], s["label"]) for s in self.statuses]
        self.app.push_screen(PickerScreen(f"Status of #{self.number}", choices, current), chosen)

    def action_move(self, step: int) -> None:
        if self.record is None:
            return
        labels = [s["label"] for s in self.statuses]
        here = labels.index(self.record["ticket"]["status"])
        if 0 <= here + step < len(labels):
            self._move_to(labels[here + step])
        else:
            self.notify("No status further that way.", severity="warning")

    def action_close(self) -> None:
        number = self.number
        self.change_ticket(
            number, lambda repo, me: services.close_ticket(repo, me, number), f"#{number} closed"
        )

    def action_snooze(self) -> None:
        self._snooze()

    @work(group="pickers")
    async def _snooze(self) -> None:
        await ask_snooze(self, number=self.number, conversation_id=None, what=f"#{self.number}")

    def viewing(self) -> tuple[int | None, int | None]:
        return self.number, self._current_conversation()


def revert_line(event: dict[str, Any], scope: str, *, dry_run: bool) -> Any:
    """The change reverting timeline line `event` (`scope` window: all its rule did since)."""

    def change(repo: SqlRepository, me: Any) -> Report:
        try:
            if scope == "line":
                found = undo_history.line_with_history(repo.session, event["id"])
                if found is None:
                    raise UndoWindowError("the line is gone")
                return undo_line(repo, me, found[0], found[1], dry_run=dry_run)
            actor = event["actor"]
            kind = "rule" if actor["kind"] == "trigger" else "workflow"
            selector = Selector(kind, actor["name"] or str(actor["id"]), frozenset({actor["id"]}))
            allowed(me, selector)
            since = datetime.fromisoformat(event["at"])
            lines = undo_history.lines_since(repo.session, since)
            return undo_span(repo, me, selector, since, lines, dry_run=dry_run)
        except UndoWindowError as exc:
            raise DomainError(str(exc)) from exc

    return change


def _props_text(found: list[tuple[str, str, bool]]) -> str:
    """The properties set, and the required ones that are not ("region ?")."""
    parts = [f"{name} {value}" for name, value, _ in found if value]
    parts += [f"{name} ?" for name, value, required in found if required and not value]
    return " · " + line(", ".join(parts)) if parts else ""
