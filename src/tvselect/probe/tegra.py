"""Tegra (Jetson, DRIVE) boards, recognised from files: their GPU answers to neither NVML nor nvidia-smi.

The `parse_*` functions are pure functions of a file's text; `read_tegra` reads the files under a
probe root and looks the SoC up in data/hardware.json.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from tvselect.base.capability import Capability, parse_capability, parse_version
from tvselect.probe.root import ProbeRoot

SOC_FAMILY = "/sys/devices/soc0/family"
COMPATIBLE = "/proc/device-tree/compatible"
MODEL = "/proc/device-tree/model"
NV_TEGRA_RELEASE = "/etc/nv_tegra_release"

# Patterns, not compiled here: most runs import this module and find no Tegra file (re caches them).
_RELEASE = r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+(?:\.\d+)*)"
_SOC = r"nvidia,(tegra\d+)"


class TegraFacts(NamedTuple):
    """What the files of a Tegra board say about its GPU."""

    soc: str | None
    """SoC name, e.g. `tegra234`; None when no file names it."""
    model: str | None
    """Board model from the device tree, e.g. `NVIDIA Jetson AGX Orin Developer Kit`."""
    l4t_release: str | None
    """Jetson Linux (L4T) release, e.g. `36.4.3`; None when /etc/nv_tegra_release is absent."""
    cuda_driver_version: str | None
    """CUDA version the board's own CUDA driver supports, from the L4T release."""
    capability: Capability | None
    """The GPU's compute capability; None when it cannot be known."""
    name: str
    """The GPU, in words."""
    problem: str | None
    """Why the capability is unknown, when it is."""
    notes: tuple[str, ...]
    """Which file said what."""


def parse_soc_family(text: str) -> str | None:
    """The family in `/sys/devices/soc0/family` when it is a Tegra one (`Tegra`, `tegra210`), else None."""
    family = text.strip("\0 \t\r\n")
    return family if family.lower().startswith("tegra") else None


def parse_compatible(text: str) -> tuple[str, ...]:
    """The entries of a device tree's NUL-separated `compatible` property, most specific first."""
    return tuple(entry.strip() for entry in text.split("\0") if entry.strip())


def soc_from(compatible: tuple[str, ...], family: str | None) -> str | None:
    """The SoC (`tegra234`) the compatible list or, failing that, the soc0 family names."""
    for entry in compatible:
        match = re.fullmatch(_SOC, entry.lower())
        if match:
            return match.group(1)
    if family is not None and family.lower() != "tegra":
        return family.lower()
    return None


