"""What a GPU source found, and CUDA's visibility rules over it (CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES).

`parse_visible_devices` is a pure function of the variable's text; `found_to_facts` turns what
one source (NVML, nvidia-smi, a Tegra board's files) found into the facts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from tvselect.base.capability import Capability
from tvselect.facts.model import ExcludedGpu, Gpu, GpuFacts, GpuSource


# NamedTuples, not frozen dataclasses: every run defines these, and a NamedTuple costs a tenth.
class FoundGpu(NamedTuple):
    """One GPU as NVML or nvidia-smi reported it, before the visibility rules apply."""

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the NVML name
    """NVML / nvidia-smi index (PCI bus order)."""
    name: str | None
    """Product name, when it could be read."""
    uuid: str | None
    """GPU UUID, when it could be read."""
    capability: Capability | None
    """Compute capability, when it could be read."""
    memory_mib: int | None = None
    """Total memory in MiB, when known."""
    mig: bool | None = None
    """Whether MIG mode is enabled, when known."""
    mig_uuids: tuple[str, ...] = ()
    """UUIDs of its MIG devices, for CUDA_VISIBLE_DEVICES entries that name one."""
    problem: str | None = None
    """Why the GPU cannot be used although it exists (lost, capability unreadable)."""


class Found(NamedTuple):
    """What one source reported: its GPUs and the driver."""

    gpus: tuple[FoundGpu, ...]
    """Every GPU it listed, in index order."""
    driver_version: str | None
    """Driver version, e.g. `550.54.14`."""
    cuda_driver_version: str | None
    """Newest CUDA the driver supports, e.g. `12.9`."""
    notes: tuple[str, ...] = ()
    """What went wrong on the way without stopping the source."""


class Failure(NamedTuple):
    """Why a source gave no answer, and its NVML return code when it has one."""

    reason: str
    code: int | None = None


class VisibleDevices(NamedTuple):
    """CUDA_VISIBLE_DEVICES as CUDA reads it."""

    value: str | None
    """The variable's value; None when unset."""
    entries: tuple[str, ...] | None
    """Entries CUDA reads, in order; None when every GPU is visible (unset)."""
    stopped_at: str | None = None
    """The first entry that is neither an index nor a UUID: CUDA ignores it and all after it."""


# Compiled on first use (re caches it): most runs have no CUDA_VISIBLE_DEVICES to read.
_ENTRY = r"\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9A-Za-z/-]+"


def parse_visible_devices(value: str | None) -> VisibleDevices:
    """Read CUDA_VISIBLE_DEVICES: indices, GPU UUIDs or their prefixes (`GPU-8932f937`), MIG UUIDs.

    Unset means every GPU, empty means none. Like CUDA, reading stops at the first entry that is
    not an index or a UUID (e.g. `-1`); whether an entry names an existing GPU is decided later,
    against the GPUs found.
    """
    if value is None:
        return VisibleDevices(value=None, entries=None)
    if not value.strip():
        return VisibleDevices(value=value, entries=())
    entries: list[str] = []
    for raw in value.split(","):
        entry = raw.strip()
        if not re.fullmatch(_ENTRY, entry):
            return VisibleDevices(value=value, entries=tuple(entries), stopped_at=entry)
        entries.append(entry)
    return VisibleDevices(value=value, entries=tuple(entries))


def _resolve(entry: str, gpus: tuple[FoundGpu, ...]) -> tuple[FoundGpu | None, str]:
    """The GPU an entry of CUDA_VISIBLE_DEVICES names, or None and why not."""
    if entry.isascii() and entry.isdigit() and len(entry) < 10:
        hits = [g for g in gpus if g.index == int(entry)]
    elif entry.startswith("MIG-GPU-"):
        parent = entry[4:].split("/")[0].lower()
        hits = [g for g in gpus if g.uuid and g.uuid.lower().startswith(parent)]
    elif entry.startswith("MIG-"):
        hits = [g for g in gpus if any(u.lower().startswith(entry.lower()) for u in g.mig_uuids)]
    else:
        hits = [g for g in gpus if g.uuid and g.uuid.lower().startswith(entry.lower())]
    if len(hits) == 1:
        return hits[0], ""
    return None, "matches no GPU" if not hits else f"matches {len(hits)} GPUs"


def _visibility(gpus: tuple[FoundGpu, ...], visible: VisibleDevices) -> tuple[dict[int, str], str | None]:
    """For each GPU that CUDA_VISIBLE_DEVICES hides, why; and what the entry CUDA stopped at is."""
    if visible.entries is None:
        return {}, None
    shown = f"CUDA_VISIBLE_DEVICES={visible.value}"
    if not visible.entries and visible.stopped_at is None:
        return {g.index: "CUDA_VISIBLE_DEVICES is empty, which hides every GPU" for g in gpus}, None
    chosen: set[int] = set()
    stop: str | None = None
    remaining = list(visible.entries)
    while remaining:
        entry = remaining.pop(0)
        gpu, why = _resolve(entry, gpus)
        if gpu is None:
            stop = f"'{entry}' {why}"
            break
        chosen.add(gpu.index)
    if stop is None and visible.stopped_at is not None:
        stop = f"'{visible.stopped_at}' is not a GPU index or UUID"
        remaining = []
    # GPUs named only after the entry CUDA stopped at are hidden by that entry, not by their absence.
    after = {g.index for e in remaining for g in [_resolve(e, gpus)[0]] if g is not None}
    hidden = {}
    for g in gpus:
        if g.index in after:
            hidden[g.index] = f"listed in {shown} after {stop}, where CUDA stops reading"
        elif g.index not in chosen:
            hidden[g.index] = f"not in {shown}"
    return hidden, stop


