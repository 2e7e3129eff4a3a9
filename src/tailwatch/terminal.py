"""Tables for people and for pipes: Rich on a terminal, tab-separated text otherwise.

Why: piped into `less`, a file or `cut`, a Rich table is squeezed to 80 columns and
breaks words across lines ("regist/ration/s"), which neither a reader nor a script
can use. Off a terminal the same rows go out as TSV: a header line, one line per row,
whole values.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.table import Table
from rich.text import Text


_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+")


def _plain(cell: object) -> str:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    text = " ".join(text.replace("\t", " ").split())  # one line per row, tabs only between fields
    return text.replace(",", "") if _GROUPED.fullmatch(text) else text  # 1,249 -> 1249 for scripts


def table_rows(table: Table) -> list[list[str]]:
    """The header (if shown) and every row of a Rich table as plain strings."""
    columns = table.columns
    rows = [[_plain(c.header) for c in columns]] if table.show_header else []
    cells = [list(c.cells) for c in columns]
    rows.extend([_plain(col[i]) if i < len(col) else "" for col in cells] for i in range(table.row_count))
    return rows


def print_table(console: Console, table: Table) -> None:
    """Print `table` on `console`: as drawn by Rich on a terminal, as TSV when piped."""
    if console.is_terminal:
        console.print(table)
        return
    out = console.file
    out.write("".join("\t".join(row) + "\n" for row in table_rows(table)))
    out.flush()
