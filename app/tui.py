"""The terminal app: inbox, board and automation settings as modes over one backend."""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import gc
import logging
import os
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from platformdirs import user_config_dir
from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from sqlalchemy.exc import DBAPIError
from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.command import CommandPalette
from textual.containers import Center, Vertical
from textual.content import Content
from textual.dom import DOMNode
from textual.filter import LineFilter, Monochrome, NoColor
from textual.message import Message
from textual.notifications import Notify
from textual.screen import Screen
from textual.widgets import Label, ProgressBar
from textual.worker import Worker, WorkerFailed, WorkerState

from app.backend import Backend, BackendError, Service
from app.screens import commands
from app.screens.base import DeskScreen
from app.screens.board import BoardScreen
from app.screens.commands import DeskCommands, Place
from app.screens.coordination import CHECK_EVERY, Coordinator
from app.screens.help import HelpScreen
from app.screens.inbox import InboxScreen
from app.screens.keys import key_text
from app.screens.notifications import NotificationsScreen
from app.screens.settings import SettingsScreen
from app.screens.tasks import TasksScreen
from runtime.desk import Desk
from runtime.files import server_files_refused
from runtime.inbound import run_inbound
from runtime.worker import Worker as MailWorker
from storage.database import DatabaseError, describe_error
from storage.repository import SqlRepository

log = logging.getLogger("deskline.app")
LIVE_INTERVAL = 0.5  # seconds between checks for changes by other sessions and the mail worker


class DataChanged(Message):
    """Something in the database changed (another session, the mail worker, the feed)."""


Prepare = Callable[[Callable[[int, int], None]], None]  # work before the desk opens (the demo)


class Opening(Screen[None]):
    """What the app shows until the desk is open; with a build to wait for, how far it got."""

    def compose(self) -> ComposeResult:
        with Vertical(id="opening-box"):
            yield Label(Content("Opening the help desk…"), id="opening")
            with Center():
                bar = ProgressBar(show_eta=False, id="opening-progress")
                bar.display = False
                yield bar

    def show_progress(self, done: int, total: int) -> None:
        self.query_one("#opening", Label).update(
            Content(
                "Building the demo help desk: three weeks of mail, replayed through the real "
                "rules. It opens by itself when done (q quits)."
            )
        )
        bar = self.query_one("#opening-progress", ProgressBar)
        bar.display = True
        bar.update(total=total, progress=done)


class BuildStopped(Exception):
    """The app closed while the demo was being built: the build stops at its next step."""


class WithoutColour(LineFilter):
    """NO_COLOR (no-color.org; SPEC D12): no colour codes at all, the terminal's own colours.
    Bold, reverse and underline stay (Textual's own filter turns colours grey instead)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            Segment(text, None if style is None else _without_colour(style), control)
            for text, style, control in segments
        ]


@lru_cache(1024)
def _without_colour(style: Style) -> Style:
    return style.without_color


def keymap_path() -> Path:
    """keys.toml in the config directory: $XDG_CONFIG_HOME/deskline when set (on every system),
    else the platform's own (platformdirs; `deskline paths` shows it)."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) / "deskline" if xdg else Path(user_config_dir("deskline"))) / "keys.toml"


def load_keymap(path: Path) -> tuple[dict[str, str], str | None]:
    """`[keys]` binding id = "key,key" (README). Returns the map and an error to show, if any."""
    if not path.exists():
        return {}, None
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"{path}: {exc}; using the default keys"
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        return {}, f'{path}: [keys] must map binding ids to strings like "j,down"'
    return {str(k): v for k, v in keys.items()}, None


def binding_ids() -> set[str]:
    """Every binding id of the app, its screens and widgets (the ids keys.toml may name)."""
    from app.screens import compose, dialogs, settings_dialogs, tasks, ticket, workflows  # noqa: F401

    found: set[str] = set()
    pending: list[type[DOMNode]] = [DOMNode]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(("app.", "widgets.")):
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id:
                    found.add(binding.id)
    return found


