"""`tvselect verify`: do the PyTorch and TorchVision of a Python environment really fit this machine?

Two halves. `run_payload` runs `payload.py` in the checked interpreter (a
subprocess, under a timeout) and reads its raw observations, or says why it could
not: a timeout, a signal (SIGILL from an illegal instruction), output that is not
JSON. `judge` is pure: from the observations, the machine's facts, the catalog and
the engine's decision it builds one Check per line. GPU code is judged with the
engine's own `cubin_runs_on`, so that verify and the choice never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tvselect.base.capability import Capability, format_capability, parse_version
from tvselect.catalog.model import Catalog, Variant
from tvselect.engine.decision import Decision
from tvselect.engine.rules import cubin_runs_on
from tvselect.errors import BadInputError
from tvselect.facts.model import Facts, Gpu
from tvselect.verify.payload import PAYLOAD_VERSION, STAGE_MARK

PAYLOAD_PATH = Path(__file__).with_name("payload.py")
DEFAULT_TIMEOUT = 120.0

ERROR = "error"
WARNING = "warning"

# TorchVision's documented compatibility table (the "Installation" section of the
# pytorch/vision README): each TorchVision release is built against one PyTorch minor
# release, and its compiled ops (nms, roi_align, ...) load only with that one.
TORCHVISION_FOR_TORCH: Mapping[tuple[int, int], tuple[int, int]] = {
    (2, 11): (0, 26),
    (2, 10): (0, 25),
    (2, 9): (0, 24),
    (2, 8): (0, 23),
    (2, 7): (0, 22),
    (2, 6): (0, 21),
}
# For PyTorch 2.x the table follows one rule from 2.0 <-> 0.15 on: TorchVision minor =
# PyTorch minor + 15. It answers for 2.x releases the table does not list yet, and the
# check says when the answer came from the rule rather than from the table.
TORCH2_TORCHVISION_MINOR_OFFSET = 15

# The oldest driver that runs each CUDA major's runtime through minor-version
# compatibility (CUDA Compatibility guide, table of minimum driver versions). Used
# only when the driver's own CUDA version is unknown.
MIN_DRIVER_FOR_CUDA_MAJOR: Mapping[int, tuple[int, ...]] = {
    11: (450, 80, 2),
    12: (525, 60, 13),
    13: (580,),
}

# torch.backends.cpu.get_cpu_capability() on x86_64, best first, with the catalog ISA
# whose CPU features that kernel set needs. The capability is what ATen dispatches to at
# run time, not the ISA the build was compiled for, which torch does not report.
X86_CAPABILITY_ISA: tuple[tuple[str, str], ...] = (("AVX512", "avx512"), ("AVX2", "avx2"))

# Non-maximum suppression of the payload's fixed boxes at IoU 0.5 keeps these, in this order.
EXPECTED_NMS: tuple[int, ...] = (3, 0)
EXPECTED_MATMUL: tuple[tuple[float, ...], ...] = ((7.0, 10.0), (15.0, 22.0))
# conv2d results may differ from the reference by float32 rounding, scaled by the outputs' size.
CONV_TOLERANCE = 1e-3

SIGNAL_HINTS: Mapping[str, str] = {
    "SIGILL": "an illegal instruction: the build uses CPU instructions this CPU does not have",
    "SIGSEGV": "a segmentation fault in native code",
    "SIGBUS": "a bus error in native code",
    "SIGABRT": "native code aborted",
    "SIGKILL": "killed from outside, often by the kernel when memory runs out",
}


@dataclass(frozen=True, slots=True)
class PayloadFailure:
    """Why the checked interpreter gave no observations."""

    command: tuple[str, ...]
    """The command that was run, payload path last."""
    kind: str
    """`not-started`, `timeout`, `signal`, `exit-status` or `bad-output`."""
    detail: str
    """What happened, in words."""
    stage: str | None
    """The payload stage that was running when it stopped, when known."""
    stderr_tail: str
    """The last lines the interpreter wrote on stderr, stage marks left out."""


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


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the verdict."""

    name: str
    """Short stable name, e.g. `torch-import`, `gpu-arch[0]`, `smoke[cuda:0]`."""
    ok: bool
    """Whether it holds."""
    severity: str
    """`error` (a failure fails verify) or `warning` (works, but not as well as it could)."""
    detail: str
    """What was found, and why it matters, in words."""


