"""Every GPU accounted for: where NVML found no usable GPU, Tegra boards and the PCI bus say what is there.

An NVIDIA GPU on the PCI bus that NVIDIA's tools could not read is identified by its device ID
(tvselect.probe.pci_nvidia); other vendors' GPUs are listed as not counting, and why.

Only runs when the NVIDIA probe found no usable GPU, so a machine whose GPUs NVML lists reads
no extra file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tvselect.facts.model import ExcludedGpu, GpuFacts
from tvselect.probe.root import ProbeRoot

if TYPE_CHECKING:
    from tvselect.probe.tegra import TegraFacts


def account_for_gpus(nvidia: GpuFacts, root: ProbeRoot, environ: Mapping[str, str]) -> GpuFacts:
    """`nvidia` when it has a usable GPU; else the Tegra GPU, or the PCI GPUs that do not count, and why."""
    if nvidia.gpus:
        return nvidia
    from tvselect.probe.tegra import read_tegra

    tegra = read_tegra(root)
    if tegra is not None:
        return _tegra_facts(nvidia, tegra, environ)
    return _with_pci(nvidia, root, environ)


def _tegra_facts(nvidia: GpuFacts, tegra: TegraFacts, environ: Mapping[str, str]) -> GpuFacts:
    from tvselect.probe.visibility import Found, FoundGpu, found_to_facts

    gpu = FoundGpu(index=0, name=tegra.name, uuid=None, capability=tegra.capability, problem=tegra.problem)
    found = Found(gpus=(gpu,), driver_version=None, cuda_driver_version=tegra.cuda_driver_version)
    notes = [*nvidia.notes, f"no GPU from NVIDIA's tools ({nvidia.unavailable_reason}); a Tegra board"]
    return found_to_facts(found, "tegra", [*notes, *tegra.notes], environ)


def _with_pci(nvidia: GpuFacts, root: ProbeRoot, environ: Mapping[str, str]) -> GpuFacts:
    from tvselect.probe.pci import NVIDIA, excluded_reason, load_vendors, read_pci_gpus

    gpus, unreadable = read_pci_gpus(root)
    if unreadable is not None:
        return nvidia._replace(notes=(*nvidia.notes, f"PCI bus not read: {unreadable}"))
    # GPUs NVML already listed (and CUDA_VISIBLE_DEVICES hid) are not counted twice.
    listed_by_nvidia = bool(nvidia.excluded)
    vendors = load_vendors() if gpus else {}
    excluded: list[ExcludedGpu] = []
    unread = []
    for position, gpu in enumerate(gpus):
        if gpu.vendor == NVIDIA:
            if not listed_by_nvidia:
                unread.append(gpu)
            continue
        why = excluded_reason(gpu, vendors) or "not an NVIDIA GPU"
        excluded.append(
            ExcludedGpu(index=position, name=gpu.label, uuid=None, reason=why, pci_address=gpu.address)
        )
    if unread:
        # An NVIDIA GPU that NVIDIA's tools could not read is identified by its device ID, never dropped.
        from tvselect.probe.pci_nvidia import pci_facts

        return pci_facts(nvidia, root, unread, excluded, environ)
    if not excluded:
        return nvidia
    notes = (*nvidia.notes, f"PCI bus: {len(excluded)} GPU(s) that NVIDIA's tools did not list")
    if nvidia.excluded:
        reason = nvidia.unavailable_reason or "no usable GPU"
    else:
        # One level of brackets in what a person reads: the PCI ids stay in `excluded`.
        others = "; ".join(
            f"{(e.name or 'GPU').partition(' (PCI')[0]}: {e.reason.partition(': ')[2] or e.reason}"
            for e in excluded
        )
        reason = f"no NVIDIA GPU, only {others}"
    return nvidia._replace(excluded=(*nvidia.excluded, *excluded), unavailable_reason=reason, notes=notes)