def unknown_ids_warning(keymap: dict[str, str], known: set[str], path: Path) -> str | None:
    """The warning for ids in keys.toml that no binding has, naming the closest known ids."""
    lines = []
    for name in sorted(set(keymap) - known):
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
        group = sorted(k for k in known if k.split(".")[0] == name.split(".")[0])
        if close:
            hint = f"did you mean {' or '.join(close)}?"
        elif group:
            hint = f"known ids there: {', '.join(group)}"
        else:
            groups = sorted({k.split(".")[0] for k in known})
            hint = f"ids look like inbox.reply; their screens: {', '.join(groups)}"
        lines.append(f"unknown binding id {name!r}, ignored ({hint})")
    if not lines:
        return None
    return f"{path}:\n" + "\n".join(lines) + "\n? lists each screen's ids."


MAX_TOASTS = 2  # notices shown at once; a new one replaces the oldest
SETTLE_AFTER = 1.5  # seconds after a screen's first visit: its first rows are in by then


def settle_memory() -> None:
    """Freeze what is alive now (gc.freeze) so the cyclic collector stops walking it.

    A full collection walks every widget, row page and mapped object of the session: on a big
    desk ~80 ms, every ~20 keys, the app's worst key latency (benchmarks.tui_bench). With the
    long-lived objects frozen it walks only what is new. Collected first, so no garbage is
    frozen with them.
    """
    gc.collect()
    gc.freeze()


