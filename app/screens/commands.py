"""The command palette's catalogue: every command of every screen, found by its words.

`ctrl+p` lists the current screen's keys, run where the user is, and the commands of every other
screen: choosing one goes to that screen (opening the ticket record of the highlighted
conversation, or the workflow editor, on the way) and runs it there. A command that changes
something at once (close, move, switch, delete…) is not run on a row the user has not seen: the
palette goes there and says which key does it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from textual.binding import Binding
from textual.command import Hit, Hits
from textual.dom import DOMNode
from textual.system_commands import SystemCommandsProvider

from app.screens.board import BoardScreen
from app.screens.inbox import InboxScreen
from app.screens.keys import UNBOUND, key_text
from app.screens.settings import SettingsScreen
from app.screens.settings.rows import Row
from app.screens.tasks import TasksScreen
from app.screens.ticket import TicketScreen
from app.screens.workflows import WorkflowsScreen
from automation.action_kinds.registry import picker

# Actions that change something at once: run from the palette elsewhere they would act on a
# row the user has not looked at, so the palette goes there and names the key instead.
IMMEDIATE = frozenset(
    {
        "close",
        "create_ticket",
        "move",
        "switch",
        "delete",
        "delete_action",
        "delete_following",
        "delete_workflow",
        "done",
        "clone",
        "clone_action",
        "clone_workflow",
        "reenroll",
        "retry",
    }
)
# Moving around a list is not a command.
NAVIGATION = frozenset({"cursor", "column", "conversation", "down", "up", "back", "scroll"})


@dataclass(frozen=True)
class Place:
    """A screen the palette can reach: the mode it lives in and how to open it from there."""

    name: str
    screen: type[DOMNode]
    mode: str = ""  # the app mode to switch to first ("" for none)
    opener: str = ""  # an action on that mode's screen that opens this one
    app_opener: str = ""  # or an action of the app that opens it


PLACES = (
    Place("Inbox", InboxScreen, mode="inbox"),
    Place("Board", BoardScreen, mode="board"),
    Place("Settings", SettingsScreen, mode="settings"),
    Place("Ticket record", TicketScreen, mode="inbox", opener="open_ticket"),
    Place("Workflows", WorkflowsScreen, mode="settings", opener="workflows"),
    Place("My tasks", TasksScreen, app_opener="tasks"),
)


def action_name(action: str) -> str:
    """`move(1)` -> `move`."""
    return action.split("(", 1)[0]


def is_command(binding: Binding) -> bool:
    return bool(binding.id and binding.description) and (
        action_name(binding.action) not in NAVIGATION
    )


def place_bindings(place: Place, keymap: Mapping[str, str]) -> list[Binding]:
    """The commands of a screen, one binding (its first key after the keymap) per id."""
    bindings = place.screen._merged_bindings
    if bindings is None:
        return []
    bindings = bindings.copy()
    if keymap:
        bindings.apply_keymap(keymap)
    found: dict[str, Binding] = {}
    for same_key in bindings.key_to_bindings.values():
        for binding in same_key:
            if is_command(binding) and binding.id:
                found.setdefault(binding.id, binding)
    return list(found.values())


def words_match(query: str, *texts: str) -> bool:
    """Every word of the query begins a word of the texts ("move next" finds "Move to next
    status"); case does not matter."""
    words = " ".join(texts).casefold().replace("(", " ").replace(":", " ").split()
    return all(any(w.startswith(q) for w in words) for q in query.casefold().split())


class DeskCommands(SystemCommandsProvider):
    """The app's palette commands, found by fuzzy match of the title or by words."""

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, *_ in self.app.get_system_commands(self.screen):
            score = matcher.match(title)
            if score <= 0 and words_match(query, title, help_text):
                score = 0.5
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


@dataclass(frozen=True)
class RowCommand:
    """A settings command that acts on a kind of row: the palette goes to settings and says
    which key to press on such a row (it never guesses the row)."""

    title: str
    help: str
    notice: str


def settings_row_commands(key_name: Callable[[str], str]) -> Iterator[RowCommand]:
    """What each kind of settings row takes, as the side pane words it ("edit the template"),
    and each action an admin can add ("Wait", "Send email"...), found by their words."""
    seen: set[str] = set()
    for kind in _row_types(Row):
        name = kind.kind.replace("_", " ")
        for hint in kind.KEYS:
            key = hint.key(key_name)
            title = f"Settings: {hint.what} ({name} rows, {key})"
            if title not in seen:
                seen.add(title)
                yield RowCommand(
                    title,
                    f"goes to settings; on a {name} row, {key} does it",
                    f"On a {name} row, press {key}: {hint.what}",
                )
    add = key_name("settings.add_action")
    for _kind, choice in picker():
        yield RowCommand(
            f"Settings: add action: {choice.label} ({add})",
            f"goes to settings; on a status or action row, {add} then {choice.label}",
            f"On a status or action row, press {add} and pick: {choice.label}",
        )


def screen_key_names(screen: type[DOMNode], keymap: Mapping[str, str]) -> Callable[[str], str]:
    """Binding id -> its key on `screen` after the keymap (for a screen not on show)."""
    bindings = screen._merged_bindings
    keys: dict[str, str] = {}
    if bindings is not None:
        bindings = bindings.copy()
        if keymap:
            bindings.apply_keymap(keymap)
        for same_key in bindings.key_to_bindings.values():
            for binding in same_key:
                if binding.id:
                    keys.setdefault(binding.id, key_text(binding))
    return lambda binding_id: keys.get(binding_id, UNBOUND)


def _row_types(base: type[Row]) -> list[type[Row]]:
    found: list[type[Row]] = []
    for sub in base.__subclasses__():
        if getattr(sub, "KEYS", ()) and getattr(sub, "kind", ""):
            found.append(sub)
        found += _row_types(sub)
    return found


def other_places(current: DOMNode) -> Iterator[Place]:
    """Every place but the one the user is on."""
    return (place for place in PLACES if not isinstance(current, place.screen))
