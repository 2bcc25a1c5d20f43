"""What the settings rows use of the screen that shows them (rows.Row's `screen` parameter).

The row types are typed against this protocol, not against SettingsScreen, so they do not import
the screen that imports them (through build); SettingsScreen satisfies it structurally, and
screen.py has mypy check that it does. It imports nothing from the settings package.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

from textual.app import App
from textual.notifications import SeverityLevel
from textual.worker import Worker

from app.backend import Backend, Me
from app.screens.base import DeskScreen
from storage.repository import SqlRepository

T = TypeVar("T")


class SettingsHost(Protocol):
    """The settings screen as its rows see it."""

    pipeline_id: int | None  # the pipeline shown; a row removing it clears it

    # --- the screen's parts the rows reach (DeskScreen's) -------------------------------------

    @property
    def app(self) -> App[Any]: ...

    @property
    def backend(self) -> Backend: ...

    @property
    def me(self) -> Me: ...

    @property
    def desk_screen(self) -> DeskScreen:
        """The screen itself, for the action dialogs it shares with the workflow editor
        (app.screens.action_dialogs takes a DeskScreen)."""
        ...

    def notify(self, message: str, *, severity: SeverityLevel = "information") -> None: ...

    def change(
        self,
        fn: Callable[[SqlRepository, Any], T],
        done: str | Callable[[T], str] | None = None,
        after: Callable[[T], Any] | None = None,
    ) -> Worker[Any]:
        """Run a change as the user, say what happened, refresh (DeskScreen.change)."""
        ...

    def key_name(self, binding_id: str) -> str:
        """The key that runs a binding now (after keys.toml)."""
        ...

    # --- what the rows read of the pipeline shown ---------------------------------------------

    @property
    def pipeline_name(self) -> str: ...

    @property
    def pipelines(self) -> list[dict[str, Any]]: ...

    @property
    def statuses(self) -> list[dict[str, Any]]: ...

    @property
    def triggers(self) -> list[dict[str, Any]]: ...

    @property
    def templates(self) -> list[dict[str, Any]]: ...

    # --- what the rows ask of the screen ------------------------------------------------------

    def ask(self, flow: Coroutine[Any, Any, None]) -> None:
        """Run a row's questions (it waits for dialogs) in a worker."""
        ...

    def select(self, key: str) -> None:
        """Highlight this row after the next load."""
        ...

    def select_action(self, action_id: int) -> None: ...

    def go_to_pipeline(self, pipeline_id: int) -> None: ...

    # --- the screen's keys a row's enter runs -------------------------------------------------

    def action_view_workflow(self) -> None: ...

    def action_switch(self) -> None: ...

    def action_pick_pipeline(self) -> None: ...
