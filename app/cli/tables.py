"""Text tables and progress bars for the CLI, drawn by rich.

On a terminal a table fits its width: long values end in "…", a cell never wraps onto a second
line, and the header is bold (no colour, so NO_COLOR has nothing to take away). Piped or
redirected, nothing is ever cut: plain columns as wide as their longest value, two spaces
between them, no box drawing and no trailing blanks, one row per line (grep and cut work).
Values must already be clean of control characters (output.clean); rich never reads them as
markup.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
)
from rich.table import Table
from rich.text import Text

PLAIN_WIDTH = 1_000_000  # piped: wide enough that no column is ever shortened


@dataclass(frozen=True)
class Col:
    """A table column. `fixed`: short values (numbers, states) a terminal never shortens."""

    title: str
    right: bool = False
    fixed: bool = False


def print_table(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], *, file: TextIO | None = None
) -> None:
    out = file or sys.stdout
    if _is_terminal(out):
        Console(file=out, highlight=False, emoji=False).print(_table(columns, rows, fit=True))
    else:
        out.write(plain_table(columns, rows))


def plain_table(columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> str:
    """The piped layout: every value whole, columns aligned, lines without trailing blanks."""
    console = Console(
        file=io.StringIO(),
        width=PLAIN_WIDTH,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
    )
    with console.capture() as captured:
        console.print(_table(columns, rows, fit=False), crop=False)
    return "".join(line.rstrip() + "\n" for line in captured.get().splitlines())


def _table(columns: Sequence[Col], rows: Sequence[Sequence[str]], *, fit: bool) -> Table:
    table = Table(
        box=None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold" if fit else "",
    )
    for column in columns:
        table.add_column(
            column.title,
            justify="right" if column.right else "left",
            # A shortenable column is "wrappable" to rich, so it gives up width first; each
            # cell then refuses to wrap and ends in an ellipsis instead (see _cell).
            no_wrap=column.fixed,
            overflow="ellipsis",
        )
    for row in rows:
        table.add_row(*(_cell(value) for value in row))
    return table


def _cell(value: str) -> Text:
    return Text(value, no_wrap=True, overflow="ellipsis")


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


# --- progress --------------------------------------------------------------------------------


class _Rate(ProgressColumn):
    """Items a second since the start ("250/s")."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def render(self, task: Task) -> Text:
        rate = task.completed / max(time.monotonic() - self.started, 1e-6)
        return Text(f"{rate:.0f}/s")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while the block runs, fed by the callback it yields
    (`show(done, total)`); None when stderr is not a terminal (nothing to draw on)."""
    if not _is_terminal(sys.stderr):
        yield None
        return
    console = Console(file=sys.stderr, highlight=False)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), _Rate())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=None)

        def show(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield show
