"""What every Deskline screen shares: the top bar, the footer, changes run as the user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from textual import work
from textual.app import ComposeResult
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Label

from app.backend import Backend, Me, backend_of
from app.screens.footer import DeskFooter
from app.screens.keys import key_for
from automation.admin import SettingsError
from automation.events import Timeline
from automation.services import DomainError
from automation.templates import TemplateRenderError
from automation.undo import UndoError, undo_last
from storage.database import DatabaseError
from storage.repository import SqlRepository
from widgets.text import line

T = TypeVar("T")
MODES = (("inbox", "1 Inbox"), ("board", "2 Board"), ("settings", "3 Settings"))
# Refusals the user can act on: shown as a warning, the screen stays as it was.
EXPECTED = (DomainError, SettingsError, TemplateRenderError, DatabaseError, ValueError)


def top_bar(
    mode: str,
    me: Me | None,
    extra: str = "",
    badge: str = "",
    here: str = "",
    width: int | None = None,
) -> Content:
    """The tabs, the screen's status (`extra`), who else is here (`here`), the unread
    notifications (`badge`) and the signed-in user, fitted to `width` cells: the status
    gives way first down to its first STATUS_KEPT cells, then who else is here, then the
    user's name, then the rest of the status, each cut with an ellipsis, never silently."""
    tabs = [
        Content.from_markup("[reverse b] $label [/]", label=label)
        if name == mode
        else Content.from_markup("[$text-muted] $label [/]", label=label)
        for name, label in MODES
    ]
    who = ""
    if me is not None:
        who = f"{me.display_name} ({'admin' if me.is_admin else 'rep'})"
    head = Content.assemble(Content.from_markup("[b $text-accent]Deskline[/] "), *tabs)
    status = Content.from_markup("  [$text-muted]$extra[/]", extra=extra)
    present = Content.from_markup("  [b $text-warning]$here[/]", here=here) if here else Content("")
    badged = Content.from_markup("  [b reverse]$badge[/]", badge=f" {badge} ") if badge else ""
    user = Content.from_markup("  $who", who=who)
    if width is not None:
        room = width - head.cell_length - Content.assemble(badged).cell_length
        # The screen's status keeps its first STATUS_KEPT cells (it says where you are); who
        # else is here, then the signed-in user give way before it is cut further.
        kept = min(status.cell_length, STATUS_KEPT)
        status = _fit(status, max(room - present.cell_length - user.cell_length, kept))
        present = _fit(present, room - status.cell_length - user.cell_length)
        user = _fit(user, room - status.cell_length - present.cell_length)
        status = _fit(status, room - present.cell_length - user.cell_length)
    return Content.assemble(head, status, present, badged, user)


# How much of a screen's status the top bar keeps before the user's name gives way.
STATUS_KEPT = 30


def _fit(part: Content, room: int) -> Content:
    """`part` cut to `room` cells with an ellipsis; nothing when not even "  …" fits."""
    if part.cell_length <= room:
        return part
    if room < 4:
        return Content("")
    return part.truncate(room, ellipsis=True)