@dataclass(frozen=True, slots=True)
class VariantMatch:
    """Which catalog variant the installed build is, as far as it can be told."""

    branches: tuple[str, ...]
    """Catalog branches whose versions it has; empty when none."""
    gpu_arch: str | None
    """The one GPU architecture it carries (`sm90`); None for CPU-only or multi-architecture builds."""
    candidates: tuple[Variant, ...]
    """Catalog variants it can be; the CPU ISA is not observable, so usually several."""
    why_not: str | None
    """Why it is no catalog variant; None when it may be one."""

    @property
    def package(self) -> str | None:
        """The package name when only one fits."""
        names = {v.package for v in self.candidates}
        return names.pop() if len(names) == 1 else None


@dataclass(frozen=True)
class VerifyResult:
    """Everything `tvselect verify` found."""

    python: str
    """The checked interpreter: its sys.executable when it answered, else the command's python."""
    command: tuple[str, ...]
    """The command that ran the payload."""
    checks: tuple[Check, ...]
    """One per line, in the order they are shown."""
    observations: RawObservations | None
    """What the payload observed; None when it gave nothing."""
    failure: PayloadFailure | None
    """Why the payload gave nothing; None when it answered."""
    facts: Facts
    """The machine the build was checked against."""
    expected: Variant | None
    """The variant tvselect chooses here; None on no-match."""
    match: VariantMatch | None
    """Which catalog variant is installed; None when torch gave too little to tell."""

    @property
    def ok(self) -> bool:
        """True when no error-severity check failed (warnings do not count)."""
        return all(c.ok or c.severity == WARNING for c in self.checks)


# --------------------------------------------------------------------------- running


def python_command(python: str) -> tuple[str, ...]:
    """The command prefix for an interpreter given as `--python`; BadInputError when unusable.

    A bare name is looked up on PATH. The path is kept as given, not resolved: a
    virtual environment's python is a symbolic link, and resolving it leaves the environment.
    """
    import os
    import shutil

    path = python if os.sep in python else shutil.which(python)
    if path is None or not os.path.exists(path):
        raise BadInputError(f"--python {python!r}: not found")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise BadInputError(f"--python {python!r}: not an executable file")
    return (path,)


def flox_command(directory: str | None) -> tuple[str, ...]:
    """The command prefix that runs `python` inside a flox environment (`.` by default)."""
    return ("flox", "activate", "-d", directory or ".", "--", "python")


def _split_stderr(text: str) -> tuple[str | None, str]:
    stage = None
    kept = []
    for line in text.splitlines():
        if line.startswith(STAGE_MARK):
            stage = line[len(STAGE_MARK) :].strip()
        else:
            kept.append(line)
    tail = "\n".join(kept[-15:])
    return stage, tail[-2000:]


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _during(stage: str | None) -> str:
    return f" during '{stage}'" if stage and stage != "done" else ""


def run_payload(
    command: Sequence[str], *, timeout: float, env: Mapping[str, str]
) -> RawObservations | PayloadFailure:
    """Run the payload with `command` (e.g. `[python]`, or `flox activate ... -- python`).

    Never raises for what the checked interpreter does: a timeout kills its whole
    process group; death by a signal, a non-zero exit and output that is not the
    payload's JSON all come back as a PayloadFailure.
    """
    from tvselect.base.children import Flooded, NotStarted, TimedOut, run_bounded

    argv = (*command, str(PAYLOAD_PATH))
    done = run_bounded(argv, env, timeout, drain=10)
    if isinstance(done, NotStarted):
        return PayloadFailure(
            argv, "not-started", f"{argv[0]} could not be started ({done.reason})", None, ""
        )
    stage, tail = _split_stderr(done.stderr.decode("utf-8", "replace"))
    if isinstance(done, TimedOut):
        return PayloadFailure(
            argv, "timeout", f"no answer within {timeout:g} s{_during(stage)}; it was killed", stage, tail
        )
    if isinstance(done, Flooded):
        detail = f"the interpreter printed more than {done.limit // (1024 * 1024)} MiB; it was killed"
        return PayloadFailure(argv, "bad-output", detail, stage, tail)
    out = done.stdout
    code = done.returncode
    if code < 0:
        name = _signal_name(-code)
        hint = SIGNAL_HINTS.get(name)
        detail = f"the interpreter was killed by {name}{_during(stage)}" + (f" ({hint})" if hint else "")
        return PayloadFailure(argv, "signal", detail, stage, tail)
    if code != 0:
        detail = f"the interpreter exited with status {code}{_during(stage)}"
        if len(command) > 1 and 128 < code < 160:
            name = _signal_name(code - 128)
            hint = SIGNAL_HINTS.get(name)
            detail += f" (128 + {code - 128}: probably killed by {name}" + (f", {hint})" if hint else ")")
        return PayloadFailure(argv, "exit-status", detail, stage, tail)
    text = out.decode("utf-8", "replace")
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                return read_observations(argv, _json_object(line))
            except ValueError as exc:
                return PayloadFailure(
                    argv, "bad-output", f"the payload's output is not understood ({exc})", stage, tail
                )
    shown = text.strip()[-300:] or "nothing"
    return PayloadFailure(
        argv, "bad-output", f"the interpreter printed no JSON object (stdout: {shown})", stage, tail
    )


