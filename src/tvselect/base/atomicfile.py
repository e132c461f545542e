"""Replacing a file atomically: a hidden temporary file in the same directory, fsync, os.replace."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable

from tvselect.errors import BadInputError


def replace_file(path: str, chunks: Iterable[str], label: str) -> None:
    """Replace the file at `path` with the concatenated `chunks`, atomically.

    The temporary file is hidden (its name starts with a dot, which NFD ignores) and lives in the
    same directory, so the rename is atomic. A file that was there keeps its owner and mode; a new
    one is 0644. BadInputError, naming `label`, when it cannot be written. The caller has checked
    that `path` is a file tvselect wrote (or nothing).
    """
    directory = os.path.dirname(absolute(path, label))
    name = os.path.basename(path)
    existing = _regular(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise BadInputError(f"{label} {path}: cannot write in {directory} ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            _keep_owner_and_mode(stream.fileno(), existing)
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


def absolute(path: str, label: str) -> str:
    """`path` made absolute; BadInputError, naming `label`, when it is relative and the working
    directory is gone (deleted under tvselect)."""
    try:
        return os.path.abspath(path)
    except OSError:
        raise BadInputError(
            f"{label} {path}: a relative path, but the current directory is gone; give an absolute path"
        ) from None


def _regular(path: str) -> os.stat_result | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def _keep_owner_and_mode(handle: int, existing: os.stat_result | None) -> None:
    if existing is None:
        os.fchmod(handle, 0o644)
        return
    os.fchmod(handle, stat.S_IMODE(existing.st_mode))
    if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
        # Only root can give a file away; anyone else cannot have rewritten another's file here.
        with contextlib.suppress(OSError):
            os.fchown(handle, existing.st_uid, existing.st_gid)
