"""The one rich Console every human renderer prints through, and text that wraps without cutting names."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from tvselect.base.safe_text import safe_text
from tvselect.render.safe_console import SafeConsole

if TYPE_CHECKING:
    from typing import TextIO

    from rich.table import Table

PIPED_WIDTH = 200
"""Width for output that is not a terminal and has no COLUMNS: read later, so not cut to 80."""


def plain() -> bool:
    """Whether styles are off: NO_COLOR set to anything non-empty (`--no-color` sets it)."""
    return bool(os.environ.get("NO_COLOR"))


def plural(count: int, noun: str) -> str:
    """`1 host`, `2 hosts`."""
    return f"{count} {noun if count == 1 else noun + 's'}"


def make_console(stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console on `file` (default: stdout, or stderr) honouring COLUMNS and NO_COLOR; NO_COLOR
    drops bold and dim as well as colours."""
    stream = file if file is not None else sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else PIPED_WIDTH
    return SafeConsole(
        highlight=False,
        # No :emoji: codes in tvselect's text; replacing them loads a 4,000-entry table.
        emoji=False,
        soft_wrap=False,
        width=width,
        stderr=stderr,
        file=file,
        color_system=None if plain() else "auto",
    )


def _breaks(plain: str, first: int, rest: int) -> list[int]:
    """Offsets of the spaces to break `plain` at, filling lines of `first`, then `rest`, characters."""
    breaks: list[int] = []
    line_start, last_space, limit = 0, -1, first
    for index, char in enumerate(plain):
        if char == " ":
            if index - line_start > limit and last_space > line_start:
                breaks.append(last_space)
                line_start, limit = last_space + 1, rest
            last_space = index
    if len(plain) - line_start > limit and last_space > line_start:
        breaks.append(last_space)
    return breaks


def wrapped(console: Console, markup: str, indent: int = 0, hang: int = 2) -> None:
    """Print `markup` wrapped at spaces, never inside a word, so package names stay whole.

    The first line starts at `indent`, continuation lines at `indent + hang`. A word longer than
    the line is printed whole and left to the terminal to wrap.
    """
    # Text.from_markup bypasses the console's render_str, so the text is cleaned here.
    text = Text.from_markup(safe_text(markup), emoji=False)
    width = console.width
    breaks = _breaks(text.plain, width - indent, max(width - indent - hang, 20))
    offsets = [b for space in breaks for b in (space, space + 1)]
    pieces = text.divide(offsets)[::2] if offsets else [text]
    for number, piece in enumerate(pieces):
        piece.rstrip()
        pad = indent if number == 0 else indent + hang
        console.print(Text(" " * pad) + piece, soft_wrap=True)


WRAPPED_COLUMN_MIN = 12
"""The least width a column that may wrap is given when deciding whether a table fits."""


def fits(table: Table, width: int) -> bool:
    """Whether `table` shows every no-wrap cell whole in `width`, wrapping columns at least 12 wide.

    rich would otherwise cut the cells of a table that does not fit, package names included.
    """
    needed = 3 * len(table.columns) + 1
    for column in table.columns:
        cells = (column.header, *column.cells)
        longest = max(
            max(len(line) for line in Text.from_markup(str(cell), emoji=False).plain.split("\n"))
            for cell in cells
        )
        needed += longest if column.no_wrap else min(longest, WRAPPED_COLUMN_MIN)
    return needed <= width
