"""What the payload observed in the checked interpreter, read from its JSON object; no judgement.

Versions are read with the one version parser (`tvselect.base.capability.parse_version`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tvselect.base.capability import Capability, parse_version
from tvselect.errors import BadInputError
from tvselect.verify.payload import PAYLOAD_VERSION


@dataclass(frozen=True, slots=True)
class ModuleObservation:
    """What importing one module gave."""

    version: str | None
    """Its `__version__`, None when it did not import."""
    error: str | None
    """The import error, None when it imported."""
    path: str | None
    """Where it was imported from."""


@dataclass(frozen=True, slots=True)
class DeviceObservation:
    """One GPU as torch sees it."""

    index: int
    """torch's device index (after CUDA_VISIBLE_DEVICES)."""
    name: str | None
    """torch.cuda.get_device_name."""
    capability: Capability | None
    """torch.cuda.get_device_capability."""
    error: str | None
    """Why name or capability could not be read."""


@dataclass(frozen=True, slots=True)
class SmokeObservation:
    """The smoke run on one device."""

    device: str
    """`cpu` or `cuda:N`."""
    nms: tuple[int, ...] | None
    """Indices torchvision.ops.nms kept; None when it failed or did not run."""
    nms_error: str | None
    """Why nms failed."""
    conv_max_abs_diff: float | None
    """Largest difference of conv2d's result from the reference; None when it failed."""
    conv_compared_with: str
    """The reference: `python-reference` (plain Python) or `cpu` (torch on the CPU)."""
    conv_error: str | None
    """Why conv2d failed."""


@dataclass(frozen=True)
class RawObservations:
    """What the payload observed in the checked interpreter; no judgement in it."""

    command: tuple[str, ...]
    """The command that was run, payload path last."""
    python_executable: str | None
    """sys.executable of the checked interpreter."""
    python_version: str | None
    """Its Python version, e.g. `3.12.3`."""
    cuda_visible_devices: str | None
    """CUDA_VISIBLE_DEVICES in the checked environment; None when unset."""
    torch: ModuleObservation
    """Importing torch."""
    torchvision: ModuleObservation | None
    """Importing torchvision; None when torch did not import."""
    cuda_built_with: str | None
    """torch.version.cuda: the CUDA runtime torch was built with; None for CPU-only builds."""
    cuda_available: bool | None
    """torch.cuda.is_available()."""
    device_count: int | None
    """torch.cuda.device_count()."""
    devices: tuple[DeviceObservation, ...]
    """The GPUs torch sees."""
    arch_list: tuple[str, ...] | None
    """torch.cuda.get_arch_list(): `sm_90`, `compute_90`, ..."""
    cuda_errors: tuple[str, ...]
    """Errors raised while asking torch about CUDA."""
    cpu_capability: str | None
    """torch.backends.cpu.get_cpu_capability(), e.g. `AVX512`."""
    cpu_capability_error: str | None
    """Why it could not be read."""
    matmul: Any
    """The result of a 2x2 matmul on the CPU, as torch returned it."""
    matmul_error: str | None
    """Why the matmul failed."""
    smoke: tuple[SmokeObservation, ...]
    """The smoke runs: the CPU first, then each GPU."""
    payload_error: str | None
    """A failure of the payload itself (a bug), with its traceback."""
    document: Mapping[str, Any] = field(compare=False)
    """The payload's JSON object exactly as it printed it."""
    torchaudio: ModuleObservation | None = None
    """Importing torchaudio; None when it is not installed (or torch did not import)."""
    vllm: ModuleObservation | None = None
    """Importing vllm; None when it is not installed (or torch did not import)."""
    torch_copies: tuple[str, ...] | None = None
    """Every torch package on sys.path, the imported one first; None from an older payload."""


class BadPayloadError(BadInputError, ValueError):
    """The payload's output is not the JSON object it writes (a ValueError too, for older callers)."""


def json_object(line: str) -> dict[str, Any]:
    """The JSON object on one line of the payload's output; BadPayloadError when it is not one."""

    from tvselect.base.textfile import finite_float, json_value_problem

    try:
        value = json.loads(line, parse_float=finite_float)
    except json.JSONDecodeError as exc:
        raise BadPayloadError(f"invalid JSON ({exc.msg})") from None
    except RecursionError:
        raise BadPayloadError("JSON nested too deeply") from None
    except ValueError as exc:
        raise BadPayloadError(json_value_problem(exc)) from None
    if not isinstance(value, dict):
        raise BadPayloadError("not a JSON object")
    return value


def observations_from_line(command: Sequence[str], line: str) -> RawObservations:
    """RawObservations from one line the payload printed; BadPayloadError when it is not its JSON object."""
    return read_observations(command, json_object(line))


def _get(obj: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object holding '{key}'")
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"'{key}' has the wrong type")
    return value


def _module(raw: Any) -> ModuleObservation:
    return ModuleObservation(_get(raw, "version", str), _get(raw, "error", str), _get(raw, "path", str))


