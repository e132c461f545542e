"""The rich Console every human renderer prints with: each text passes through `safe_text` first.

rich turns every string it prints (a `print` argument, a table cell, a tree label) into Text
with `render_str`; cleaning there covers them all once, before rich adds its own colours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from tvselect.base.safe_text import safe_text


class SafeConsole(Console):
    """A Console that never writes a terminal escape or bidi control that came from an input."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(safe_text(text), **kwargs)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        # rich pads table titles and cells to the full width; a line's trailing spaces are
        # noise in a pipe or a copied line. Colour codes after them are kept.
        return _TRAILING.sub(r"\1", super()._render_buffer(buffer))


_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)
