"""The one writer of diagnostics: one line each on stderr, cleaned of terminal escapes (results go through
render.emit, to stdout)."""

from __future__ import annotations

import contextlib
import sys

from tvselect.errors import TvselectError


def say(line: str) -> None:
    """One line on standard error, cleaned of terminal escapes; a stderr that fails is not fatal."""
    from tvselect.base.safe_text import safe_line

    with contextlib.suppress(OSError, ValueError):
        print(f"tvselect: {safe_line(line)}", file=sys.stderr)


def warn(message: str) -> None:
    """One warning line on standard error."""
    say(f"warning: {message}")


def say_error(exc: TvselectError) -> None:
    """The one line for a TvselectError (none for a reader that went away)."""
    if str(exc):
        say(f"error: {exc}")