def _device(raw: Any) -> DeviceObservation:
    cap = _get(raw, "capability", list)
    return DeviceObservation(
        index=int(_get(raw, "index", int) or 0),
        name=_get(raw, "name", str),
        capability=Capability(int(cap[0]), int(cap[1])) if cap and len(cap) == 2 else None,
        error=_get(raw, "error", str),
    )


def _smoke(raw: Any) -> SmokeObservation:
    nms = _get(raw, "nms", list)
    diff = _get(raw, "conv_max_abs_diff", (int, float))
    return SmokeObservation(
        device=str(_get(raw, "device", str)),
        nms=tuple(int(i) for i in nms) if nms is not None else None,
        nms_error=_get(raw, "nms_error", str),
        conv_max_abs_diff=float(diff) if diff is not None else None,
        conv_compared_with=str(_get(raw, "conv_compared_with", str) or "python-reference"),
        conv_error=_get(raw, "conv_error", str),
    )


def read_observations(command: Sequence[str], doc: dict[str, Any]) -> RawObservations:
    """RawObservations from the payload's JSON object; BadPayloadError (a ValueError) when it is not one."""
    try:
        return _read_observations(command, doc)
    except BadPayloadError:
        raise
    except (
        ValueError,
        TypeError,
        OverflowError,
        AttributeError,
        IndexError,
        KeyError,
        RecursionError,
    ) as exc:
        raise BadPayloadError(str(exc) or type(exc).__name__) from None


def _read_observations(command: Sequence[str], doc: dict[str, Any]) -> RawObservations:
    version = doc.get("payload_version")
    if version != PAYLOAD_VERSION:
        raise ValueError(f"payload_version {json.dumps(version)[:40]}, expected {PAYLOAD_VERSION}")
    python = doc.get("python") or {}
    cuda = doc.get("cuda") or {}
    cpu = doc.get("cpu") or {}
    devices = [_device(raw) for raw in _get(cuda, "devices", list) or []]
    smoke = [_smoke(raw) for raw in _get(doc, "smoke", list) or []]
    arch_list = _get(cuda, "arch_list", list)
    torchvision = doc.get("torchvision")
    return RawObservations(
        command=tuple(command),
        python_executable=_get(python, "executable", str),
        python_version=_get(python, "version", str),
        cuda_visible_devices=_get(doc.get("env") or {}, "CUDA_VISIBLE_DEVICES", str),
        torch=_module(doc.get("torch") or {"error": "not reported"}),
        torchvision=_module(torchvision) if torchvision is not None else None,
        cuda_built_with=_get(cuda, "built_with", str),
        cuda_available=_get(cuda, "available", bool),
        device_count=_get(cuda, "device_count", int),
        devices=tuple(devices),
        arch_list=tuple(str(a) for a in arch_list) if arch_list is not None else None,
        cuda_errors=tuple(str(e) for e in _get(cuda, "errors", list) or ()),
        cpu_capability=_get(cpu, "capability", str),
        cpu_capability_error=_get(cpu, "capability_error", str),
        matmul=cpu.get("matmul"),
        matmul_error=_get(cpu, "matmul_error", str),
        smoke=tuple(smoke),
        payload_error=_get(doc, "payload_error", str),
        document=doc,
        torchaudio=_optional_module(doc, "torchaudio"),
        vllm=_optional_module(doc, "vllm"),
        torch_copies=_copies(doc),
    )


def _optional_module(doc: dict[str, Any], name: str) -> ModuleObservation | None:
    raw = doc.get(name)
    return _module(raw) if isinstance(raw, dict) else None


def _copies(doc: dict[str, Any]) -> tuple[str, ...] | None:
    raw = _get(doc, "torch_copies", list)
    return None if raw is None else tuple(str(p) for p in raw)


_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_ARCH = re.compile(r"(sm|compute)_(\d{2,3})([af]?)")


def release(text: str | None) -> tuple[int, int, int] | None:
    """`2.9.1+cu129` -> (2, 9, 1), `0.24.0a0` -> (0, 24, 0), `12.9` -> (12, 9, 0); None if not a version."""
    match = _RELEASE.match(text.strip()) if text else None
    numbers = parse_version(match.group(0)) if match else None
    if numbers is None:
        return None
    return numbers[0], numbers[1], numbers[2] if len(numbers) > 2 else 0


@dataclass(frozen=True, slots=True)
class ArchEntry:
    """One entry of torch.cuda.get_arch_list()."""

    text: str
    """As torch wrote it, e.g. `sm_90a`."""
    ptx: bool
    """True for `compute_XY` (PTX, compiled by the driver at load time), False for `sm_XY` (a cubin)."""
    capability: Capability
    """The compute capability it targets."""
    suffix: str
    """`a` (architecture-specific), `f` (family-specific) or empty."""


def parse_arch(text: str) -> ArchEntry | None:
    """`sm_90` / `sm_90a` / `sm_100f` / `compute_90` as an ArchEntry; None for anything else."""
    match = _ARCH.fullmatch(text.strip().lower())
    if match is None:
        return None
    kind, digits, suffix = match.groups()
    return ArchEntry(text, kind == "compute", Capability(int(digits[:-1]), int(digits[-1])), suffix)
