"""Compute capabilities and driver versions: parsing and formatting, nothing else."""

from __future__ import annotations

from typing import NamedTuple


class Capability(NamedTuple):
    """A compute capability such as 9.0: ordered by (major, minor), hashable and immutable.

    `str()` gives `9.0`, `.sm` gives `sm90`. A NamedTuple rather than a dataclass: every run
    builds some, and importing dataclasses costs start-up time.
    """

    major: int
    minor: int

    @property
    def sm(self) -> str:
        """`sm90`: the name of its cubin target and of the catalog's GPU architecture."""
        return f"sm{self.major}{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def parse_capability(text: str) -> Capability | None:
    """Read `8.6`, `sm_86`, `sm86` or `86` (and `10.0`, `sm_100`, `100`) as a Capability.

    Returns None when the text is not one of those forms.
    """
    value = text.strip().lower()
    major, dot, minor = value.partition(".")
    if dot:
        if 1 <= len(major) <= 2 and len(minor) == 1 and _ascii_digits(major) and _ascii_digits(minor):
            return Capability(int(major), int(minor))
        return None
    digits = value.removeprefix("sm").removeprefix("_") if value.startswith("sm") else value
    if 2 <= len(digits) <= 3 and _ascii_digits(digits):
        return Capability(int(digits[:-1]), int(digits[-1]))
    return None


def unknown_capability(cap: Capability, known: frozenset[Capability]) -> str | None:
    """None when `cap` is in `known`; else the words saying so, the same for `--gpu` and documents."""
    if cap in known:
        return None
    shown = ", ".join(str(c) for c in sorted(known))
    return f"no GPU has compute capability {cap} (known: {shown})"


MAX_VERSION_DIGITS = 12
"""The most digits a version part may have (driver 580.95.05 has three): longer is not a version."""


def parse_version(text: str) -> tuple[int, ...] | None:
    """`550.54.14` -> (550, 54, 14); None when the text is not dotted integers of at most 12 digits."""
    parts = text.strip().split(".")
    if len(parts) > MAX_VERSION_DIGITS:
        return None
    for part in parts:
        if not (part.isascii() and part.isdigit() and len(part) <= MAX_VERSION_DIGITS):
            return None
    return tuple(map(int, parts))
