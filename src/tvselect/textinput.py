"""Turning the bytes of a file the user named into text, or into a one-line error that names it."""

from __future__ import annotations

from tvselect.errors import BadInputError


def decode_text(data: bytes, label: str, kind: str) -> str:
    """`data` as UTF-8 text; BadInputError starting with `label` if it is empty, binary or not UTF-8.

    `kind` says what the file should have been, e.g. `a /proc/cpuinfo file` or `JSON`.
    """
    if not data.strip():
        raise BadInputError(f"{label}: empty")
    if b"\0" in data:
        raise BadInputError(f"{label}: binary data, not {kind}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{label}: not UTF-8 text, not {kind}") from None
