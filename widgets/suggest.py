"""Completion for a comma-separated list typed in an Input ("billing, vi" -> "billing, vip")."""

from __future__ import annotations

from collections.abc import Iterable

from textual.suggester import Suggester


class ListItemSuggester(Suggester):
    """Completes the item being typed after the last comma from known words, most used first."""

    def __init__(self, known: Iterable[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self.known = list(known)

    async def get_suggestion(self, value: str) -> str | None:
        head, comma, typed = value.rpartition(",")
        start = typed.lstrip()
        if not start:
            return None
        for word in self.known:
            if word.startswith(start.casefold()) and word != start.casefold():
                spaces = typed[: len(typed) - len(start)]
                return f"{head}{comma}{spaces}{word}"
        return None