class BadPayloadError(BadInputError, ValueError):
    """The payload's output is not the JSON object it writes (a ValueError too, for older callers)."""


def _json_object(line: str) -> dict[str, Any]:
    import json

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
    return read_observations(command, _json_object(line))


def _get(obj: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise ValueError(f"expected an object holding '{key}'")
    value = obj.get(key)
    if value is not None and not isinstance(value, kind):
        raise ValueError(f"'{key}' has the wrong type")
    return value


def _module(raw: Any) -> ModuleObservation:
    return ModuleObservation(_get(raw, "version", str), _get(raw, "error", str), _get(raw, "path", str))


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
        raise ValueError(f"payload_version {version!r}, expected {PAYLOAD_VERSION}")
    python = doc.get("python") or {}
    cuda = doc.get("cuda") or {}
    cpu = doc.get("cpu") or {}
    devices = []
    for raw in _get(cuda, "devices", list) or []:
        cap = _get(raw, "capability", list)
        devices.append(
            DeviceObservation(
                index=int(_get(raw, "index", int) or 0),
                name=_get(raw, "name", str),
                capability=(int(cap[0]), int(cap[1])) if cap and len(cap) == 2 else None,
                error=_get(raw, "error", str),
            )
        )
    smoke = []
    for raw in _get(doc, "smoke", list) or []:
        nms = _get(raw, "nms", list)
        diff = _get(raw, "conv_max_abs_diff", (int, float))
        smoke.append(
            SmokeObservation(
                device=str(_get(raw, "device", str)),
                nms=tuple(int(i) for i in nms) if nms is not None else None,
                nms_error=_get(raw, "nms_error", str),
                conv_max_abs_diff=float(diff) if diff is not None else None,
                conv_compared_with=str(_get(raw, "conv_compared_with", str) or "python-reference"),
                conv_error=_get(raw, "conv_error", str),
            )
        )
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
    )


# --------------------------------------------------------------------------- judging

_RELEASE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_ARCH = re.compile(r"(sm|compute)_(\d{2,3})([af]?)")


def release(text: str | None) -> tuple[int, int, int] | None:
    """`2.9.1+cu129` -> (2, 9, 1), `0.24.0a0` -> (0, 24, 0), `12.9` -> (12, 9, 0); None if not a version."""
    match = _RELEASE.match(text.strip()) if text else None
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


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
    return ArchEntry(text, kind == "compute", (int(digits[:-1]), int(digits[-1])), suffix)


_REASON_WORDS: Mapping[str, str] = {
    "gpu-major-differs": "a cubin never runs across major versions",
    "gpu-minor-too-new": "its minor version is newer than the GPU's",
    "gpu-tegra-exact": "Tegra GPUs run only code for their exact capability",
    "arch-specific": "architecture-specific ('a') code runs only on exactly that capability",
    "ptx-too-new": "PTX is compiled only for GPUs of its capability or newer",
    "ptx-family": "family PTX ('f') runs only within its major version",
}


def arch_runs_on(entry: ArchEntry, gpu: Capability, tegra: frozenset[Capability]) -> str | None:
    """None when code of `entry` runs on a GPU of capability `gpu`; else a reason code.

    Cubins (`sm_`) follow the engine's `cubin_runs_on`; an `a` cubin also needs the exact
    capability, and an `f` (family) cubin is what `cubin_runs_on` describes already.
    PTX (`compute_XY`) is JIT-compiled by the driver for any GPU of capability >= X.Y
    (`a`: exactly X.Y; `f`: X.Y and newer of the same major).
    """
    cap = entry.capability
    if not entry.ptx:
        code = cubin_runs_on(cap, gpu, tegra)
        if code is None and entry.suffix == "a" and cap != gpu:
            return "arch-specific"
        return code
    if entry.suffix == "a" and cap != gpu:
        return "arch-specific"
    if entry.suffix == "f" and cap[0] != gpu[0]:
        return "ptx-family"
    return None if gpu >= cap else "ptx-too-new"


