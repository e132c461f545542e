"""The rich Console every human renderer prints with: each text passes through `safe_text` first.

rich turns every string it prints (a `print` argument, a table cell, a tree label) into Text
with `render_str`; cleaning there covers them all once, before rich adds its own colours.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from tvselect.base.safe_text import safe_text


class SafeConsole(Console):
    """A Console that never writes a terminal escape or bidi control that came from an input."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(safe_text(text), **kwargs)
