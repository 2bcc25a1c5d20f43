"""Text tables and progress bars for the CLI: rich draws them on a terminal.

On a terminal a table fits its width: long values end in "…", a cell never wraps onto a second
line, and the header is bold (no colour, so NO_COLOR has nothing to take away). Piped or
redirected, nothing is ever cut: plain columns as wide as their longest value (in terminal
cells, as rich measures them), two spaces between them, no box drawing and no trailing blanks,
one row per line (grep and cut work). Values must already be clean of control characters
(output.clean); rich never reads them as markup.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Task
    from rich.table import Table
    from rich.text import Text


@dataclass(frozen=True)
class Col:
    """A table column. `fixed`: short values (numbers, states) a terminal never shortens."""

    title: str
    right: bool = False
    fixed: bool = False


def print_table(
    columns: Sequence[Col], rows: Sequence[Sequence[str]], *, file: TextIO | None = None
) -> None:
    from rich.console import Console  # here, not at the top: only commands that print tables pay

    out = file or sys.stdout
    if _is_terminal(out):
        Console(file=out, highlight=False, emoji=False).print(_table(columns, rows))
    else:
        out.write(plain_table(columns, rows))


def plain_table(columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> str:
    """The piped layout: every value whole, columns as wide as their widest cell (measured in
    terminal cells, as rich measures them), two spaces apart, no trailing blanks. Written here
    rather than rendered by rich: rich takes about 0.7 ms a row, and a piped list can be long."""
    from rich.cells import cell_len

    table = [[c.title for c in columns], *([str(v) for v in row] for row in rows)]
    widths = [max(cell_len(line[i]) for line in table) for i in range(len(columns))]
    out = []
    for line in table:
        cells = [
            _pad(value, width, right=column.right, used=cell_len(value))
            for value, width, column in zip(line, widths, columns, strict=True)
        ]
        out.append("  ".join(cells).rstrip() + "\n")
    return "".join(out)


def _pad(value: str, width: int, *, right: bool, used: int) -> str:
    blank = " " * (width - used)
    return blank + value if right else value + blank


def _table(columns: Sequence[Col], rows: Sequence[Sequence[str]]) -> Table:
    from rich.table import Table

    table = Table(
        box=None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0),
        header_style="bold",
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
    from rich.text import Text

    return Text(value, no_wrap=True, overflow="ellipsis")


def _is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


# --- progress --------------------------------------------------------------------------------


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while the block runs, fed by the callback it yields
    (`show(done, total)`); None when stderr is not a terminal (nothing to draw on)."""
    if not _is_terminal(sys.stderr):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(file=sys.stderr, highlight=False)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), _rate_column())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(label, total=None)

        def show(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield show


def _rate_column() -> Any:
    """A column of items a second since the start ("250/s")."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def __init__(self) -> None:
            super().__init__()
            self.started = time.monotonic()

        def render(self, task: Task) -> Text:
            rate = task.completed / max(time.monotonic() - self.started, 1e-6)
            return Text(f"{rate:.0f}/s")

    return Rate()
