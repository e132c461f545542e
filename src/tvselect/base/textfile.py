"""Turning the bytes of a file the user named into text or JSON, or into a one-line error that names it."""

from __future__ import annotations

from typing import Any, TextIO

from tvselect.errors import BadInputError


def read_bounded(path: str, stdin: TextIO, label: str, limit: int) -> bytes:
    """The bytes of the file at `path` (`-`: standard input), at most `limit` of them.

    BadInputError starting with `label` when it cannot be read or is larger than `limit`.
    """
    try:
        if path == "-":
            buffer = getattr(stdin, "buffer", None)
            if buffer is not None:
                data: bytes = buffer.read(limit + 1)
            else:
                data = stdin.read(limit + 1).encode("utf-8", "surrogateescape")
        else:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
    except OSError as exc:
        raise BadInputError(f"{label}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise BadInputError(f"{label}: not UTF-8 text") from None
    if len(data) > limit:
        raise BadInputError(f"{label}: larger than {limit // (1024 * 1024)} MiB")
    return data


def decode_text(data: bytes, label: str, kind: str, error: type[BadInputError] = BadInputError) -> str:
    """`data` as UTF-8 text; `error` starting with `label` if it is empty, binary or not UTF-8.

    `kind` says what the file should have been, e.g. `a /proc/cpuinfo file` or `JSON`.
    """
    if not data.strip():
        raise error(f"{label}: empty")
    if b"\0" in data:
        raise error(f"{label}: binary data, not {kind}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{label}: not UTF-8 text, not {kind}") from None


def load_json(text: str, label: str, error: type[BadInputError] = BadInputError) -> Any:
    """`text` parsed as JSON; `error` starting with `label` and saying where it is not JSON."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{label}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise error(f"{label}: JSON nested too deeply") from None


def read_capped(path: str, limit: int) -> tuple[bytes, bool]:
    """The first `limit` bytes of the file at `path`, and whether it holds more; OSError if unreadable."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    return data[:limit], len(data) > limit
