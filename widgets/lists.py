"""The app's two big lists: conversations (inbox) and ticket cards (a board column)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size

from automation.snooze import is_snoozed, left
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
    """One line per conversation: state, contact, subject, ticket (and its status once the
    ticket is closed), age of the newest email."""

    empty_text: ClassVar[str] = "No conversations match this view."

    def row_cells(self, row: Row, line_no: int, width: int) -> Sequence[Cell]:
        ticket_closed = row.get("ticket_state") == "closed"
        done = row["state"] == "closed" or ticket_closed
        marker = "✓" if done else ("⚙" if row["automated"] else "●")
        who = line(row["contact_name"]) or line(row["contact"]) or "(unknown)"
        # The newest email's date, as a mail reader dates a thread (not the last change).
        when = age(row.get("last_mail_at") or row["updated_at"])
        name_width = 10 if width < 48 else 14 if width < 70 else 20
        ticket = f"#{row['ticket']}" if row["ticket"] and width >= 44 else ""
        # The Open view keeps conversations whose ticket is closed: it says so.
        status = _closed_status(row, width, after_number=bool(ticket)) if ticket_closed else ""
        subject_width = max(4, width - name_width - len(ticket) - cell_len(status) - 10)
        dim = self.style("dim")
        return [
            (f" {marker} ", dim if done else self.style("accent")),
            (fit(who, name_width) + " ", None),
            (fit(line(row["subject"]) or "(no subject)", subject_width) + " ", None),
            (ticket, self.style("accent")),
            (status, dim),
            (f" {when:>3} ", dim),
        ]


def _closed_status(row: Row, width: int, *, after_number: bool) -> str:
    """A closed ticket's status label, short: "Closed", or "Closed" after its number."""
    label = fit(line(row["status"]) or "Closed", 10 if width >= 44 else 7).rstrip()
    return f" {label}" if after_number else label


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
            snoozed = snooze_mark(row.get("snoozed_until"))
            cells: list[Cell] = [
                (f"{flag}{number} ", self.style("accent")),
                (fit(subject, max(1, width - len(number) - 2 - len(snoozed))), None),
            ]
            return [*cells, (snoozed, self.style("dim"))] if snoozed else cells
        who = line(row["contact_name"]) or line(row["contact"]) or "?"
        # The newest email's Date, as the inbox dates a conversation (not the last change).
        when = age(row.get("last_mail_at") or row["updated_at"])
        return [
            (
                card_second_line(who, line(row["owner"]), when, width),
                self.style("dim"),
            )
        ]


def snooze_mark(until: datetime | None) -> str:
    """The mark on a snoozed ticket's card, " z 2h" (how long until it comes back), or ""."""
    now = datetime.now(UTC)
    return f" z {left(until, now)}" if is_snoozed(until, now) and until is not None else ""


def card_second_line(who: str, owner: str, when: str, width: int) -> str:
    """A card's contact, owner and age in `width` cells. The contact comes first: the owner
    ("nobody" when unassigned) takes what the contact leaves, down to two thirds of the line,
    and is left out when fewer than six cells (or its whole name) would remain; the age always
    shows. What must be cut ends with an ellipsis."""
    room = width - 2 - len(when) - 1  # indent, age and the space before it
    owner = owner or "nobody"
    who_width = min(cell_len(who), max(room - cell_len(owner) - 3, room * 2 // 3))
    owner_room = room - who_width - 3  # " · "
    if owner_room >= min(cell_len(owner), 6):
        shown = fit(who, who_width) + " · " + fit(owner, owner_room).rstrip()
    else:
        shown = fit(who, room).rstrip()
    return fit("  " + shown, width - len(when) - 1) + " " + when
