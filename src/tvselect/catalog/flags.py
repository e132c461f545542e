"""A recipe's compiler flags -> the CPU features it needs, through data/compiler-flags.json."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from tvselect.base.shipped import shipped_table


class FlagNeeds(NamedTuple):
    """What a set of compiler flags makes a build need."""

    arch: str | None
    """The CPU architecture the flags are for; None when there are no flags."""
    needs: frozenset[str]
    """CPU features, as /proc/cpuinfo names them."""


class UnknownFlag(ValueError):
    """A flag the table does not know, or flags of two CPU architectures mixed."""

    def __init__(self, position: int, problem: str) -> None:
        super().__init__(problem)
        self.position = position
        """Index of the offending flag in the list given."""


def _march(flag: str, aarch64: dict[str, Any]) -> frozenset[str] | None:
    """Needs of `-march=BASE+EXT...` on aarch64; None when BASE or an EXT is unknown."""
    base, *extensions = flag.removeprefix("-march=").split("+")
    if base not in aarch64["march"]:
        return None
    needs = set(aarch64["march"][base])
    for extension in extensions:
        if extension.startswith("no"):
            continue  # +noX forbids an extension: it needs nothing
        if extension not in aarch64["extensions"]:
            return None
        needs.update(aarch64["extensions"][extension])
    return frozenset(needs)


def flag_needs(flag: str) -> tuple[str, frozenset[str]] | None:
    """(architecture, needs) of one compiler flag; None when the table does not know it."""
    data = shipped_table("compiler-flags")
    x86 = data["x86_64"]["flags"]
    if flag in x86:
        return "x86_64", frozenset(x86[flag])
    if flag.startswith("-march=armv"):
        needs = _march(flag, data["aarch64"])
        return None if needs is None else ("aarch64", needs)
    return None


def needs_of(flags: Sequence[str]) -> FlagNeeds:
    """The architecture and CPU needs of a recipe's flags; UnknownFlag names the flag at fault."""
    arch: str | None = None
    needs: set[str] = set()
    for position, flag in enumerate(flags):
        found = flag_needs(flag)
        if found is None:
            raise UnknownFlag(position, f"compiler flag {flag!r} is not in tvselect/data/compiler-flags.json")
        if arch is not None and found[0] != arch:
            raise UnknownFlag(
                position, f"compiler flag {flag!r} is for {found[0]}, the flags before it for {arch}"
            )
        arch = found[0]
        needs.update(found[1])
    return FlagNeeds(arch, frozenset(needs))
