"""NVIDIA GPUs identified by their PCI device ID, where NVIDIA's tools cannot read them.

`identify` and `parse_module_version` are pure; `pci_facts` turns the NVIDIA GPUs on the bus into
the facts (source `pci`), with why the tools did not read them and what the machine still needs.
data/nvidia_pci_devices.json (tools/nvidia_devices.py) is read only here, on that path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from tvselect.base.capability import Capability, parse_capability, parse_version
from tvselect.facts.model import ExcludedGpu, GpuFacts
from tvselect.probe.pci import PciGpu
from tvselect.probe.root import ProbeRoot

DEVICE_TABLE = "nvidia_pci_devices.json"
MODULE_VERSION = "/sys/module/nvidia/version"


class Identified(NamedTuple):
    """What the device table says of one PCI device ID."""

    chip: str
    """The chip, as the PCI ID Repository names it (`GH100`)."""
    product: str | None
    """The product, when the repository names one (`H200 SXM 141GB`)."""
    capability: Capability
    """The compute capability of every GPU of that chip."""

    @property
    def name(self) -> str:
        """The GPU in words: `NVIDIA H200 SXM 141GB (GH100)`."""
        return f"NVIDIA {self.product} ({self.chip})" if self.product else f"NVIDIA {self.chip} GPU"


def load_devices() -> dict[str, Any]:
    """data/nvidia_pci_devices.json, shipped with tvselect (through the one shipped-table loader)."""
    from tvselect.base.shipped import shipped_table

    table: dict[str, Any] = shipped_table(DEVICE_TABLE.removesuffix(".json"))
    return table


def identify(device: int, table: Mapping[str, Any]) -> Identified | None:
    """The chip and compute capability of NVIDIA PCI device `device` (0x2335), or None when the table lacks it."""
    entry = table["devices"].get(f"{device:04x}")
    if not entry:
        return None
    capability = parse_capability(str(table["chips"].get(entry[0], "")))
    if capability is None:
        return None
    return Identified(entry[0], entry[1] if len(entry) > 1 else None, capability)


def parse_module_version(text: str) -> str | None:
    """The driver version in `/sys/module/nvidia/version` (`580.159.04`), or None when it is not one."""
    value = text.strip("\0 \t\r\n")
    return value if value and parse_version(value) is not None else None


def _situation(gpu: PciGpu, tools_reason: str, root: ProbeRoot, denied: bool = False) -> tuple[str, str]:
    """Why NVIDIA's tools did not read this GPU, and what the machine must do about it (`denied`: NVML
    said this user cannot open the GPU's device files)."""
    where = f"NVIDIA GPU {gpu.address}"
    if gpu.driver is None:
        return f"{where} found, but the nvidia kernel module is not loaded", "load the NVIDIA driver"
    if gpu.driver != "nvidia":
        return (
            f"{where} found, but it is bound to {gpu.driver}, not the nvidia kernel module",
            f"bind the GPU to the NVIDIA driver instead of {gpu.driver}",
        )
    if not root.is_host:
        return (
            f"{where} found with the nvidia kernel module bound; {tools_reason}",
            f"check on the machine under {root.path} that NVML reads the GPU",
        )
    why = f"{where} found with the nvidia kernel module bound, but NVIDIA's tools could not read it ({tools_reason})"
    if denied:
        return why, "give this user read and write access to /dev/nvidiactl and /dev/nvidia*"
    return why, "reload the NVIDIA driver (or reboot) so that NVML answers"


def _module_version(root: ProbeRoot, notes: list[str]) -> str | None:
    try:
        version = parse_module_version(root.read_text(MODULE_VERSION, 256))
    except OSError:
        return None
    if version is not None:
        notes.append(f"driver {version} from {root.shown(MODULE_VERSION)} (NVIDIA's tools could not say)")
    return version


def pci_facts(
    nvidia: GpuFacts,
    root: ProbeRoot,
    gpus: Sequence[PciGpu],
    others: Sequence[ExcludedGpu],
    environ: Mapping[str, str],
) -> GpuFacts:
    """The facts of the NVIDIA GPUs `gpus` on the PCI bus, which NVIDIA's tools could not read.

    Each is identified by its device ID; one the table does not know is kept with its reason, and
    when none is known the facts have source `pci` and no GPU, so that no build is chosen silently.
    `others` (other vendors' GPUs) stay excluded.
    """
    from tvselect.probe.visibility import Found, FoundGpu, found_to_facts

    table = load_devices()
    tools_reason = nvidia.unavailable_reason or "no answer"
    from tvselect.probe.nvml import NVML_ERROR_NO_PERMISSION, NVML_HINTS

    denied = f"NVML: {NVML_HINTS[NVML_ERROR_NO_PERMISSION]}" in nvidia.notes
    why, needs = _situation(gpus[0], tools_reason, root, denied)
    notes = [*nvidia.notes, f"NVIDIA probe: {tools_reason}", f"PCI bus: {why}"]
    driver = _module_version(root, notes) if any(g.driver == "nvidia" for g in gpus) else None
    found: list[FoundGpu] = []
    for position, gpu in enumerate(gpus):
        known = identify(gpu.device, table)
        if known is None:
            problem = f"{gpu.label} is not in tvselect's device table (data/{DEVICE_TABLE}), so its compute capability is unknown"
            found.append(
                FoundGpu(index=position, name=gpu.label, uuid=None, capability=None, problem=problem)
            )
            continue
        notes.append(
            f"PCI {gpu.address}: device {gpu.vendor:04x}:{gpu.device:04x} is {known.name}, "
            f"compute capability {known.capability} (data/{DEVICE_TABLE})"
        )
        found.append(FoundGpu(index=position, name=known.name, uuid=None, capability=known.capability))
    facts = found_to_facts(Found(tuple(found), driver, None), "pci", notes, environ)
    facts = facts._replace(excluded=(*facts.excluded, *others), tools_reason=why, needs=needs)
    if facts.gpus:
        return facts
    unknown = {g.problem for g in found if g.capability is None}
    visible_unknown = [e.reason for e in facts.excluded if e.reason in unknown]
    if not visible_unknown:  # CUDA_VISIBLE_DEVICES hid them all: no GPU, as CUDA would see it
        return facts._replace(tools_reason=None, needs=None)
    # No build can be shown to run, and no CPU build may be chosen in silence: the engine says so.
    # These GPUs are the reason, not GPUs left out: they are not listed as not counting.
    kept = tuple(e for e in facts.excluded if e.reason not in unknown)
    return facts._replace(source="pci", excluded=kept, unavailable_reason="; ".join(visible_unknown))
