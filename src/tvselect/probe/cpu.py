"""The CPU probe: `/proc/cpuinfo` parsed as text, py-cpuinfo only where that file is absent."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import TextIO

from tvselect.errors import BadInputError
from tvselect.facts.model import CpuFacts
from tvselect.probe.root import HOST_ROOT, ProbeRoot

PROC_CPUINFO = "/proc/cpuinfo"
MAX_CPUINFO_BYTES = 8 * 1024 * 1024

_MACHINE_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}


def _blocks(text: str) -> list[dict[str, str]]:
    """One dict per blank-line separated block, keys lower-cased."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            current[key.strip().lower()] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _common(blocks: list[dict[str, str]], key: str) -> frozenset[str]:
    """Features listed under `key` by every processor block that has the key."""
    sets = [frozenset(b[key].split()) for b in blocks if key in b]
    if not sets:
        return frozenset()
    common = sets[0]
    for other in sets[1:]:
        common &= other
    return common


def parse_cpuinfo(text: str, source: str = PROC_CPUINFO) -> CpuFacts:
    """Facts from the text of a `/proc/cpuinfo` file; a pure function of the text."""
    blocks = _blocks(text)
    merged: dict[str, str] = {}
    for block in reversed(blocks):
        merged.update(block)
    if any("flags" in b for b in blocks):
        return _x86(blocks, merged, source)
    has_features = any("features" in b for b in blocks)
    if has_features and ("cpu implementer" in merged or "cpu architecture" in merged):
        return _arm(blocks, merged, source)
    return _other(merged, source, has_features)


def _x86(blocks: list[dict[str, str]], merged: dict[str, str], source: str) -> CpuFacts:
    """An x86 CPU: the `flags` every processor has; 64-bit when they include `lm`."""
    flags = _common(blocks, "flags")
    return CpuFacts(
        arch="x86_64" if "lm" in flags else "i686",
        vendor=merged.get("vendor_id"),
        model=blocks[0].get("model name") or merged.get("model name"),
        features=flags,
        source=source,
    )


def _arm(blocks: list[dict[str, str]], merged: dict[str, str], source: str) -> CpuFacts:
    """An ARM CPU: the `Features` every processor has; the core named from implementer and part."""
    from tvselect.base.hardware import arm_core_name

    implementer = merged.get("cpu implementer", "")
    part = merged.get("cpu part", "")
    arch = "aarch64" if merged.get("cpu architecture", "8").strip() in ("8", "9", "AArch64") else "armv7l"
    name = arm_core_name(implementer, part) if implementer and part else None
    ids = f"implementer {implementer}, part {part}"
    model = f"{name} ({ids})" if name else (ids if implementer else None)
    return CpuFacts(
        arch=arch,
        vendor=implementer or None,
        model=model,
        features=_common(blocks, "features"),
        source=source,
    )


def _other(merged: dict[str, str], source: str, has_features: bool) -> CpuFacts:
    """IBM Z, POWER or RISC-V by their own lines; else an unknown CPU, saying why."""
    if merged.get("vendor_id", "").startswith("IBM/S390"):
        features = frozenset(merged.get("features", "").split())
        return CpuFacts(
            arch="s390x", vendor="IBM", model=merged.get("machine"), features=features, source=source
        )
    cpu_line = merged.get("cpu", "")
    if "POWER" in cpu_line.upper() or "pseries" in merged.get("platform", "").lower():
        return CpuFacts(
            arch="ppc64le", vendor="IBM", model=cpu_line or None, features=frozenset(), source=source
        )
    isa = merged.get("isa", "")
    if isa.startswith("rv64"):
        model = merged.get("uarch") or isa
        return CpuFacts(
            arch="riscv64", vendor=merged.get("mvendorid"), model=model, features=frozenset(), source=source
        )
    why = (
        f"{source} has a 'Features' line but no 'CPU implementer' or 'CPU architecture' line"
        if has_features
        else f"{source} has no 'flags' or 'Features' line that tvselect recognises"
    )
    return CpuFacts(
        arch="unknown", vendor=None, model=None, features=frozenset(), source=source, unknown_reason=why
    )


def read_cpuinfo_file(path: str, stdin: TextIO | None = None) -> CpuFacts:
    """Facts from a `/proc/cpuinfo`-format file the user named (`-`: `stdin`); BadInputError if it is not one."""
    from tvselect.base.textfile import decode_text, read_user_file

    data = read_user_file(path, f"--cpuinfo {path}", MAX_CPUINFO_BYTES, stdin)
    text = decode_text(data, f"--cpuinfo {path}", "a /proc/cpuinfo file")
    facts = parse_cpuinfo(text, source=path)
    if facts.unknown_reason is not None:
        why = facts.unknown_reason.removeprefix(path).strip()
        raise BadInputError(f"--cpuinfo {path}: not a /proc/cpuinfo file tvselect can read ({why})")
    return facts


def read_cpuinfo(root: ProbeRoot = HOST_ROOT) -> CpuFacts:
    """Facts for the machine under `root`: its `/proc/cpuinfo`, else py-cpuinfo on this machine. Never raises.

    Under a root other than `/`, py-cpuinfo would describe this machine's CPU, so an unreadable
    file gives unknown features instead.
    """
    shown = root.shown(PROC_CPUINFO)
    try:
        text = root.read_text(PROC_CPUINFO, MAX_CPUINFO_BYTES)
    except OSError as exc:
        why = f"{shown} cannot be read ({exc.strerror or exc})"
        return _from_py_cpuinfo(why) if root.is_host else _unknown(why)
    facts = parse_cpuinfo(text, source=shown)
    if facts.unknown_reason is not None:
        return _from_py_cpuinfo(facts.unknown_reason) if root.is_host else _unknown(facts.unknown_reason)
    return facts


def _unknown(why: str) -> CpuFacts:
    return CpuFacts(
        arch="unknown", vendor=None, model=None, features=frozenset(), source="none", unknown_reason=why
    )


def _machine() -> str:
    machine = platform.machine().lower()
    return _MACHINE_ALIASES.get(machine, machine) or "unknown"


def _from_py_cpuinfo(why_not_proc: str) -> CpuFacts:
    """The slow path (about a second): py-cpuinfo runs CPUID in a child process."""
    try:
        import cpuinfo

        info = cpuinfo.get_cpu_info()
    except Exception as exc:  # noqa: BLE001 - any failure of the fallback means "unknown"
        return CpuFacts(
            arch=_machine(),
            vendor=None,
            model=None,
            features=frozenset(),
            source="py-cpuinfo",
            unknown_reason=f"{why_not_proc}; py-cpuinfo failed too ({type(exc).__name__}: {exc})",
        )
    arch = str(info.get("arch_string_raw") or "").lower()
    return CpuFacts(
        arch=_MACHINE_ALIASES.get(arch, arch) or _machine(),
        vendor=info.get("vendor_id_raw") or None,
        model=info.get("brand_raw") or None,
        features=kernel_names(str(f) for f in info.get("flags", ())),
        source="py-cpuinfo",
        unknown_reason=None if info.get("flags") else f"{why_not_proc}; py-cpuinfo reported no features",
    )


def kernel_names(names: Iterable[str]) -> frozenset[str]:
    """py-cpuinfo's feature names as the kernel's /proc/cpuinfo spells them (data/cpu_feature_names.json)."""
    from tvselect.base.shipped import shipped_table

    renames: dict[str, str] = shipped_table("cpu_feature_names")["py-cpuinfo"]
    return frozenset(renames.get(name, name) for name in names)
