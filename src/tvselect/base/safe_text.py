"""Text from a file or a child made safe to show a person: no terminal escapes, no bidi tricks.

A `model name` in a cpuinfo file, a host name in a facts document or a line of nvidia-smi
is shown to a person; none of it may move the cursor, retitle the window, recolour the
terminal or reorder the text around it. The renderers and the command line's diagnostics
pass every text through `safe_text` (or `safe_line`) once, where it is written.
"""

from __future__ import annotations

import re

# ESC sequences first (CSI, OSC ending in BEL or ST, then any other ESC + one character),
# then single C0/C1 controls other than tab and newline, DEL, the bidi embedding, override
# and isolate controls and marks, and lone surrogates.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[\s\S]?|\x9b[0-?]*[ -/]*[@-~]?"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BREAKS = re.compile(r"[\t\n\r]+")


def safe_text(text: str) -> str:
    """`text` without terminal escape sequences, control characters (tab and newline stay) or bidi
    controls; a lone surrogate becomes U+FFFD. Text that has none comes back as it is."""
    if text.isprintable():
        return text
    text = _SEQUENCE.sub("", text)
    text = _CONTROL.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def safe_line(text: str) -> str:
    """`safe_text` on one line: tabs, carriage returns and newlines become single spaces."""
    return safe_text(_BREAKS.sub(" ", text) if not text.isprintable() else text)
