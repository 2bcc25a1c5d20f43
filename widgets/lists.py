"""The app's two big lists: conversations (inbox) and ticket cards (a board column)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size

from widgets.row_list import Cell, Row, RowList
from widgets.text import age, line


def fit(text: str, width: int) -> str:
    """Exactly `width` terminal cells: cut with an ellipsis, or padded. Cells, not characters:
    a CJK character takes two."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class ConversationList(RowList):
    """One line per conversation: state, contact, subject, ticket, age."""

    empty_text: ClassVar[str] = "No conversations match this view."

    def row_cells(self, row: Row, line_no: int, width: int) -> Sequence[Cell]:
        marker = "✓" if row["state"] == "closed" else ("⚙" if row["automated"] else "●")
        who = line(row["contact_name"]) or line(row["contact"]) or "(unknown)"
        when = age(row["updated_at"])
        name_width = 10 if width < 48 else 14 if width < 70 else 20
        ticket = f"#{row['ticket']}" if row["ticket"] and width >= 44 else ""
        subject_width = max(4, width - name_width - len(ticket) - 10)
        dim = self.style("dim")
        marker_style = dim if row["state"] == "closed" else self.style("accent")
        return [
            (f" {marker} ", marker_style),
            (fit(who, name_width) + " ", None),
            (fit(line(row["subject"]) or "(no subject)", subject_width) + " ", None),
            (ticket, self.style("accent")),
            (f" {when:>3} ", dim),
        ]


class TicketCards(RowList):
    """Two lines per ticket: number and subject; contact, owner and age."""

    row_height: ClassVar[int] = 2
    empty_text: ClassVar[str] = "No tickets."

    def __init__(self, status: dict[str, Any], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.status = status  # the column's status: id, label, state

    def row_cells(self, row: Row, line_no: int, width: int) -> Sequence[Cell]:
        if line_no == 0:
            number = f"#{row['id']}"
            flag = "!" if row["priority"] in ("high", "urgent") else " "
            subject = line(row["subject"]) or "(no subject)"
            return [
                (f"{flag}{number} ", self.style("accent")),
                (fit(subject, max(1, width - len(number) - 2)), None),
            ]
        who = line(row["contact_name"]) or line(row["contact"]) or "?"
        owner = line(row["owner"]) or "nobody"
        when = age(row["updated_at"])
        rest = f" {owner} · {when}"
        return [(fit("  " + who, max(1, width - len(rest))) + rest, self.style("dim"))]
