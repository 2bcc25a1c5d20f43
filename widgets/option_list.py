"""Textual's OptionList with a highlight that can be reverse video (SPEC D12), no silent wrap and
the list keys of the app's other lists (`g`/`G`).

Textual 8.2's `Widget.get_visual_style` builds the style an option list draws with from the
CSS `text-style`, keeping bold, dim, italic, underline and strike but not reverse: under
NO_COLOR, where colour no longer marks the highlighted option, `text-style: reverse` did
nothing and the highlight was only bold. This list adds the reverse its component styles ask
for. Use it instead of `textual.widgets.OptionList`; the CSS type `OptionList` still applies.

Textual's list wraps from the last option to the first (and back): `j` held on a long list
jumped to the top without a word. This one stays at the end, as the inbox and board lists do.
"""

from __future__ import annotations

from typing import ClassVar

from textual import _widget_navigation
from textual.binding import Binding, BindingType
from textual.style import Style as VisualStyle
from textual.widgets import OptionList as TextualOptionList

REVERSE = VisualStyle(reverse=True)


class OptionList(TextualOptionList):
    # Without colour the highlighted option is reverse video, focused or not (SPEC D12).
    DEFAULT_CSS = """
    OptionList:nocolor > .option-list--option-highlighted { text-style: reverse; }
    OptionList:nocolor:focus > .option-list--option-highlighted { text-style: reverse bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g,home", "first", "First", show=False, id="list.first"),
        Binding("G,end", "last", "Last", show=False, id="list.last"),
    ]

    def get_visual_style(self, *component_classes: str, partial: bool = False) -> VisualStyle:
        style = super().get_visual_style(*component_classes, partial=partial)
        if any(self.get_component_styles(name).text_style.reverse for name in component_classes):
            return style + REVERSE
        return style

    def action_cursor_down(self) -> None:
        """The next enabled option; at the last one the highlight stays (no wrap)."""
        self._step(1)

    def action_cursor_up(self) -> None:
        """The previous enabled option; at the first one the highlight stays (no wrap)."""
        self._step(-1)

    def _step(self, direction: _widget_navigation.Direction) -> None:
        found = _widget_navigation.find_next_enabled_no_wrap(
            self.options, anchor=self.highlighted, direction=direction
        )
        if found is not None:
            self.highlighted = found
