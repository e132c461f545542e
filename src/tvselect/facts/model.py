"""Facts about a machine, as the probe found them: frozen records (their document is in `document`)."""

from __future__ import annotations

from typing import Literal, NamedTuple

from tvselect.base.capability import Capability

GpuSource = Literal["nvml", "nvidia-smi", "tegra", "pci", "simulated", "none"]
"""Where the GPU facts came from: NVML, nvidia-smi, a Tegra board's files, PCI device IDs (NVIDIA's
tools could not read the GPU), `--gpu`, or nowhere."""
GPU_SOURCES: tuple[GpuSource, ...] = ("nvml", "nvidia-smi", "tegra", "pci", "simulated", "none")


# NamedTuples, not frozen dataclasses: a NamedTuple costs a sixth of a frozen dataclass to
# define, every run defines these, and `dataclasses` itself need not be imported
# (benchmarks/startup.py). Copies with a field changed are made with `_replace`.
class Gpu(NamedTuple):
    """One GPU that CUDA programs in this environment will see."""

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the NVML name
    """NVML / nvidia-smi index of the GPU."""
    name: str
    """Product name, e.g. `NVIDIA H100 80GB HBM3`."""
    uuid: str | None
    """GPU UUID, None when unknown (simulated GPUs)."""
    capability: Capability
    """Compute capability (major, minor); a MIG device reports its parent's."""
    memory_mib: int | None
    """Total memory in MiB, None when unknown."""
    mig: bool | None
    """Whether MIG mode is enabled, None when unknown."""
    mig_devices: tuple[str, ...] = ()
    """UUIDs (`MIG-…`) of its MIG devices, when MIG is enabled and NVML listed them."""


class ExcludedGpu(NamedTuple):
    """A GPU the machine has but that does not count, and why."""

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the NVML name
    """NVML / nvidia-smi index of the GPU."""
    name: str | None
    """Product name, when known."""
    uuid: str | None
    """GPU UUID, when known."""
    reason: str
    """Why it was left out, in words a person understands."""
    pci_address: str | None = None
    """PCI address (`0000:65:00.0`) of a GPU found on the PCI bus only; its index is then its place among those."""


class GpuFacts(NamedTuple):
    """What the GPU probe found: the GPUs that count, the driver, or why there are none."""

    source: GpuSource
    """Where the facts came from: `nvml`, `nvidia-smi`, `tegra` (board files), `pci` (PCI device IDs,
    where NVIDIA's tools could not read a GPU on the bus), `simulated`, or `none`."""
    gpus: tuple[Gpu, ...]
    """The GPUs CUDA programs here will see, in index order."""
    excluded: tuple[ExcludedGpu, ...]
    """GPUs that exist but were left out (CUDA_VISIBLE_DEVICES and the like)."""
    driver_version: str | None
    """NVIDIA driver version, e.g. `550.54.14`; None when unknown."""
    cuda_driver_version: str | None
    """Newest CUDA the driver supports, e.g. `12.9`; None when unknown."""
    unavailable_reason: str | None
    """Why there is no usable GPU, when there is none; None otherwise."""
    notes: tuple[str, ...] = ()
    """What the probe tried and what happened, for `--explain` and debugging."""
    tools_reason: str | None = None
    """Source `pci` only: why NVIDIA's tools did not read the GPUs (no driver loaded, NVML hung)."""
    needs: str | None = None
    """Source `pci` only: what the machine must do before CUDA can use them (`load the NVIDIA driver`)."""


class CpuFacts(NamedTuple):
    """What the CPU probe found."""

    arch: str
    """Architecture: `x86_64`, `aarch64`, `ppc64le`, `riscv64`, `s390x`, or `unknown`."""
    vendor: str | None
    """Vendor, e.g. `GenuineIntel`, or the ARM implementer code."""
    model: str | None
    """Model name as the system reports it."""
    features: frozenset[str]
    """CPU features the OS has enabled, named as the Linux kernel names them."""
    source: str
    """Where the facts came from: `/proc/cpuinfo`, a file path, or `py-cpuinfo`."""
    unknown_reason: str | None = None
    """Why the features could not be read, when they could not; None otherwise."""


class Facts(NamedTuple):
    """Everything the engine decides from."""

    cpu: CpuFacts
    """The CPU."""
    gpu: GpuFacts
    """The GPUs and driver."""
    host: str | None = None
    """The machine's host name, when known."""
