"""Compute capabilities and driver versions: parsing and formatting, nothing else."""

from __future__ import annotations

import re

Capability = tuple[int, int]

_DOTTED = re.compile(r"(\d{1,2})\.(\d)")
_SM = re.compile(r"(?:sm_?)?(\d{2,3})")


def parse_capability(text: str) -> Capability | None:
    """Read `8.6`, `sm_86`, `sm86` or `86` (and `10.0`, `sm_100`, `100`) as (major, minor).

    Returns None when the text is not one of those forms.
    """
    value = text.strip().lower()
    match = _DOTTED.fullmatch(value)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = _SM.fullmatch(value)
    if match:
        digits = match.group(1)
        return int(digits[:-1]), int(digits[-1])
    return None


def format_capability(cap: Capability) -> str:
    """`(8, 6)` -> `8.6`."""
    return f"{cap[0]}.{cap[1]}"


def sm_name(cap: Capability) -> str:
    """`(8, 6)` -> `sm86`, the catalog's name for that architecture."""
    return f"sm{cap[0]}{cap[1]}"


_VERSION = re.compile(r"\d+(?:\.\d+)*")


def parse_version(text: str) -> tuple[int, ...] | None:
    """`550.54.14` -> (550, 54, 14); None when the text is not dotted integers."""
    value = text.strip()
    if not _VERSION.fullmatch(value):
        return None
    return tuple(int(part) for part in value.split("."))
