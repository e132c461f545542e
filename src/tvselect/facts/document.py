"""The facts document (`tvselect probe --json`): writing it, and the one reader that `--facts`,
`plan` and fleet input all use, with the command line's checks on every value.
"""

from __future__ import annotations

from typing import Any, TextIO, cast

from tvselect.base.capability import (
    Capability,
    parse_capability,
    parse_version,
    unknown_capability,
)
from tvselect.errors import BadInputError
from tvselect.facts.model import GPU_SOURCES, CpuFacts, ExcludedGpu, Facts, Gpu, GpuFacts, GpuSource

FACTS_SCHEMA_VERSION = 1
FACTS_KIND = "tvselect.facts"
MAX_FACTS_BYTES = 16 * 1024 * 1024
MAX_FACTS_VALUES = 1_000_000
"""The most JSON values a facts document may hold (one holds under a hundred; a million take ~100 MB)."""

# What each version field must look like, as the command line says it of --driver.
_VERSION_FIELDS = {
    "driver_version": "an NVIDIA driver version like 550.54.14",
    "cuda_driver_version": "a CUDA version like 12.9",
}


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
            # Written only for facts from the PCI bus, so other documents stay as they were.
            **({"tools_reason": gpu.tools_reason, "needs": gpu.needs} if gpu.source == "pci" else {}),
        },
    }


def _device(g: Gpu) -> dict[str, Any]:
    # Keys that only some machines have are written only there, so other documents stay as they were.
    item: dict[str, Any] = {
        "index": g.index,
        "name": g.name,
        "uuid": g.uuid,
        "compute_capability": str(g.capability),
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

    def version(self, raw: dict[str, Any], key: str) -> str | None:
        """A version field: null, or dotted integers (read by the one version parser)."""
        text: str | None = self.get(raw, key, "gpu.", (str,), null=True)
        if text is not None and parse_version(text) is None:
            raise self.fail(f"field 'gpu.{key}' is '{text}', not {_VERSION_FIELDS[key]}")
        return text

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

    def device(self, item: Any, position: int) -> Gpu:
        where = f"gpu.devices[{position}]."
        entry = self.obj(item, where.rstrip("."))
        text = self.get(entry, "compute_capability", where, (str,))
        cap = parse_capability(text)
        if cap is None:
            raise self.fail(f"field '{where}compute_capability' is '{text}', not like '8.6'")
        return Gpu(
            index=self.get(entry, "index", where, (int,)),
            name=self.get(entry, "name", where, (str,)),
            uuid=self.get(entry, "uuid", where, (str,), null=True),
            capability=cap,
            memory_mib=self.get(entry, "memory_mib", where, (int,), null=True),
            mig=self.get(entry, "mig", where, (bool,), null=True),
            mig_devices=self.mig_devices(entry, where),
        )

    def excluded(self, item: Any, position: int) -> ExcludedGpu:
        where = f"gpu.excluded[{position}]."
        entry = self.obj(item, where.rstrip("."))
        pci = self.get(entry, "pci_address", where, (str,), null=True) if "pci_address" in entry else None
        return ExcludedGpu(
            index=self.get(entry, "index", where, (int,)),
            name=self.get(entry, "name", where, (str,), null=True),
            uuid=self.get(entry, "uuid", where, (str,), null=True),
            reason=self.get(entry, "reason", where, (str,)),
            pci_address=pci,
        )

    def gpu_source(self, raw: dict[str, Any]) -> GpuSource:
        source = self.get(raw, "source", "gpu.", (str,))
        if source not in GPU_SOURCES:
            raise self.fail(f"field 'gpu.source' is '{source}', not one of {', '.join(GPU_SOURCES)}")
        return cast(GpuSource, source)

    def gpu(self, raw: dict[str, Any]) -> GpuFacts:
        devices = [self.device(item, n) for n, item in enumerate(self.get(raw, "devices", "gpu.", (list,)))]
        listed = self.get(raw, "excluded", "gpu.", (list,)) if "excluded" in raw else []
        excluded = [self.excluded(item, n) for n, item in enumerate(listed)]
        notes = self.get(raw, "notes", "gpu.", (list,)) if "notes" in raw else []
        return GpuFacts(
            source=self.gpu_source(raw),
            gpus=tuple(devices),
            excluded=tuple(excluded),
            driver_version=self.version(raw, "driver_version"),
            cuda_driver_version=self.version(raw, "cuda_driver_version"),
            unavailable_reason=self.get(raw, "unavailable_reason", "gpu.", (str,), null=True),
            notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (),
            tools_reason=self.get(raw, "tools_reason", "gpu.", (str,), null=True)
            if "tools_reason" in raw
            else None,
            needs=self.get(raw, "needs", "gpu.", (str,), null=True) if "needs" in raw else None,
        )


def from_document(doc: Any, source: str) -> Facts:
    """Facts from a decoded facts document; BadInputError naming `source` if it is not one."""
    return _Reader(source).facts(doc)


def check_known_capabilities(facts: Facts, known: frozenset[Capability], source: str) -> None:
    """BadInputError, as `--gpu` gives it, when a GPU's compute capability is not one NVIDIA shipped.

    `known` is the catalog's `known_capabilities`; the application applies this to `--facts`
    and to every fleet document alike (facts may not import the catalog).
    """
    for position, gpu in enumerate(facts.gpu.gpus):
        problem = unknown_capability(gpu.capability, known)
        if problem is not None:
            where = f"gpu.devices[{position}].compute_capability"
            raise BadInputError(f"facts document {source}: field '{where}' is '{gpu.capability}': {problem}")


def read_facts(data: bytes, source: str) -> Facts:
    """Facts from the bytes of one facts document; BadInputError with a one-line message otherwise."""
    from tvselect.base.textfile import decode_text, load_json

    label = f"facts document {source}"
    doc = load_json(decode_text(data, label, "JSON"), label, max_values=MAX_FACTS_VALUES)
    try:
        return from_document(doc, source)
    except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        # from_document names the field for the mistakes it knows; this catches the rest.
        raise BadInputError(f"facts document {source}: malformed ({exc})") from None


def load_facts(path: str, stdin: TextIO) -> Facts:
    """The facts document at `path` (`-`: standard input), read with a size cap."""
    source = "standard input" if path == "-" else path
    return read_facts(_read(path, stdin, source), source)


def _read(path: str, stdin: TextIO, source: str) -> bytes:
    from tvselect.base.textfile import read_user_file

    return read_user_file(path, f"facts document {source}", MAX_FACTS_BYTES, stdin)
