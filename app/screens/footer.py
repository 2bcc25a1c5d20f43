"""The footer: the most used keys of the screen first, as many as fit, then `? more`.

Textual's Footer lists every key in the order the bindings are declared and lets the last ones
fall off the right edge (at 80 columns the inbox lost half its keys, and a cut key left a stray
character). DeskFooter orders the keys by how often a person needs them (FOOTER_FIRST, by
binding id, per screen), shows the ones that fit the width whole, and when some do not fit it
names the help key as `more`: `?` lists every key of the screen.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP_ID = "app.help"
MORE = "more"
# The keys people press most, per screen, first (binding ids carry their screen's name); a
# screen's other keys follow in the order they are declared, then the app's keys.
FOOTER_FIRST: tuple[str, ...] = (
    "inbox.reply",
    "inbox.close",
    "inbox.assign",
    "inbox.open_ticket",
    "inbox.note",
    "inbox.undo",
    "inbox.search",
    "inbox.filter",
    "inbox.create_ticket",
    "inbox.channel",
    "board.move_next",
    "board.move_prev",
    "board.status",
    "board.assign",
    "board.close",
    "board.undo",
    "ticket.back",
    "ticket.reply",
    "ticket.note",
    "ticket.status",
    "ticket.close",
    "ticket.undo",
    "ticket.owner",
    "ticket.priority",
    "ticket.view",
    "settings.switch",
    "settings.edit",
    "settings.add_action",
    "settings.target",
    "settings.view_workflow",
    "workflows.back",
    "workflows.switch",
    "workflows.add_action",
    "workflows.edit_action",
    "tasks.open",
    "tasks.done",
    "tasks.close",
)
# The app's own keys come after the screen's: the mode keys are on the top bar too.
FOOTER_LAST: tuple[str, ...] = ("app.tasks", "app.quit", "app.inbox", "app.board", "app.settings")

Entry = tuple[Binding, bool, str]  # a binding, whether it is enabled now, its tooltip


def rank(binding: Binding, position: int) -> tuple[int, int]:
    """Sort key of a footer entry: listed first keys, then the screen's, then the app's."""
    if binding.id in FOOTER_FIRST:
        return 0, FOOTER_FIRST.index(binding.id)
    if binding.id in FOOTER_LAST:
        return 2, FOOTER_LAST.index(binding.id)
    return 1, position


def footer_entries(screen: Screen[object]) -> list[Entry]:
    """The keys the footer may show, one per action, most used first."""
    by_action: dict[str, Entry] = {}
    for _node, binding, enabled, tooltip in screen.active_bindings.values():
        if binding.show and binding.action not in by_action:
            by_action[binding.action] = (binding, enabled, tooltip)
    entries = list(by_action.values())
    order = {id(entry[0]): n for n, entry in enumerate(entries)}
    return sorted(entries, key=lambda entry: rank(entry[0], order[id(entry[0])]))


def fit(widths: Iterable[int], room: int) -> int:
    """How many entries, in order, fit in `room` columns whole."""
    used = count = 0
    for width in widths:
        if used + width > room:
            break
        used += width
        count += 1
    return count


class DeskFooter(Footer):
    """A Footer that never cuts a key: the most used ones that fit, then `? more`."""

    _width = 0  # the width the keys were fitted to

    def key_width(self, key: str, description: str) -> int:
        # FooterKey: " key description " (padding 0 1 on the key, 0 1 0 0 on the text); compact:
        # "key description" and a margin of 1.
        return cell_len(key) + cell_len(description) + (2 if self.compact else 3)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        entries = footer_entries(self.screen)
        more = next((e for e in entries if e[0].id == HELP_ID), None)
        entries = [e for e in entries if e is not more]
        self._width = self.size.width or self.app.size.width
        room = self._width - self._palette_width() - 1
        widths = [self.key_width(self.app.get_key_display(b), b.description) for b, _, _ in entries]
        help_text = more[0].description if more else ""
        if more is not None:
            help_width = self.key_width(self.app.get_key_display(more[0]), help_text)
            if sum(widths) + help_width > room:
                help_text = MORE
                room -= self.key_width(self.app.get_key_display(more[0]), MORE)
            else:
                room -= help_width
        for binding, enabled, tooltip in entries[: fit(widths, room)]:
            yield self._key(binding, binding.description, enabled, tooltip)
        if more is not None:
            yield self._key(more[0], help_text, more[1], "every key of this screen")
        yield from self._palette()

    def _key(self, binding: Binding, description: str, enabled: bool, tooltip: str) -> FooterKey:
        key = FooterKey(
            binding.key,
            self.app.get_key_display(binding),
            description,
            binding.action,
            disabled=not enabled,
            tooltip=tooltip,
        )
        return key.data_bind(compact=Footer.compact)

    def _palette_binding(self) -> Binding | None:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        active = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return None if active is None else active.binding

    def _palette_width(self) -> int:
        binding = self._palette_binding()
        if binding is None:
            return 0
        # the palette key is docked right behind a one-column border, with one column padding
        return self.key_width(self.app.get_key_display(binding), binding.description) + 2

    def _palette(self) -> ComposeResult:
        binding = self._palette_binding()
        if binding is not None:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready and event.size.width != self._width:
            self.call_after_refresh(self.recompose)
