"""Textual's OptionList with a highlight that can be reverse video (SPEC D12).

Textual 8.2's `Widget.get_visual_style` builds the style an option list draws with from the
CSS `text-style`, keeping bold, dim, italic, underline and strike but not reverse: under
NO_COLOR, where colour no longer marks the highlighted option, `text-style: reverse` did
nothing and the highlight was only bold. This list adds the reverse its component styles ask
for. Use it instead of `textual.widgets.OptionList`; the CSS type `OptionList` still applies.
"""

from __future__ import annotations

from textual.style import Style as VisualStyle
from textual.widgets import OptionList as TextualOptionList

REVERSE = VisualStyle(reverse=True)


class OptionList(TextualOptionList):
    # Without colour the highlighted option is reverse video, focused or not (SPEC D12).
    DEFAULT_CSS = """
    OptionList:nocolor > .option-list--option-highlighted { text-style: reverse; }
    OptionList:nocolor:focus > .option-list--option-highlighted { text-style: reverse bold; }
    """

    def get_visual_style(self, *component_classes: str, partial: bool = False) -> VisualStyle:
        style = super().get_visual_style(*component_classes, partial=partial)
        if any(self.get_component_styles(name).text_style.reverse for name in component_classes):
            return style + REVERSE
        return style