def _fmt_versions(pairs: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> str:
    return ", ".join(f"torchvision {v[0]}.{v[1]} with torch {t[0]}.{t[1]}" for t, v in pairs)


def _catalog_pairs(catalog: Catalog) -> dict[tuple[tuple[int, int], tuple[int, int]], list[str]]:
    pairs: dict[tuple[tuple[int, int], tuple[int, int]], list[str]] = {}
    for name, branch in catalog.branches.items():
        torch, vision = release(branch.pytorch), release(branch.torchvision)
        if torch is not None and vision is not None:
            pairs.setdefault((torch[:2], vision[:2]), []).append(name)
    return pairs


def _import_checks(obs: RawObservations) -> list[Check]:
    checks = []
    torch = obs.torch
    if torch.error is None:
        checks.append(Check("torch-import", True, ERROR, f"torch {torch.version} from {torch.path}"))
    else:
        checks.append(Check("torch-import", False, ERROR, f"torch does not import: {torch.error}"))
    vision = obs.torchvision
    if vision is None:
        checks.append(
            Check("torchvision-import", False, ERROR, "torchvision not tried: torch does not import")
        )
    elif vision.error is None:
        checks.append(
            Check("torchvision-import", True, ERROR, f"torchvision {vision.version} from {vision.path}")
        )
    else:
        checks.append(
            Check("torchvision-import", False, ERROR, f"torchvision does not import: {vision.error}")
        )
    return checks


def _pair_check(obs: RawObservations, catalog: Catalog) -> Check | None:
    if obs.torchvision is None or obs.torch.version is None or obs.torchvision.version is None:
        return None
    torch_text, vision_text = obs.torch.version, obs.torchvision.version
    torch, vision = release(torch_text), release(vision_text)
    named = f"torch {torch_text} and torchvision {vision_text}"
    if torch is None or vision is None:
        return Check(
            "version-pair",
            False,
            WARNING,
            f"{named}: a version is not understood, so the pair is not checked",
        )
    pairs = _catalog_pairs(catalog)
    branches = pairs.get((torch[:2], vision[:2]))
    if branches:
        return Check(
            "version-pair",
            True,
            ERROR,
            f"{named} belong together: a catalog pair (branch {', '.join(branches)})",
        )
    outside = f"not a catalog pair (the catalog builds {_fmt_versions(sorted(pairs, reverse=True))})"
    wanted = TORCHVISION_FOR_TORCH.get(torch[:2])
    source = "torchvision's compatibility table"
    if wanted is None and torch[0] == 2:
        wanted = (0, torch[1] + TORCH2_TORCHVISION_MINOR_OFFSET)
        source = (
            f"torchvision's rule for torch 2.x, minor + {TORCH2_TORCHVISION_MINOR_OFFSET}; "
            "newer than its table"
        )
    if wanted is None:
        return Check(
            "version-pair",
            False,
            WARNING,
            f"{named}: no known rule pairs torch {torch[0]}.{torch[1]}; {outside}",
        )
    if vision[:2] == wanted:
        return Check("version-pair", True, ERROR, f"{named} belong together ({source}); {outside}")
    return Check(
        "version-pair",
        False,
        ERROR,
        f"{named} do not belong together: torch {torch[0]}.{torch[1]} goes with torchvision "
        f"{wanted[0]}.{wanted[1]} ({source}); torchvision's compiled ops will not load or will misbehave",
    )


def _gpu_list(gpus: Sequence[Gpu]) -> str:
    return ", ".join(f"GPU {g.index} {g.name} ({format_capability(g.capability)})" for g in gpus)


def _cuda_check(obs: RawObservations, facts: Facts) -> Check:
    gpus, hidden = facts.gpu.gpus, facts.gpu.excluded
    built = obs.cuda_built_with
    sees = (obs.device_count or 0) if obs.cuda_available else 0
    errors = f" ({'; '.join(obs.cuda_errors)})" if obs.cuda_errors else ""
    if not gpus and not hidden:
        if built is None:
            return Check("cuda", True, ERROR, "no GPU on this machine, and torch is a CPU-only build")
        if sees:
            return Check(
                "cuda",
                False,
                WARNING,
                f"torch sees {sees} GPU(s) that the facts do not list (were the facts simulated?)",
            )
        return Check(
            "cuda",
            False,
            WARNING,
            f"torch is a CUDA {built} build on a machine without a usable GPU: it runs on the CPU only, "
            "and a CPU-only build is smaller",
        )
    have = _gpu_list(gpus) if gpus else f"{len(hidden)} GPU(s), all hidden"
    if built is None:
        return Check(
            "cuda",
            False,
            ERROR,
            f"torch is a CPU-only build (torch.version.cuda is None); this machine has {have}",
        )
    if not sees:
        why = []
        if obs.cuda_visible_devices is not None and not obs.cuda_visible_devices.strip():
            why.append("CUDA_VISIBLE_DEVICES is set to '' in the checked environment, which hides every GPU")
        elif obs.cuda_visible_devices is not None:
            why.append(f"CUDA_VISIBLE_DEVICES={obs.cuda_visible_devices} in the checked environment")
        why += [f"GPU {e.index}: {e.reason}" for e in hidden]
        if not why:
            why.append("the driver may be missing from this environment, or too old for this CUDA runtime")
        return Check(
            "cuda",
            False,
            ERROR,
            f"torch.cuda.is_available() is {obs.cuda_available} and torch sees no GPU, but this machine has "
            f"{have}: {'; '.join(why)}{errors}",
        )
    seen = ", ".join(
        f"cuda:{d.index} {d.name} ({format_capability(d.capability) if d.capability else '?'})"
        for d in obs.devices
    )
    if gpus and sees != len(gpus):
        return Check(
            "cuda", False, WARNING, f"torch sees {sees} GPU(s) ({seen}), the probe found {len(gpus)}: {have}"
        )
    return Check("cuda", True, ERROR, f"CUDA {built} build; torch sees {seen}")


def _arch_checks(obs: RawObservations, facts: Facts, catalog: Catalog) -> list[Check]:
    if obs.cuda_built_with is None or not obs.cuda_available or obs.arch_list is None:
        return []
    tegra = catalog.tegra_capabilities
    entries = [e for e in (parse_arch(a) for a in obs.arch_list) if e is not None]
    listed = ", ".join(obs.arch_list) or "empty"
    checks = []
    for gpu in facts.gpu.gpus:
        cap, name = gpu.capability, f"gpu-arch[{gpu.index}]"
        label = f"GPU {gpu.index} {gpu.name} ({format_capability(cap)})"
        running = [e for e in entries if arch_runs_on(e, cap, tegra) is None]
        exact = [e for e in running if not e.ptx and e.capability == cap]
        cubins = [e for e in running if not e.ptx]
        if exact:
            checks.append(
                Check(name, True, ERROR, f"{label}: torch carries {exact[0].text} code, an exact match")
            )
        elif cubins:
            best = max(cubins, key=lambda e: e.capability)
            checks.append(
                Check(
                    name,
                    False,
                    WARNING,
                    f"{label}: no sm_{cap[0]}{cap[1]} code; {best.text} code runs on it "
                    "by binary compatibility "
                    "(same major, lower minor), but an exact build may be faster",
                )
            )
        elif running:
            best = max(running, key=lambda e: e.capability)
            checks.append(
                Check(
                    name,
                    False,
                    WARNING,
                    f"{label}: no cubin runs on it; {best.text} PTX is JIT-compiled by the driver "
                    f"(PTX runs on any GPU of capability {format_capability(best.capability)} or newer): "
                    "slow first start, and the "
                    "driver must be as new as the CUDA that built it",
                )
            )
        else:
            why = "; ".join(
                f"{e.text}: {_REASON_WORDS.get(code, code)}"
                for e in entries
                if (code := arch_runs_on(e, cap, tegra)) is not None
            )
            unknown = [a for a in obs.arch_list if parse_arch(a) is None]
            extra = f"; not understood: {', '.join(unknown)}" if unknown else ""
            checks.append(
                Check(
                    name,
                    False,
                    ERROR,
                    f"{label}: torch's arch list ({listed}) has no code that runs on it"
                    f"{' (' + why + ')' if why else ''}{extra}; CUDA kernels will fail with "
                    "'no kernel image is available for execution on the device'",
                )
            )
    return checks


def _driver_check(obs: RawObservations, facts: Facts) -> Check | None:
    built = obs.cuda_built_with
    if built is None or not (facts.gpu.gpus or facts.gpu.excluded):
        return None
    runtime = release(built)
    if runtime is None:
        return Check(
            "cuda-driver", False, WARNING, f"torch.version.cuda is {built!r}, not a version: not checked"
        )
    have = parse_version(facts.gpu.cuda_driver_version or "")
    driver = parse_version(facts.gpu.driver_version or "")
    rt = f"{runtime[0]}.{runtime[1]}"
    if have is not None:
        shown = facts.gpu.cuda_driver_version
        if have[0] > runtime[0]:
            return Check(
                "cuda-driver", True, ERROR, f"the driver supports CUDA {shown}, newer than torch's CUDA {rt}"
            )
        if have[0] < runtime[0]:
            need = MIN_DRIVER_FOR_CUDA_MAJOR.get(runtime[0])
            hint = f" (driver {'.'.join(map(str, need))} or newer)" if need else ""
            return Check(
                "cuda-driver",
                False,
                ERROR,
                f"torch is built with CUDA {rt}, but the driver supports CUDA only up to {shown}: "
                f"it needs a driver for CUDA {runtime[0]}.x{hint}",
            )
        if len(have) > 1 and have[1] < runtime[1]:
            return Check(
                "cuda-driver",
                True,
                ERROR,
                f"torch's CUDA {rt} runs on this CUDA {shown} driver through minor-version compatibility "
                "(same major); PTX newer than the driver cannot be JIT-compiled",
            )
        return Check(
            "cuda-driver", True, ERROR, f"the driver supports CUDA {shown}; torch is built with CUDA {rt}"
        )
    if driver is not None:
        need = MIN_DRIVER_FOR_CUDA_MAJOR.get(runtime[0])
        text = facts.gpu.driver_version
        if need is None:
            return Check(
                "cuda-driver", False, WARNING, f"driver {text}: no known minimum for CUDA {rt}: not checked"
            )
        minimum = ".".join(map(str, need))
        if driver >= need:
            return Check(
                "cuda-driver",
                True,
                ERROR,
                f"driver {text} runs CUDA {runtime[0]}.x runtimes (needs {minimum} or newer, minor-version "
                f"compatibility); torch is built with CUDA {rt}",
            )
        return Check(
            "cuda-driver",
            False,
            ERROR,
            f"driver {text} is too old for torch's CUDA {rt}: it needs {minimum} or newer",
        )
    if obs.cuda_available:
        return Check(
            "cuda-driver",
            True,
            ERROR,
            f"driver version unknown; torch started CUDA {rt}, so the driver accepts it",
        )
    return Check("cuda-driver", False, WARNING, f"driver version unknown: CUDA {rt} support not checked")


def _cpu_checks(obs: RawObservations, facts: Facts, catalog: Catalog) -> list[Check]:
    checks = []
    cap = obs.cpu_capability
    if cap is None:
        checks.append(
            Check(
                "cpu-capability",
                False,
                WARNING,
                f"torch does not report it ({obs.cpu_capability_error or 'None'})",
            )
        )
    else:
        better = None
        lacking: frozenset[str] = frozenset()
        if facts.cpu.arch == "x86_64":
            order = [name for name, _ in X86_CAPABILITY_ISA]
            own = dict(X86_CAPABILITY_ISA).get(cap)
            if own is not None and own in catalog.isas and facts.cpu.features:
                lacking = catalog.isas[own].needs - facts.cpu.features
            for name, isa in X86_CAPABILITY_ISA:
                if isa in catalog.isas and catalog.isas[isa].needs <= facts.cpu.features:
                    rank = order.index(cap) if cap in order else len(order)
                    if order.index(name) < rank:
                        better = name
                    break
        if lacking:
            checks.append(
                Check(
                    "cpu-capability",
                    False,
                    WARNING,
                    f"torch runs {cap} CPU kernels, but the facts say this CPU lacks "
                    f"{', '.join(sorted(lacking))} (from {facts.cpu.source}): "
                    "were the facts of another machine?",
                )
            )
        elif better is not None:
            checks.append(
                Check(
                    "cpu-capability",
                    False,
                    WARNING,
                    f"torch runs {cap} CPU kernels, but this CPU can run {better} ones: "
                    "the build lacks them, "
                    "or ATEN_CPU_CAPABILITY holds them back",
                )
            )
        else:
            checks.append(
                Check(
                    "cpu-capability",
                    True,
                    ERROR,
                    f"torch runs {cap} CPU kernels on this {facts.cpu.arch} CPU",
                )
            )
    if obs.matmul_error is not None:
        checks.append(
            Check("cpu-tensor-op", False, ERROR, f"a 2x2 matmul on the CPU failed: {obs.matmul_error}")
        )
    else:
        try:
            got = tuple(tuple(float(x) for x in row) for row in obs.matmul)
        except (TypeError, ValueError):
            got = None
        ok = got == EXPECTED_MATMUL
        checks.append(
            Check(
                "cpu-tensor-op",
                ok,
                ERROR,
                "a 2x2 matmul on the CPU gives the right answer"
                if ok
                else f"a 2x2 matmul on the CPU gave {obs.matmul!r}, "
                f"expected {[list(r) for r in EXPECTED_MATMUL]}",
            )
        )
    return checks


def _smoke_checks(obs: RawObservations, reference_max_abs: float) -> list[Check]:
    checks = []
    cpu_nms = next((s.nms for s in obs.smoke if s.device == "cpu"), None)
    tolerance = CONV_TOLERANCE * max(1.0, reference_max_abs)
    for run in obs.smoke:
        problems, good = [], []
        want = EXPECTED_NMS if run.device == "cpu" or cpu_nms is None else cpu_nms
        want_from = "the known answer" if run.device == "cpu" or cpu_nms is None else "the CPU's"
        if run.nms_error is not None:
            problems.append(f"nms failed: {run.nms_error}")
        elif run.nms is None:
            good.append("nms not run (torchvision did not import)")
        elif run.nms != want:
            problems.append(f"nms kept {list(run.nms)}, {want_from} is {list(want)}")
        else:
            good.append(f"nms matches {want_from}")
        against = "the CPU's" if run.conv_compared_with == "cpu" else "a plain-Python reference"
        if run.conv_error is not None:
            problems.append(f"conv2d failed: {run.conv_error}")
        elif run.conv_max_abs_diff is None:
            problems.append("conv2d gave a result of the wrong shape")
        elif run.conv_max_abs_diff > tolerance:
            problems.append(
                f"conv2d differs from {against} result by {run.conv_max_abs_diff:.3g} "
                f"(tolerance {tolerance:.3g})"
            )
        else:
            good.append(f"conv2d matches {against} result (max abs diff {run.conv_max_abs_diff:.3g})")
        checks.append(Check(f"smoke[{run.device}]", not problems, ERROR, "; ".join(problems or good)))
    return checks


def match_variant(obs: RawObservations, facts: Facts, catalog: Catalog) -> VariantMatch | None:
    """Which catalog variants the installed build can be; None when torch did not import."""
    torch = release(obs.torch.version)
    if torch is None:
        return None
    vision = release(obs.torchvision.version if obs.torchvision else None)
    python = release(obs.python_version)
    built = release(obs.cuda_built_with)
    branches = []
    for name, branch in catalog.branches.items():
        if (release(branch.pytorch) or ())[:2] != torch[:2]:
            continue
        if branch.torchvision is not None and (
            vision is None or (release(branch.torchvision) or ())[:2] != vision[:2]
        ):
            continue
        if python is not None and (release(branch.python) or ())[:2] != python[:2]:
            continue
        if built is not None and (release(branch.cuda) or ())[:2] != built[:2]:
            continue
        branches.append(name)
    gpu_arch: str | None = None
    why_not = None
    if built is not None:
        entries = [e for e in (parse_arch(a) for a in obs.arch_list or ()) if e is not None]
        cubins = [e for e in entries if not e.ptx]
        if not entries:
            why_not = "torch reports no GPU architecture, so which build it is cannot be told"
        elif len(cubins) == 1 and len(entries) == 1 and not cubins[0].suffix:
            gpu_arch = f"sm{cubins[0].capability[0]}{cubins[0].capability[1]}"
            if gpu_arch not in catalog.gpu_archs:
                why_not = f"no catalog variant is built for {cubins[0].text}"
        else:
            why_not = (
                f"it carries code for {len(entries)} architectures ({', '.join(e.text for e in entries)}); "
                "build-torchvision variants carry one"
            )
    if not branches:
        what = f"torch {obs.torch.version}, torchvision {obs.torchvision.version if obs.torchvision else '?'}"
        what += f", CUDA {obs.cuda_built_with}" if built is not None else ", CPU-only"
        what += f", Python {obs.python_version}"
        why_not = f"no catalog branch builds {what}" + (f"; {why_not}" if why_not else "")
    candidates: tuple[Variant, ...] = ()
    if why_not is None:
        candidates = tuple(
            v
            for v in catalog.variants
            if v.branch in branches
            and v.gpu_arch == gpu_arch
            and catalog.isas[v.cpu_isa].arch == facts.cpu.arch
        )
        if not candidates:
            why_not = (
                f"no catalog variant of branch {', '.join(branches)} for {gpu_arch or 'CPU only'} "
                f"on {facts.cpu.arch}"
            )
    return VariantMatch(tuple(branches), gpu_arch, candidates, why_not)


def _variant_check(match: VariantMatch | None, expected: Variant | None) -> Check | None:
    if match is None:
        return None
    choose = (
        f"tvselect would choose {expected.package} (branch {expected.branch})"
        if expected
        else "tvselect chooses no variant here"
    )
    if match.why_not is not None:
        return Check("variant", False, WARNING, f"not a build-torchvision variant: {match.why_not}; {choose}")
    first = match.candidates[0]
    installed = f"branch {first.branch}, {first.gpu_arch or 'CPU-only'}"
    isas = sorted({v.cpu_isa for v in match.candidates})
    if expected is not None and any(
        v.package == expected.package and v.branch == expected.branch for v in match.candidates
    ):
        if match.package is not None:
            return Check("variant", True, WARNING, f"installed build is {match.package}: {choose}")
        return Check(
            "variant",
            True,
            WARNING,
            f"installed build is {installed}, as tvselect would choose; "
            "the CPU ISA it was compiled for is unknown "
            f"(torch does not report it; one of {', '.join(isas)}), tvselect would choose {expected.cpu_isa}",
        )
    shown = match.package or f"{installed}, CPU ISA unknown (one of {', '.join(isas)})"
    return Check("variant", False, WARNING, f"installed build is {shown}; it runs, but {choose}")


def judge(
    observations: RawObservations | PayloadFailure, facts: Facts, catalog: Catalog, decision: Decision
) -> VerifyResult:
    """The checks, one per line, from what the payload observed (or why it could not)."""
    expected = decision.variant
    if isinstance(observations, PayloadFailure):
        failure = observations
        tail = f"; stderr ends: {failure.stderr_tail.strip()[-600:]}" if failure.stderr_tail.strip() else ""
        check = Check("python", False, ERROR, f"{failure.detail}{tail}")
        return VerifyResult(
            _python_of(failure.command), failure.command, (check,), None, failure, facts, expected, None
        )
    obs = observations
    checks = [Check("python", True, ERROR, f"Python {obs.python_version} at {obs.python_executable}")]
    if obs.payload_error is not None:
        checks.append(Check("payload", False, ERROR, f"the checks themselves failed: {obs.payload_error}"))
    checks += _import_checks(obs)
    pair = _pair_check(obs, catalog)
    if pair is not None:
        checks.append(pair)
    match = None
    if obs.torch.error is None:
        checks.append(_cuda_check(obs, facts))
        checks += _arch_checks(obs, facts, catalog)
        driver = _driver_check(obs, facts)
        if driver is not None:
            checks.append(driver)
        checks += _cpu_checks(obs, facts, catalog)
        reference = obs.document.get("conv_reference_max_abs")
        checks += _smoke_checks(obs, float(reference) if isinstance(reference, (int, float)) else 1.0)
        match = match_variant(obs, facts, catalog)
        variant = _variant_check(match, expected)
        if variant is not None:
            checks.append(variant)
    python = obs.python_executable or _python_of(obs.command)
    return VerifyResult(python, obs.command, tuple(checks), obs, None, facts, expected, match)


def _python_of(command: Sequence[str]) -> str:
    """The interpreter in a command whose last element is the payload."""
    return command[-2] if len(command) >= 2 else command[0]


def verify_document(result: VerifyResult) -> dict[str, Any]:
    """The JSON object `tvselect verify --json` prints (schema version 1)."""
    from tvselect import __version__
    from tvselect.facts.document import to_document

    failure = result.failure
    match = result.match
    return {
        "schema_version": 1,
        "kind": "tvselect.verify",
        "tvselect_version": __version__,
        "ok": result.ok,
        "python": result.python,
        "command": list(result.command),
        "checks": [
            {"name": c.name, "ok": c.ok, "severity": c.severity, "detail": c.detail} for c in result.checks
        ],
        "observations": dict(result.observations.document) if result.observations else None,
        "failure": None
        if failure is None
        else {
            "kind": failure.kind,
            "detail": failure.detail,
            "stage": failure.stage,
            "stderr_tail": failure.stderr_tail,
        },
        "expected_package": result.expected.package if result.expected else None,
        "expected_branch": result.expected.branch if result.expected else None,
        "matched_package": match.package if match else None,
        "matched": None
        if match is None
        else {
            "branches": list(match.branches),
            "gpu_arch": match.gpu_arch,
            "cpu_isa": None,
            "candidates": [{"package": v.package, "branch": v.branch} for v in match.candidates],
            "why_not": match.why_not,
        },
        "facts": to_document(result.facts),
    }
