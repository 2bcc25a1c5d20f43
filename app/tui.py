"""The terminal app: inbox, board and automation settings as modes over one backend."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.exc import DBAPIError
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Label
from textual.worker import Worker, WorkerState

from app.backend import Backend, BackendError, Service
from app.screens.board import BoardScreen
from app.screens.help import HelpScreen
from app.screens.inbox import InboxScreen
from app.screens.settings import SettingsScreen
from runtime.desk import Desk
from runtime.inbound import run_inbound
from runtime.worker import Worker as MailWorker
from storage.database import DatabaseError, describe_error

log = logging.getLogger("deskline.app")
LIVE_INTERVAL = 0.5  # seconds between checks for changes by other sessions and the mail worker


class DataChanged(Message):
    """Something in the database changed (another session, the mail worker, the feed)."""


class Opening(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Label(Content("Opening the help desk…"), id="opening")


def keymap_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "deskline" / "keys.toml"


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
    ) -> None:
        super().__init__()
        self.backend = Backend(url, as_user=as_user)
        self.services = list(services)
        self.keymap_file = keymap_file or keymap_path()
        self.live_interval = live_interval
        self.ready = False
        self._settled: set[str] = set()
        self.failure: str | None = None

    def on_mount(self) -> None:
        keymap, problem = load_keymap(self.keymap_file)
        if keymap:
            self.set_keymap(keymap)
        if problem:
            self.notify(problem, severity="warning", markup=False)
        self.push_screen(Opening())
        self.backend.on_error = lambda text: self.call_from_thread(self._service_failed, text)
        self.backend.start()
        self._open()

    @work(group="open")
    async def _open(self) -> None:
        try:
            await self.backend.open()
        except (BackendError, DatabaseError, OSError, DBAPIError) as exc:  # one line, no traceback
            said = isinstance(exc, BackendError | DatabaseError)
            self.failure = str(exc) if said else describe_error(exc)
            self.exit(return_code=1, message=f"deskline: {self.failure}")
            return
        for name, service in self.services:
            self.backend.run_service(name, service)
        self.ready = True
        await self.switch_mode("inbox")
        self.set_interval(self.live_interval, self._check_live)
        self._settle_after_first_visit("inbox")

    def _service_failed(self, text: str) -> None:
        self.notify(text, title="Background work stopped", severity="error", markup=False)

    def _check_live(self) -> None:
        self._poll()

    @work(group="live", exclusive=True, exit_on_error=False)
    async def _poll(self) -> None:
        if await self.backend.changed():
            self.screen.post_message(DataChanged())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """One place turns a failed worker into a notice (the app keeps running)."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            log.error("worker %s failed", event.worker.name, exc_info=event.worker.error)
            self.notify(
                str(event.worker.error) or type(event.worker.error).__name__,
                title="Something went wrong",
                severity="error",
                markup=False,
            )

    async def action_switch_mode(self, mode: str) -> None:
        if self.ready:
            await self.switch_mode(mode)
            self._settle_after_first_visit(mode)

    def _settle_after_first_visit(self, mode: str) -> None:
        """A mode's screen, built on its first visit, lives as long as the app: once it has
        loaded, take it (and everything else alive) out of the cyclic collector's walks."""
        if mode not in self._settled:
            self._settled.add(mode)
            self.set_timer(SETTLE_AFTER, settle_memory)

    def action_tasks(self) -> None:
        from app.screens.tasks import TasksScreen

        if self.ready and not isinstance(self.screen, TasksScreen):
            self.push_screen(TasksScreen())

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: every key of the current screen, by its description."""
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
        yield SystemCommand("Keys of this screen", "the help screen (?)", self.action_help)
        yield SystemCommand("Quit Deskline", "q", self.exit)

    async def on_unmount(self) -> None:
        await self.backend.close()
        gc.unfreeze()  # hand what was frozen back to the collector (tests open many apps)


def run_app(url: str, *, as_user: str | None, mail: bool = True, feed_seconds: float = 0.0) -> int:
    """Open the app; returns the exit code (1 with a message when the database cannot open)."""
    services: list[tuple[str, Service]] = []
    if mail:
        services.append(("Mail worker", mail_worker))
    if feed_seconds > 0:
        services.append(("Demo feed", demo_feed(feed_seconds)))
    app = DesklineApp(url, as_user=as_user, services=services)
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