class DeskScreen(Screen[None]):
    MODE: ClassVar[str] = ""
    HELP_TITLE: ClassVar[str] = ""

    def compose_top(self) -> ComposeResult:
        yield Label(top_bar(self.MODE, None), id="top-bar")

    def compose_bottom(self) -> ComposeResult:
        yield DeskFooter()

    @property
    def backend(self) -> Backend:
        return backend_of(self.app)

    @property
    def me(self) -> Me:
        return self.backend.me

    def set_status(self, extra: str) -> None:
        self._status_extra = extra
        self.show_coordination()

    def show_coordination(self) -> None:
        """Draw the top bar again: the status, who else is here, the notifications badge."""
        mode = self.MODE or self.app.current_mode  # pushed screens belong to the mode below
        coordinator = getattr(self.app, "coordinator", None)
        badge = coordinator.badge() if coordinator is not None else ""
        here = coordinator.presence() if coordinator is not None else ""
        extra = getattr(self, "_status_extra", "")
        bar = self.query_one("#top-bar", Label)
        width = bar.size.width or self.app.size.width
        bar.update(top_bar(mode, self.me, extra, badge, here, width))

    def on_resize(self) -> None:
        self.show_coordination()

    def viewing(self) -> tuple[int | None, int | None]:
        """The ticket and the conversation this screen shows (presence); none by default."""
        return None, None

    def on_mount(self) -> None:
        self.set_status("")

    def on_screen_resume(self) -> None:
        self.refresh_data()

    def on_data_changed(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        """Read what the screen shows again; keep cursors where they are."""

    @work(group="change")
    async def change(
        self,
        fn: Callable[[SqlRepository, Any], T],
        done: str | Callable[[T], str] | None = None,
        after: Callable[[T], Any] | None = None,
    ) -> None:
        """Run a change as the user (then the engine), say what happened, refresh."""
        try:
            result = await self.backend.act(fn)
        except EXPECTED as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if done is not None:
            message = done(result) if callable(done) else done
            if message:
                self.notify(message, markup=False)
        if after is not None:
            after(result)
        self.refresh_data()

    @work(group="change")
    async def change_ticket(
        self, number: int, fn: Callable[[SqlRepository, Any], Any], title: str
    ) -> bool:
        """A change to one ticket; the notice lists what it caused (status, actions, emails)."""
        from storage import views

        before = await self.backend.query(views.last_event_id)
        try:
            await self.backend.act(fn)
        except EXPECTED as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return False
        caused = await self.backend.query(lambda s: views.events_since(s, number, before))
        lines = [line(e["summary"]) for e in caused if e["summary"]][:8]
        title += undo_hint(self, caused)
        self.notify("\n".join(lines) or "Done.", title=title, markup=False, timeout=6)
        self.refresh_data()
        return True

    def action_undo(self) -> None:
        """Take back the user's latest change, made in any session, while its undo window is
        open (SPEC D3): the notice says what was undone, or why nothing was."""
        self._undo()

    @work(group="change")
    async def _undo(self) -> None:
        try:
            undone = await self.backend.act(undo_last)
        except (UndoError, *EXPECTED) as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        self.notify(undone.describe(), title="Undone", markup=False, timeout=6)
        self.refresh_data()


def undo_hint(screen: Screen[Any], caused: list[dict[str, Any]]) -> str:
    """The end of a change's notice, " — u to undo", when it queued email that waits for its
    undo window (D2): the key the screen's undo binding has after the user's keymap."""
    waiting = any(
        e["type"] == Timeline.MAIL_QUEUED and e["data"].get("wait_seconds") for e in caused
    )
    undo_ids = [
        binding.id
        for bindings in screen._bindings.key_to_bindings.values()
        for binding in bindings
        if binding.action == "undo" and binding.id
    ]
    if not waiting or not undo_ids:
        return ""
    return f" — {key_for(screen, undo_ids[0])} to undo"


async def pick_user(screen: DeskScreen, title: str) -> str | None:
    """A user's name, "" for nobody, None when cancelled."""
    from app.screens.dialogs import PickerScreen
    from storage import views

    people = await screen.backend.query(views.users_and_teams)
    choices = [("Nobody (unassign)", "")]
    choices += [(f"{u['name']}  {u['email'] or ''}", u["name"]) for u in people["users"]]
    return await screen.app.push_screen_wait(PickerScreen(title, choices))


async def pick_owner(screen: DeskScreen, number: int) -> None:
    """Ask for a ticket's new owner and assign it (board, ticket record)."""
    from automation import services

    owner = await pick_user(screen, f"Owner of #{number}")
    if owner is not None:
        screen.change(
            lambda repo, me: services.assign(repo, me, number, owner or None),
            f"#{number} assigned to {owner or 'nobody'}",
        )
