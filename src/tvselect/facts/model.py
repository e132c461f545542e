"""Facts about a machine, as the probe found them, and their versioned JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from tvselect.base.capability import Capability, format_capability, parse_capability
from tvselect.errors import BadInputError

FACTS_SCHEMA_VERSION = 1
FACTS_KIND = "tvselect.facts"


# Gpu and ExcludedGpu are records inside the frozen GpuFacts: NamedTuples cost a tenth of a
# frozen dataclass to define, and every run defines them (benchmarks/startup.py).
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


@dataclass(frozen=True)
class GpuFacts:
    """What the GPU probe found: the GPUs that count, the driver, or why there are none."""

    source: str
    """Where the facts came from: `nvml`, `nvidia-smi`, `tegra` (board files), `simulated`, or `none`."""
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


@dataclass(frozen=True)
class CpuFacts:
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


@dataclass(frozen=True)
class Facts:
    """Everything the engine decides from."""

    cpu: CpuFacts
    """The CPU."""
    gpu: GpuFacts
    """The GPUs and driver."""
    host: str | None = None
    """The machine's host name, when known."""


def to_document(facts: Facts) -> dict[str, Any]:
    """The versioned JSON-ready document of `facts` (what `tvselect probe --json` prints)."""
    cpu, gpu = facts.cpu, facts.gpu
    return {
        "schema_version": FACTS_SCHEMA_VERSION,
        "kind": FACTS_KIND,
        "host": facts.host,
        "cpu": {
            "arch": cpu.arch,
            "vendor": cpu.vendor,
            "model": cpu.model,
            "features": sorted(cpu.features),
            "source": cpu.source,
            "unknown_reason": cpu.unknown_reason,
        },
        "gpu": {
            "source": gpu.source,
            "driver_version": gpu.driver_version,
            "cuda_driver_version": gpu.cuda_driver_version,
            "unavailable_reason": gpu.unavailable_reason,
            "devices": [_device(g) for g in gpu.gpus],
            "excluded": [_excluded(e) for e in gpu.excluded],
            "notes": list(gpu.notes),
        },
    }


def _device(g: Gpu) -> dict[str, Any]:
    # Keys that only some machines have are written only there, so other documents stay as they were.
    item: dict[str, Any] = {
        "index": g.index,
        "name": g.name,
        "uuid": g.uuid,
        "compute_capability": format_capability(g.capability),
        "memory_mib": g.memory_mib,
        "mig": g.mig,
    }
    if g.mig_devices:
        item["mig_devices"] = [{"uuid": uuid} for uuid in g.mig_devices]
    return item


def _excluded(e: ExcludedGpu) -> dict[str, Any]:
    item: dict[str, Any] = {"index": e.index, "name": e.name, "uuid": e.uuid, "reason": e.reason}
    if e.pci_address is not None:
        item["pci_address"] = e.pci_address
    return item


