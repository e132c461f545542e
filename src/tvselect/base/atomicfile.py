"""Replacing a file atomically: a hidden temporary file in the same directory, fsync, os.replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable

from tvselect.errors import BadInputError


def replace_file(path: str, chunks: Iterable[str], label: str) -> None:
    """Replace the file at `path` with the concatenated `chunks`, atomically.

    The temporary file is hidden (its name starts with a dot, which NFD ignores) and lives in the
    same directory, so the rename is atomic. BadInputError, naming `label`, when it cannot be written.
    """
    directory = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInputError(f"{label} {path}: cannot write in {directory} ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            os.fchmod(stream.fileno(), 0o644)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise BadInputError(f"{label} {path}: cannot write ({exc.strerror})") from None
    sync_directory(directory)


def sync_directory(directory: str) -> None:
    """Make a rename or removal in `directory` durable (best effort: not every filesystem allows it)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