def found_to_facts(found: Found, source: GpuSource, notes: list[str], environ: Mapping[str, str]) -> GpuFacts:
    """The facts of what one source found, once CUDA_VISIBLE_DEVICES has had its say."""
    notes.extend(found.notes)
    visible = parse_visible_devices(environ.get("CUDA_VISIBLE_DEVICES"))
    hidden, stop = _visibility(found.gpus, visible)
    if stop is not None:
        notes.append(
            f"CUDA_VISIBLE_DEVICES={visible.value}: {stop}; CUDA ignores that entry and every one after it"
        )
    gpus, excluded = _usable(found.gpus, hidden)
    _note_device_order(found.gpus, visible, environ, notes)
    if gpus:
        _note_container(environ, len(found.gpus), notes)
        return GpuFacts(
            source=source,
            gpus=gpus,
            excluded=excluded,
            driver_version=found.driver_version,
            cuda_driver_version=found.cuda_driver_version,
            unavailable_reason=None,
            notes=tuple(notes),
        )
    facts = no_gpu(_why_none(found, source, visible, stop, hidden, excluded), notes, environ)
    return GpuFacts(
        source="none",
        gpus=(),
        excluded=excluded,
        driver_version=found.driver_version,
        cuda_driver_version=found.cuda_driver_version,
        unavailable_reason=facts.unavailable_reason,
        notes=facts.notes,
    )


def _usable(
    found: tuple[FoundGpu, ...], hidden: Mapping[int, str]
) -> tuple[tuple[Gpu, ...], tuple[ExcludedGpu, ...]]:
    """The GPUs that count, and those that do not (hidden, or without a known capability) with why."""
    gpus: list[Gpu] = []
    excluded: list[ExcludedGpu] = []
    for g in found:
        why = hidden.get(g.index) or g.problem
        if why is None and g.capability is None:
            why = "its compute capability is unknown"
        if why is not None or g.capability is None:
            excluded.append(ExcludedGpu(index=g.index, name=g.name, uuid=g.uuid, reason=why or "unknown"))
            continue
        gpus.append(
            Gpu(
                index=g.index,
                name=g.name or "unknown NVIDIA GPU",
                uuid=g.uuid,
                capability=g.capability,
                memory_mib=g.memory_mib,
                mig=g.mig,
                mig_devices=g.mig_uuids,
            )
        )
    return tuple(gpus), tuple(excluded)


def _why_none(
    found: Found,
    source: str,
    visible: VisibleDevices,
    stop: str | None,
    hidden: Mapping[int, str],
    excluded: tuple[ExcludedGpu, ...],
) -> str:
    """Why no GPU counts: none found, all hidden by CUDA_VISIBLE_DEVICES, or each GPU's own reason."""
    if not found.gpus:
        return "the NVIDIA driver reports no GPU" if source == "nvml" else "nvidia-smi lists no GPU"
    if visible.entries == () and visible.stopped_at is None:
        return "CUDA_VISIBLE_DEVICES is empty, which hides every GPU"
    if stop is not None and len(hidden) == len(found.gpus):
        return f"CUDA_VISIBLE_DEVICES={visible.value} hides every GPU ({stop})"
    return "; ".join(f"GPU {e.index}: {e.reason}" for e in excluded)


def _note_device_order(
    gpus: tuple[FoundGpu, ...], visible: VisibleDevices, environ: Mapping[str, str], notes: list[str]
) -> None:
    by_index = any(e.isdigit() for e in visible.entries or ())
    mixed = len({g.name for g in gpus}) > 1
    if by_index and mixed and environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
        notes.append(
            "CUDA_VISIBLE_DEVICES indices were read in NVML's PCI bus order; CUDA numbers different "
            "GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, so it may mean other GPUs"
        )


_NO_GPU_REQUESTS = ("none", "void", "")


def _note_container(environ: Mapping[str, str], seen: int, notes: list[str]) -> None:
    value = environ.get("NVIDIA_VISIBLE_DEVICES")
    if value is None or value.strip().lower() == "all":
        return
    if value.strip().lower() in _NO_GPU_REQUESTS:
        notes.append(
            f"NVIDIA_VISIBLE_DEVICES={value} asks the container runtime for no GPU, yet {seen} "
            "are visible here; they count, since CUDA sees them"
        )
        return
    listed = [e for e in value.split(",") if e.strip()]
    if len(listed) != seen:
        notes.append(
            f"NVIDIA_VISIBLE_DEVICES={value} lists {len(listed)} GPU(s) but {seen} are visible here; "
            "the variable only acts when a container starts, so the visible ones count"
        )


def no_gpu(reason: str, notes: list[str], environ: Mapping[str, str]) -> GpuFacts:
    """The facts of no usable GPU, and why; NVIDIA_VISIBLE_DEVICES explains the reason where it is set."""
    value = environ.get("NVIDIA_VISIBLE_DEVICES")
    if value is not None and value.strip().lower() in _NO_GPU_REQUESTS:
        shown = value or "''"
        reason = f"NVIDIA_VISIBLE_DEVICES={shown}: the container runtime granted no GPU ({reason})"
    elif value is not None:
        notes.append(
            f"NVIDIA_VISIBLE_DEVICES={value} is set, yet no GPU is usable here; "
            "a container started without the NVIDIA runtime (no --gpus) gets none"
        )
    return GpuFacts(
        source="none",
        gpus=(),
        excluded=(),
        driver_version=None,
        cuda_driver_version=None,
        unavailable_reason=reason,
        notes=tuple(notes),
    )