class _Reader:
    """Reads one facts document, failing with a one-line message that names the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str) -> BadInputError:
        return BadInputError(f"facts document {self.source}: {problem}")

    def get(
        self, obj: dict[str, Any], key: str, where: str, kinds: tuple[type, ...], *, null: bool = False
    ) -> Any:
        if key not in obj:
            raise self.fail(f"missing field '{where}{key}'")
        value = obj[key]
        if value is None and null:
            return None
        if not isinstance(value, kinds) or (bool in kinds) != isinstance(value, bool):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(f"field '{where}{key}' must be {names}{' or null' if null else ''}")
        return value

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"'{where}' must be an object")
        return value

    def facts(self, doc: Any) -> Facts:
        doc = self.obj(doc, "top level")
        version = doc.get("schema_version")
        if version != FACTS_SCHEMA_VERSION:
            raise self.fail(
                f"schema_version is {version!r}; this tvselect reads version {FACTS_SCHEMA_VERSION}"
            )
        if doc.get("kind", FACTS_KIND) != FACTS_KIND:
            raise self.fail(f"kind is {doc.get('kind')!r}, not a facts document")
        host = self.get(doc, "host", "", (str,), null=True) if "host" in doc else None
        cpu = self.cpu(self.obj(self.get(doc, "cpu", "", (dict,)), "cpu"))
        gpu = self.gpu(self.obj(self.get(doc, "gpu", "", (dict,)), "gpu"))
        return Facts(cpu=cpu, gpu=gpu, host=host)

    def cpu(self, raw: dict[str, Any]) -> CpuFacts:
        features = self.get(raw, "features", "cpu.", (list,))
        if not all(isinstance(f, str) for f in features):
            raise self.fail("field 'cpu.features' must be a list of strings")
        return CpuFacts(
            arch=self.get(raw, "arch", "cpu.", (str,)),
            vendor=self.get(raw, "vendor", "cpu.", (str,), null=True),
            model=self.get(raw, "model", "cpu.", (str,), null=True),
            features=frozenset(features),
            source=self.get(raw, "source", "cpu.", (str,)),
            unknown_reason=raw.get("unknown_reason") if isinstance(raw.get("unknown_reason"), str) else None,
        )

    def mig_devices(self, entry: dict[str, Any], where: str) -> tuple[str, ...]:
        if "mig_devices" not in entry:
            return ()
        uuids = []
        for position, item in enumerate(self.get(entry, "mig_devices", where, (list,))):
            inner = f"{where}mig_devices[{position}]."
            uuids.append(self.get(self.obj(item, inner.rstrip(".")), "uuid", inner, (str,)))
        return tuple(uuids)

    def gpu(self, raw: dict[str, Any]) -> GpuFacts:
        devices = []
        for position, item in enumerate(self.get(raw, "devices", "gpu.", (list,))):
            where = f"gpu.devices[{position}]."
            entry = self.obj(item, where.rstrip("."))
            text = self.get(entry, "compute_capability", where, (str,))
            cap = parse_capability(text)
            if cap is None:
                raise self.fail(f"field '{where}compute_capability' is '{text}', not like '8.6'")
            devices.append(
                Gpu(
                    index=self.get(entry, "index", where, (int,)),
                    name=self.get(entry, "name", where, (str,)),
                    uuid=self.get(entry, "uuid", where, (str,), null=True),
                    capability=cap,
                    memory_mib=self.get(entry, "memory_mib", where, (int,), null=True),
                    mig=self.get(entry, "mig", where, (bool,), null=True),
                    mig_devices=self.mig_devices(entry, where),
                )
            )
        excluded = []
        for position, item in enumerate(
            self.get(raw, "excluded", "gpu.", (list,)) if "excluded" in raw else []
        ):
            where = f"gpu.excluded[{position}]."
            entry = self.obj(item, where.rstrip("."))
            excluded.append(
                ExcludedGpu(
                    index=self.get(entry, "index", where, (int,)),
                    name=self.get(entry, "name", where, (str,), null=True),
                    uuid=self.get(entry, "uuid", where, (str,), null=True),
                    reason=self.get(entry, "reason", where, (str,)),
                    pci_address=self.get(entry, "pci_address", where, (str,), null=True)
                    if "pci_address" in entry
                    else None,
                )
            )
        notes = self.get(raw, "notes", "gpu.", (list,)) if "notes" in raw else []
        return GpuFacts(
            source=self.get(raw, "source", "gpu.", (str,)),
            gpus=tuple(devices),
            excluded=tuple(excluded),
            driver_version=self.get(raw, "driver_version", "gpu.", (str,), null=True),
            cuda_driver_version=self.get(raw, "cuda_driver_version", "gpu.", (str,), null=True),
            unavailable_reason=self.get(raw, "unavailable_reason", "gpu.", (str,), null=True),
            notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (),
        )


def from_document(doc: Any, source: str) -> Facts:
    """Facts from a decoded facts document; BadInputError naming `source` if it is not one."""
    return _Reader(source).facts(doc)