def parse_nv_tegra_release(text: str) -> str | None:
    """The L4T release in `/etc/nv_tegra_release` (`# R36 (release), REVISION: 4.3, ...` gives `36.4.3`)."""
    match = re.search(_RELEASE, text)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def cuda_for_release(release: str, table: list[dict[str, str]]) -> str | None:
    """The CUDA version of the longest `release` prefix in the table's `l4t_cuda` rows."""
    parts = release.split(".")
    best: tuple[int, str] | None = None
    for row in table:
        prefix = row["release"].split(".")
        if parts[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
            best = (len(prefix), row["cuda"])
    return best[1] if best else None


def tegra_gpu(
    soc: str | None, cuda: str | None, socs: Mapping[str, Any]
) -> tuple[Capability | None, str | None]:
    """The compute capability of the SoC's GPU under a CUDA driver of version `cuda`, or None and why."""
    if soc is None:
        return None, "a Tegra board, but no file names its SoC"
    entry = socs.get(soc)
    if entry is None:
        return None, f"Tegra SoC {soc} is not in tvselect's table (data/hardware.json)"
    cap = parse_capability(entry["compute_capability"])
    older = entry.get("compute_capability_before_cuda_13")
    if older is None:
        return cap, None
    version = parse_version(cuda or "")
    # CUDA version unknown: the CUDA 13 capability. Code built for it needs CUDA 13, so a driver that
    # runs that code at all is one under which the GPU has it; the engine warns that the CUDA driver
    # was not checked, as for a desktop GPU whose driver version is unknown.
    return (cap, None) if version is None or version[0] >= 13 else (parse_capability(older), None)


def load_table() -> dict[str, Any]:
    """The Tegra section of data/hardware.json, shipped with tvselect."""
    from tvselect.base.hardware import tegra_table

    return tegra_table()


def _read(root: ProbeRoot, path: str) -> str | None:
    try:
        return root.read_text(path)
    except OSError:
        return None


def _driver_notes(root: ProbeRoot, release: str | None, cuda: str | None) -> list[str]:
    """What the L4T release file said about the CUDA driver, and what of the driver can be checked."""
    if release is not None:
        shown = f"CUDA {cuda}" if cuda else "a CUDA version tvselect does not know"
        said = f"{root.shown(NV_TEGRA_RELEASE)}: L4T R{release}, whose CUDA driver supports {shown}"
    else:
        said = f"{root.shown(NV_TEGRA_RELEASE)}: absent or unreadable, so the CUDA driver version is unknown"
    why = "L4T numbers its releases, not its drivers"
    if cuda is None:
        return [
            said,
            f"Tegra: neither the driver version ({why}) nor the CUDA version is known, so no build's driver need is checked",
        ]
    return [
        said,
        f"Tegra: the driver version is not read from files ({why}); a build's driver need is checked through CUDA {cuda} alone",
    ]


def _gpu_name(model: str | None, soc: str | None, socs: dict[str, Any]) -> str:
    """The integrated GPU's name: the board's model, then its architecture and SoC where known."""
    arch = socs.get(soc or "", {}).get("gpu")
    details = ", ".join(d for d in (arch, soc) if d)
    return f"{model or 'NVIDIA Tegra'} integrated GPU" + (f" ({details})" if details else "")


def read_tegra(root: ProbeRoot) -> TegraFacts | None:
    """The Tegra GPU of this board, or None when no file says it is a Tegra board. Never raises OSError."""
    family_text = _read(root, SOC_FAMILY)
    family = parse_soc_family(family_text) if family_text is not None else None
    compatible_text = _read(root, COMPATIBLE)
    compatible = parse_compatible(compatible_text) if compatible_text is not None else ()
    release_text = _read(root, NV_TEGRA_RELEASE)
    if family is None and release_text is None and not any(re.fullmatch(_SOC, c.lower()) for c in compatible):
        return None
    notes = []
    if family is not None:
        notes.append(f"{root.shown(SOC_FAMILY)}: {family}")
    soc = soc_from(compatible, family)
    if compatible:
        notes.append(f"{root.shown(COMPATIBLE)}: {', '.join(compatible)}")
    release = parse_nv_tegra_release(release_text) if release_text is not None else None
    table = load_table()
    cuda = cuda_for_release(release, table["l4t_cuda"]) if release else None
    notes += _driver_notes(root, release, cuda)
    capability, problem = tegra_gpu(soc, cuda, table["socs"])
    model = ((_read(root, MODEL) or "").strip("\0 \t\r\n")) or None
    name = _gpu_name(model, soc, table["socs"])
    if capability is not None:
        notes.append(f"Tegra: {soc} has compute capability {capability} (data/hardware.json)")
        older = table["socs"].get(soc or "", {}).get("compute_capability_before_cuda_13")
        if older is not None and cuda is None:
            notes.append(
                f"Tegra: {soc} is {older} under CUDA 12 drivers; with the CUDA version unknown, "
                f"{capability}, the capability code built for it (CUDA 13 or newer) runs under"
            )
    return TegraFacts(
        soc=soc,
        model=model,
        l4t_release=release,
        cuda_driver_version=cuda,
        capability=capability,
        name=name,
        problem=problem,
        notes=tuple(notes),
    )