class DesklineApp(App[None]):
    TITLE = "Deskline"
    CSS_PATH = "deskline.tcss"
    # Under NO_COLOR what colour marked is marked by reverse video (the rest of the look).
    CSS = """
    OptionList:nocolor > .option-list--option-highlighted { text-style: reverse bold; }
    .column:focus-within > .column-title:nocolor { text-style: reverse bold; }
    #opening-box { align: center middle; }
    #opening-box > #opening { height: auto; margin-bottom: 1; }
    """
    COMMANDS: ClassVar[set[Any]] = {DeskCommands}
    MODES: ClassVar[dict[str, Any]] = {
        "inbox": InboxScreen,
        "board": BoardScreen,
        "settings": SettingsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "switch_mode('inbox')", "Inbox", id="app.inbox"),
        Binding("2", "switch_mode('board')", "Board", id="app.board"),
        Binding("3", "switch_mode('settings')", "Settings", id="app.settings"),
        Binding("T", "tasks", "Tasks", id="app.tasks"),
        Binding("N", "notifications", "Notifications", show=False, id="app.notifications"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, id="app.palette"),
    ]

    def __init__(
        self,
        url: str,
        *,
        as_user: str | None = None,
        services: Iterable[tuple[str, Service]] = (),
        keymap_file: Path | None = None,
        live_interval: float = LIVE_INTERVAL,
        prepare: Prepare | None = None,
    ) -> None:
        super().__init__()
        if self.no_color:
            self._filters = [f for f in self._filters if not isinstance(f, Monochrome | NoColor)]
            self._filters.append(WithoutColour())
        self.prepare = prepare
        self._stop_preparing = threading.Event()
        self._live_poll: Worker[None] | None = None
        self._coordination: Worker[None] | None = None
        self.backend = Backend(url, as_user=as_user)
        self.services = list(services)
        self.keymap_file = keymap_file or keymap_path()
        self.live_interval = live_interval
        self.ready = False
        self._settled: set[str] = set()
        self.failure: str | None = None
        self.exiting = False  # set by exit(): from then on keys and clicks are ignored
        self.coordinator: Coordinator | None = None  # once the desk is open

    def exit(
        self,
        result: None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        """Quit (q, the palette, a failed start). Keys already typed after q reach the app
        before it closes: they are ignored from here on, so none of them opens a screen or
        runs an action on widgets that are being taken down."""
        self.exiting = True
        super().exit(result, return_code, message)

    async def on_event(self, event: events.Event) -> None:
        if self.exiting and isinstance(event, events.InputEvent | events.Paste):
            return  # typed after quitting: ignored, never acted on
        await super().on_event(event)

    def on_mount(self) -> None:
        # An SSH session reads no file of the server (S3): its keys come from the desk.
        keymap, problem = ({}, None) if server_files_refused() else load_keymap(self.keymap_file)
        if keymap:
            self.set_keymap(keymap)
            problem = problem or unknown_ids_warning(keymap, binding_ids(), self.keymap_file)
        if problem:
            self.notify(problem, title="keys.toml", severity="warning", markup=False, timeout=12)
        self.push_screen(Opening())
        self.backend.on_error = lambda text: self.call_from_thread(self._service_failed, text)
        self.backend.start()
        self._open()

    @work(group="open")
    async def _open(self) -> None:
        if self.prepare is not None and not await self._prepared(self.prepare):
            return
        try:
            await self.backend.open()
        except (BackendError, DatabaseError, OSError, DBAPIError) as exc:  # one line, no traceback
            said = isinstance(exc, BackendError | DatabaseError)
            self.failure = str(exc) if said else describe_error(exc)
            self.exit(return_code=1, message=f"deskline: {self.failure}")
            return
        await self._desk_keymap()
        for name, service in self.services:
            self.backend.run_service(name, service)
        self.coordinator = Coordinator(self.backend)
        self.ready = True
        await self.switch_mode("inbox")
        self.set_interval(self.live_interval, self._check_live)
        self.set_interval(CHECK_EVERY, self._check_coordination)
        self._check_coordination()
        self._settle_after_first_visit("inbox")

    async def _desk_keymap(self) -> None:
        """SPEC S3: the user's keymap kept in the desk (`user keymap set`) wins over keys.toml;
        in an SSH session it is the only one."""
        me = self.backend.me.id
        keys = await self.backend.query(lambda session: SqlRepository(session).user_keymap(me))
        if keys:
            self.set_keymap(keys)

    async def _prepared(self, prepare: Prepare) -> bool:
        """Run `prepare` (the demo's build) on a thread while the Opening screen shows its
        progress; False (and the app exits with the reason) when it fails."""
        opening = self.screen

        def report(done: int, total: int) -> None:
            if self._stop_preparing.is_set():
                raise BuildStopped
            if isinstance(opening, Opening):
                self.call_from_thread(opening.show_progress, done, total)

        try:
            await asyncio.to_thread(prepare, report)
        except BuildStopped:
            return False
        except Exception as exc:  # the build's own failure: say it, do not open a half desk
            log.error("preparing the desk failed", exc_info=exc)
            self.failure = str(exc) or type(exc).__name__
            self.exit(return_code=1, message=f"deskline: the demo could not be built: {exc}")
            return False
        return True

    def on_notify(self, event: Notify) -> None:
        """At most MAX_TOASTS notices on screen: the newest replaces the oldest, so notices
        never pile up over the lists and dialogs (runs before App adds the new one)."""
        shown = list(self._notifications)
        for old in shown[: max(0, len(shown) - MAX_TOASTS + 1)]:
            self._unnotify(old, refresh=False)

    def _service_failed(self, text: str) -> None:
        self.notify(text, title="Background work stopped", severity="error", markup=False)

    def _check_live(self) -> None:
        """One check at a time: a check still running when the next is due is left to finish.
        Cancelling it would lose what it saw, since the backend's thread has already moved its
        marker past the change the screens were never told about."""
        if not self.exiting and not _running(self._live_poll):
            self._live_poll = self._poll()

    @work(group="live", exit_on_error=False)
    async def _poll(self) -> None:
        if await self.backend.changed():
            self.screen.post_message(DataChanged())

    def _check_coordination(self) -> None:
        """As `_check_live`: a tick still running is left to finish (cancelling it could cut
        its heartbeat's write short on the backend's thread)."""
        if not self.exiting and self.coordinator is not None and not _running(self._coordination):
            self._coordination = self._coordinate(self.coordinator)

    @work(group="coordination", exit_on_error=False)
    async def _coordinate(self, coordinator: Coordinator) -> None:
        """Heartbeat, badge and presence (app.screens.coordination); the top bar follows."""
        if await coordinator.tick(self):
            for screen in self.screen_stack:
                if isinstance(screen, DeskScreen):
                    screen.show_coordination()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's own workers (the checks run every second or so) failing: a notice."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self._say_failed(f"worker {event.worker.name}", event.worker.error)

    def _handle_exception(self, error: Exception) -> None:
        """A screen's worker that failed on the database (a lock held past the wait, a dropped
        connection) is a one-line notice and the app goes on: one failed read took the whole
        session down before. Anything else still ends the app with its traceback, as a bug
        should."""
        if isinstance(error, WorkerFailed) and _survivable(error.error):
            self._say_failed("a screen's worker", error.error)
            return
        super()._handle_exception(error)

    def _say_failed(self, what: str, error: BaseException) -> None:
        log.error("%s failed", what, exc_info=error)
        if _survivable(error):
            text = f"{describe_error(error)}. Nothing was lost: try again."
            title = "The desk did not answer"
        else:
            text, title = str(error) or type(error).__name__, "Something went wrong"
        self.notify(text, title=title, severity="error", markup=False)

    async def action_switch_mode(self, mode: str) -> None:
        if self.ready:
            if mode == self.current_mode:
                await self._back_to_mode_screen()
            await self.switch_mode(mode)
            self._settle_after_first_visit(mode)

    async def _back_to_mode_screen(self) -> None:
        """The mode's key in its own mode goes back to its screen (`3` in the workflow editor
        opened from settings shows settings), closing screens opened over it that hold no
        typing: a record, the editor, help, my tasks; a dialog stays."""
        mode_screens = tuple(self.MODES.values())
        while len(self.screen_stack) > 1 and not isinstance(self.screen, mode_screens):
            if self.screen.is_modal and not isinstance(self.screen, HelpScreen | TasksScreen):
                return
            await self.pop_screen()

    def _settle_after_first_visit(self, mode: str) -> None:
        """A mode's screen, built on its first visit, lives as long as the app: once it has
        loaded, take it (and everything else alive) out of the cyclic collector's walks."""
        if mode not in self._settled:
            self._settled.add(mode)
            self.set_timer(SETTLE_AFTER, settle_memory)

    def action_tasks(self) -> None:
        if self.ready and not isinstance(self.screen, TasksScreen):
            self.push_screen(TasksScreen())

    def action_notifications(self) -> None:
        if self.ready and not isinstance(self.screen, NotificationsScreen):
            self.push_screen(NotificationsScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: the current screen's keys, then every command of every other screen
        (found by its words; choosing one goes there and runs it)."""
        yield from self._here(screen)
        for place in commands.other_places(screen):
            yield from self._elsewhere(place)
        settings_keys = commands.screen_key_names(SettingsScreen, self._keymap)
        for row in commands.settings_row_commands(settings_keys):
            yield SystemCommand(row.title, row.help, lambda row=row: self._go_to_settings(row))
        yield SystemCommand("Keys of this screen", "the help screen (?)", self.action_help)
        yield SystemCommand("Quit Deskline", "q", self.exit)

    def _here(self, screen: Screen[Any]) -> Iterator[SystemCommand]:
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen or binding.id == "app.palette":
                continue
            seen.add(binding.action)
            key = self.get_key_display(binding)
            yield SystemCommand(
                f"{binding.description} ({key})",
                binding.tooltip or f"key {key}",
                lambda node=active.node, action=binding.action: self.run_action(action, node),
            )

    def _elsewhere(self, place: Place) -> Iterator[SystemCommand]:
        for binding in commands.place_bindings(place, self._keymap):
            key = self.get_key_display(binding)
            yield SystemCommand(
                f"{place.name}: {binding.description} ({key})",
                f"goes to {place.name.lower()}, key {key} there",
                lambda place=place, binding=binding: self._go_and_run(place, binding),
            )

    @work(group="palette", exclusive=True)
    async def _go_to_settings(self, row: commands.RowCommand) -> None:
        """A settings command on a kind of row: go there and name the key."""
        settings = next(p for p in commands.PLACES if p.name == "Settings")
        if self.ready and await self._leave_for(settings):
            self.notify(row.notice, timeout=8)

    @work(group="palette", exclusive=True)
    async def _go_and_run(self, place: Place, binding: Binding) -> None:
        """Go to `place` (switching mode, opening it from there) and run the command; one that
        changes something at once is left to its key, on the row the user now sees."""
        if not self.ready or not await self._leave_for(place):
            return
        if place.app_opener:
            await self.run_action(place.app_opener)
        elif place.opener and not isinstance(self.screen, place.screen):
            await self.run_action(place.opener, self.screen)
        target = await self._wait_for(place)
        if target is None:
            return  # the opener said why (no ticket yet, say)
        key = key_text(binding)
        if commands.action_name(binding.action) in commands.IMMEDIATE:
            self.notify(f"{binding.description}: press {key} on the row you mean", timeout=6)
        else:
            await self.run_action(binding.action, target)

    async def _leave_for(self, place: Place) -> bool:
        """Switch to the place's mode and close what is pushed over its screen (a ticket
        record, the workflow editor, help, my tasks); a window that may hold typing (a
        draft, a dialog) is left to the user: False, with a notice."""
        deadline = time.monotonic() + 1
        while isinstance(self.screen, CommandPalette) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the palette closes before its command runs
        if place.mode and self.current_mode != place.mode:
            await self.action_switch_mode(place.mode)
        while len(self.screen_stack) > 1 and not isinstance(self.screen, place.screen):
            if self.screen.is_modal and not isinstance(self.screen, HelpScreen | TasksScreen):
                self.notify(
                    "Close this window first (escape), then choose the command again.",
                    severity="warning",
                )
                return False
            if not place.mode and not self.screen.is_modal:
                break  # my tasks open over any screen
            await self.pop_screen()
        return True

    async def _wait_for(self, place: Place, timeout: float = 3.0) -> Screen[Any] | None:
        """The place's screen once on top and loaded, None if it did not open in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen
            if isinstance(screen, place.screen) and _loaded(screen):
                return screen
            await asyncio.sleep(0.05)
        return None

    async def on_unmount(self) -> None:
        self._stop_preparing.set()  # a demo still building stops at its next step
        if self.coordinator is not None:
            with contextlib.suppress(Exception):  # a crash leaves the row to age out
                await self.coordinator.leave()
        await self.backend.close()
        gc.unfreeze()  # hand what was frozen back to the collector (tests open many apps)


def _running(worker: Worker[None] | None) -> bool:
    return worker is not None and not worker.is_finished


def _survivable(error: BaseException) -> bool:
    """The database failed, not the app: locked past the wait, the server gone or restarting
    (SQLAlchemy wraps the driver's connection errors in DBAPIError)."""
    return isinstance(error, DBAPIError | DatabaseError | BackendError)


def _loaded(screen: Screen[Any]) -> bool:
    """The screen's first rows are in (its lists, or the settings screen's own flag)."""
    lists = screen.query("RowList")
    return getattr(screen, "loaded", True) and all(getattr(w, "loaded", True) for w in lists)


def run_app(
    url: str,
    *,
    as_user: str | None,
    mail: bool = True,
    feed_seconds: float = 0.0,
    prepare: Prepare | None = None,
) -> int:
    """Open the app; returns the exit code (1 with a message when the database cannot open)."""
    services: list[tuple[str, Service]] = []
    if mail:
        services.append(("Mail worker", mail_worker))
    if feed_seconds > 0:
        services.append(("Demo feed", demo_feed(feed_seconds)))
    app = DesklineApp(url, as_user=as_user, services=services, prepare=prepare)
    app.run()
    return app.return_code or 0


async def mail_worker(desk: Desk, stop: asyncio.Event) -> None:
    """Fetch, automate and send inside the app (the same Worker as `deskline sync`)."""
    await MailWorker(desk, inbound=run_inbound).run(stop)


def demo_feed(seconds: float) -> Service:
    async def feed(desk: Desk, stop: asyncio.Event) -> None:
        from demo import run_feed

        await run_feed(desk, stop, interval=seconds)

    return feed
