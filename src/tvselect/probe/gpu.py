"""The GPU probe: NVML first, nvidia-smi where NVML cannot answer, then the GPU visibility rules of CUDA.

`read_gpus` never raises and never hangs: every source that cannot be read becomes a reason in
words, and both NVML and nvidia-smi run under a time limit. `parse_nvidia_smi` and
`parse_visible_devices` are pure functions of their text.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tvselect.base.capability import Capability, parse_capability
from tvselect.facts.model import ExcludedGpu, Gpu, GpuFacts
from tvselect.probe.root import HOST_ROOT, ProbeRoot

DRIVER_DIR = "/proc/driver/nvidia"
# WSL2 has no /proc/driver/nvidia; its GPUs are reached through this device instead.
WSL_DEVICE = "/dev/dxg"
NVML_LIBRARY = "libnvidia-ml.so.1"
LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/nvidia/lib64",
    "/run/opengl-driver/lib",
    "/usr/lib/wsl/lib",
)
NVML_TIMEOUT_S = 3.0
SMI_TIMEOUT_S = 5.0

# The first five are what every driver since 510 reports; memory and MIG mode come after so that a
# product name containing a comma can still be put back together.
SMI_FIELDS = ("index", "name", "uuid", "compute_cap", "driver_version", "memory.total", "mig.mode.current")
SMI_ARGS = (f"--query-gpu={','.join(SMI_FIELDS)}", "--format=csv,noheader,nounits")

# NVML return codes from nvml.h; they are part of the driver's ABI and never change meaning.
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_CORRUPTED_INFOROM = 14
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_MEMORY = 20
NVML_ERROR_GPU_NOT_FOUND = 28

NVML_REASONS: Mapping[int, str] = {
    NVML_ERROR_UNINITIALIZED: "NVML was not initialised",
    NVML_ERROR_NOT_SUPPORTED: "not supported by this GPU or driver",
    NVML_ERROR_NO_PERMISSION: "no permission to the GPU device",
    NVML_ERROR_DRIVER_NOT_LOADED: "NVIDIA driver installed but not loaded",
    NVML_ERROR_TIMEOUT: "the NVIDIA driver timed out",
    NVML_ERROR_LIBRARY_NOT_FOUND: f"NVIDIA driver library {NVML_LIBRARY} not found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "function not found: the NVIDIA driver is older than the NVML bindings",
    NVML_ERROR_CORRUPTED_INFOROM: "the GPU's infoROM is corrupted",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost (it fell off the bus or stopped answering)",
    NVML_ERROR_RESET_REQUIRED: "the GPU needs a reset",
    NVML_ERROR_OPERATING_SYSTEM: "the operating system blocked the request",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "driver and library versions differ",
    NVML_ERROR_MEMORY: "NVML ran out of memory",
    NVML_ERROR_GPU_NOT_FOUND: "GPU not found",
}
_NVML_HINTS: Mapping[int, str] = {
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: (
        "the loaded nvidia kernel module is not the version libnvidia-ml belongs to; "
        "reboot, or reload the module, after a driver update"
    ),
    NVML_ERROR_NO_PERMISSION: "the user cannot open /dev/nvidiactl or /dev/nvidia*",
}
_BINDINGS_MISSING = -1
_NVML_TIMED_OUT = -2


@dataclass(frozen=True, slots=True)
class FoundGpu:
    """One GPU as NVML or nvidia-smi reported it, before the visibility rules apply."""

    index: int
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


@dataclass(frozen=True, slots=True)
class Found:
    """What one source reported: its GPUs and the driver."""

    gpus: tuple[FoundGpu, ...]
    """Every GPU it listed, in index order."""
    driver_version: str | None
    """Driver version, e.g. `550.54.14`."""
    cuda_driver_version: str | None
    """Newest CUDA the driver supports, e.g. `12.9`."""
    notes: tuple[str, ...] = ()
    """What went wrong on the way without stopping the source."""


@dataclass(frozen=True, slots=True)
class _Failure:
    reason: str
    code: int | None = None


@dataclass(frozen=True, slots=True)
class VisibleDevices:
    """CUDA_VISIBLE_DEVICES as CUDA reads it."""

    value: str | None
    """The variable's value; None when unset."""
    entries: tuple[str, ...] | None
    """Entries CUDA reads, in order; None when every GPU is visible (unset)."""
    stopped_at: str | None = None
    """The first entry that is neither an index nor a UUID: CUDA ignores it and all after it."""


_ENTRY = re.compile(r"\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9A-Za-z/-]+")


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
        if not _ENTRY.fullmatch(entry):
            return VisibleDevices(value=value, entries=tuple(entries), stopped_at=entry)
        entries.append(entry)
    return VisibleDevices(value=value, entries=tuple(entries))


def _is_missing(field: str) -> bool:
    return not field or field.startswith("[") or field.upper() in ("N/A", "ERR!")


def parse_nvidia_smi(text: str) -> Found:
    """GPUs from the output of `nvidia-smi --query-gpu=<SMI_FIELDS> --format=csv,noheader,nounits`.

    Also reads the plain five-field form (`index,name,uuid,compute_cap,driver_version`). Lines that
    are not a GPU row (warnings, garbage) are skipped and named in `notes`; `[N/A]` means unknown.
    """
    gpus: list[FoundGpu] = []
    notes: list[str] = []
    drivers: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        width = len(SMI_FIELDS) if len(fields) >= len(SMI_FIELDS) else 5
        if len(fields) > width:
            # A comma inside the product name: everything between index and uuid is the name.
            extra = len(fields) - width
            fields = [fields[0], ", ".join(fields[1 : 2 + extra]), *fields[2 + extra :]]
        if len(fields) != width or not fields[0].isdigit():
            notes.append(f"nvidia-smi: line {number} is not a GPU row: {line.strip()[:100]!r}")
            continue
        index, name, uuid, cap_text, driver = fields[:5]
        memory = fields[5] if width > 5 else ""
        mig = fields[6] if width > 5 else ""
        cap = None if _is_missing(cap_text) else parse_capability(cap_text)
        if not _is_missing(driver):
            drivers.append(driver)
        gpus.append(
            FoundGpu(
                index=int(index),
                name=None if _is_missing(name) else name,
                uuid=None if _is_missing(uuid) else uuid,
                capability=cap,
                memory_mib=int(memory) if memory.isdigit() else None,
                mig={"enabled": True, "disabled": False}.get(mig.lower()),
                problem=None if cap else f"nvidia-smi reports its compute capability as '{cap_text}'",
            )
        )
    return Found(
        gpus=tuple(sorted(gpus, key=lambda g: g.index)),
        driver_version=drivers[0] if drivers else None,
        cuda_driver_version=None,
        notes=tuple(notes),
    )


def read_gpus(
    environ: Mapping[str, str],
    *,
    root: ProbeRoot = HOST_ROOT,
    driver_dir: str = DRIVER_DIR,
    wsl_device: str = WSL_DEVICE,
    library_dirs: Sequence[str] | None = None,
    nvml_timeout: float = NVML_TIMEOUT_S,
    smi_timeout: float = SMI_TIMEOUT_S,
) -> GpuFacts:
    """The GPUs that CUDA programs in this environment will see, and the driver. Never raises.

    NVML answers first (in a worker thread, given `nvml_timeout` seconds); nvidia-smi (given
    `smi_timeout` seconds) answers where NVML cannot. When `driver_dir` (`/proc/driver/nvidia`)
    is absent the kernel driver is not loaded, so neither is tried; `library_dirs` (default
    LD_LIBRARY_PATH and the usual system folders) and PATH then only tell "not installed" from
    "installed but not loaded".

    CUDA_VISIBLE_DEVICES is honoured as CUDA reads it; GPUs it hides go to `excluded`. Indices
    in the facts stay NVML's: with CUDA_VISIBLE_DEVICES=1 CUDA calls that GPU 0, the facts say 1.
    NVIDIA_VISIBLE_DEVICES is read by the container runtime when a container starts, with the
    host's numbering; what it granted is what NVML sees here, so it filters nothing and only
    explains (in `notes` and the reason) what was or was not found.

    The paths are read inside `root`; NVML and nvidia-smi only run when it is `/`, since they
    would answer about this machine and not about the one under the root.
    """
    try:
        return _read_gpus(environ, root, driver_dir, wsl_device, library_dirs, nvml_timeout, smi_timeout)
    except Exception as exc:  # noqa: BLE001 - the probe reports; it never stops tvselect
        return _none(f"the GPU probe failed ({type(exc).__name__}: {exc})", [], environ)


def _read_gpus(
    environ: Mapping[str, str],
    root: ProbeRoot,
    driver_dir: str,
    wsl_device: str,
    library_dirs: Sequence[str] | None,
    nvml_timeout: float,
    smi_timeout: float,
) -> GpuFacts:
    notes: list[str] = []
    smi = _find_smi(environ, root)
    loaded = root.isdir(driver_dir)
    if not (loaded or root.exists(wsl_device)):
        library = _find_library(environ, library_dirs, root)
        if smi is None and library is None:
            notes.append(f"no {root.shown(driver_dir)}, no nvidia-smi on PATH, no {NVML_LIBRARY}")
            return _none("no NVIDIA driver installed", notes, environ)
        present = " and ".join(root.shown(p) for p in (library, smi) if p)
        notes.append(
            f"no {root.shown(driver_dir)} although {present} exists: the kernel driver is not loaded"
        )
        notes.append("NVML and nvidia-smi not tried: without the kernel driver they cannot answer")
        return _none("NVIDIA driver installed but not loaded", notes, environ)
    if not root.is_host:
        if loaded:
            notes.append(f"{root.shown(driver_dir)} exists: the nvidia kernel module is loaded there")
        else:
            notes.append(f"{root.shown(wsl_device)} exists: a WSL2 machine, whose GPUs only NVML can list")
        notes.append(
            f"NVML and nvidia-smi not tried: they answer for this machine, not for the one under {root.path}"
        )
        return _none(
            f"the GPUs under {root.path} can be read only by NVML on that machine itself", notes, environ
        )

    nvml = _run_nvml(nvml_timeout)
    if isinstance(nvml, Found):
        notes.append("NVML: answered")
        return found_to_facts(nvml, "nvml", notes, environ)
    notes.append(f"NVML: {nvml.reason}")
    hint = _NVML_HINTS.get(nvml.code) if nvml.code is not None else None
    if hint is not None:
        notes.append(f"NVML: {hint}")
    if smi is None:
        notes.append("nvidia-smi: not found on PATH")
        return _none(nvml.reason, notes, environ)
    found = _run_nvidia_smi(smi, environ, smi_timeout)
    if isinstance(found, Found):
        notes.append("used nvidia-smi")
        return found_to_facts(found, "nvidia-smi", notes, environ)
    notes.append(f"nvidia-smi: {found.reason}")
    # Where NVML could not even start, nvidia-smi's own message says more about the machine.
    nvml_absent = nvml.code in (_BINDINGS_MISSING, NVML_ERROR_LIBRARY_NOT_FOUND)
    return _none(f"nvidia-smi {found.reason}" if nvml_absent else nvml.reason, notes, environ)


def _find_smi(environ: Mapping[str, str], root: ProbeRoot) -> str | None:
    path = environ.get("PATH", os.defpath)
    if root.is_host:
        return shutil.which("nvidia-smi", path=path)
    for folder in path.split(os.pathsep):
        candidate = os.path.join(folder or ".", "nvidia-smi")
        if folder.startswith("/") and root.exists(candidate):
            return candidate
    return None


def _find_library(
    environ: Mapping[str, str], library_dirs: Sequence[str] | None, root: ProbeRoot
) -> str | None:
    dirs = [d for d in environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    dirs += LIBRARY_DIRS if library_dirs is None else library_dirs
    for folder in dirs:
        path = os.path.join(folder, NVML_LIBRARY)
        if root.exists(path):
            return path
    return None


# ----------------------------------------------------------------------------------------- NVML


def _code(exc: BaseException) -> int | None:
    value = getattr(exc, "value", None)
    return value if isinstance(value, int) else None


def _nvml_reason(exc: BaseException) -> str:
    code = _code(exc)
    if code is not None and code in NVML_REASONS:
        return NVML_REASONS[code]
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - str() of an NVMLError calls into the library
        text = type(exc).__name__
    return f"NVML error {code} ({text})" if code is not None else f"{type(exc).__name__}: {text}"


def _decode(value: Any) -> str:
    # Bindings before 11.515 return bytes.
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _run_nvml(timeout: float) -> Found | _Failure:
    """NVML in a daemon thread, so that a call stuck in the driver cannot stop tvselect."""
    box: list[Found | _Failure] = []

    def work() -> None:
        try:
            box.append(_nvml_query())
        except BaseException as exc:  # noqa: BLE001 - anything at all becomes a reason
            box.append(_Failure(f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=work, name="tvselect-nvml", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        return _Failure(f"NVML did not answer within {timeout:g} s", _NVML_TIMED_OUT)
    return box[0]


def _nvml_query() -> Found | _Failure:
    try:
        import pynvml
    except ImportError:
        return _Failure("Python bindings not installed (package nvidia-ml-py)", _BINDINGS_MISSING)
    except Exception as exc:  # noqa: BLE001 - a broken binding is one more reason
        why = f"the Python bindings failed to load ({type(exc).__name__}: {exc})"
        return _Failure(why, _BINDINGS_MISSING)
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError and its kin
        return _Failure(_nvml_reason(exc), _code(exc))
    try:
        return _nvml_found(pynvml)
    except Exception as exc:  # noqa: BLE001
        return _Failure(_nvml_reason(exc), _code(exc))
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def _nvml_found(nvml: Any) -> Found:
    notes: list[str] = []
    try:
        driver: str | None = _decode(nvml.nvmlSystemGetDriverVersion())
    except Exception as exc:  # noqa: BLE001
        driver = None
        notes.append(f"NVML: driver version unknown ({_nvml_reason(exc)})")
    cuda = _nvml_cuda_version(nvml, notes)
    count = int(nvml.nvmlDeviceGetCount())
    gpus = tuple(_nvml_gpu(nvml, index) for index in range(count))
    return Found(gpus=gpus, driver_version=driver, cuda_driver_version=cuda, notes=tuple(notes))


def _nvml_cuda_version(nvml: Any, notes: list[str]) -> str | None:
    for name in ("nvmlSystemGetCudaDriverVersion_v2", "nvmlSystemGetCudaDriverVersion"):
        call = getattr(nvml, name, None)
        if call is None:
            notes.append(f"NVML: the bindings have no {name}")
            continue
        try:
            version = int(call())
        except Exception as exc:  # noqa: BLE001
            if _code(exc) == NVML_ERROR_FUNCTION_NOT_FOUND:
                notes.append(f"NVML: {name} not in this driver")
                continue
            notes.append(f"NVML: CUDA version unknown ({_nvml_reason(exc)})")
            return None
        # NVML encodes 12.9 as 12090.
        return f"{version // 1000}.{version % 1000 // 10}"
    return None


def _quiet(call: Callable[[], Any]) -> Any:
    """The value of an optional per-GPU call; None when it fails, except for a lost GPU."""
    try:
        return call()
    except Exception as exc:
        if _code(exc) == NVML_ERROR_GPU_IS_LOST:
            raise
        return None


def _nvml_gpu(nvml: Any, index: int) -> FoundGpu:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except Exception as exc:  # noqa: BLE001
        return FoundGpu(index=index, name=None, uuid=None, capability=None, problem=_nvml_reason(exc))
    try:
        name = _quiet(lambda: _decode(nvml.nvmlDeviceGetName(handle)))
        uuid = _quiet(lambda: _decode(nvml.nvmlDeviceGetUUID(handle)))
        memory = _quiet(lambda: int(nvml.nvmlDeviceGetMemoryInfo(handle).total) // (1024 * 1024))
        mode = _quiet(lambda: int(nvml.nvmlDeviceGetMigMode(handle)[0]))
        mig = None if mode is None else mode == 1
        mig_uuids = _nvml_mig_uuids(nvml, handle) if mig else ()
        try:
            major, minor = nvml.nvmlDeviceGetCudaComputeCapability(handle)
        except Exception as exc:
            if _code(exc) == NVML_ERROR_GPU_IS_LOST:
                raise
            return FoundGpu(
                index=index,
                name=name,
                uuid=uuid,
                capability=None,
                memory_mib=memory,
                mig=mig,
                problem=f"its compute capability could not be read ({_nvml_reason(exc)})",
            )
    except Exception as exc:  # noqa: BLE001 - only a lost GPU gets here
        return FoundGpu(index=index, name=None, uuid=None, capability=None, problem=_nvml_reason(exc))
    return FoundGpu(
        index=index,
        name=name,
        uuid=uuid,
        capability=(int(major), int(minor)),
        memory_mib=memory,
        mig=mig,
        mig_uuids=mig_uuids,
    )


def _nvml_mig_uuids(nvml: Any, handle: Any) -> tuple[str, ...]:
    slots = _quiet(lambda: int(nvml.nvmlDeviceGetMaxMigDeviceCount(handle))) or 0
    uuids: list[str] = []
    for slot in range(slots):
        try:
            device = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
            uuids.append(_decode(nvml.nvmlDeviceGetUUID(device)))
        except Exception:  # noqa: BLE001 - empty MIG slots answer NOT_FOUND
            continue
    return tuple(uuids)


# ----------------------------------------------------------------------------------- nvidia-smi


def _one_line(data: bytes) -> str:
    text = " ".join(data.decode("utf-8", "replace").split())
    return text if len(text) <= 300 else text[:297] + "..."


def _run_nvidia_smi(path: str, environ: Mapping[str, str], timeout: float) -> Found | _Failure:
    from tvselect.base.children import NotStarted, TimedOut, run_bounded

    done = run_bounded([path, *SMI_ARGS], environ, timeout)
    if isinstance(done, NotStarted):
        return _Failure(f"could not be started ({done.reason})")
    if isinstance(done, TimedOut):
        return _Failure(f"did not answer within {timeout:g} s")
    out, err = done.stdout, done.stderr
    found = parse_nvidia_smi(out.decode("utf-8", "replace"))
    if done.returncode == 0 and (found.gpus or not found.notes):
        return found
    # nvidia-smi prints most of its errors on standard output.
    message = _one_line(err) or _one_line(out) or "no message"
    if "not a valid field" in message:
        message = f"too old to report compute capabilities (drivers before 510): {message}"
    if found.gpus:
        return Found(
            gpus=found.gpus,
            driver_version=found.driver_version,
            cuda_driver_version=None,
            notes=(*found.notes, f"nvidia-smi exited with status {done.returncode}: {message}"),
        )
    if done.returncode == 0:
        return _Failure(f"printed no GPU row: {message}")
    return _Failure(f"failed (exit status {done.returncode}): {message}")


# ---------------------------------------------------------------------------------- visibility


def _resolve(entry: str, gpus: tuple[FoundGpu, ...]) -> tuple[FoundGpu | None, str]:
    """The GPU an entry of CUDA_VISIBLE_DEVICES names, or None and why not."""
    if entry.isdigit():
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


def found_to_facts(found: Found, source: str, notes: list[str], environ: Mapping[str, str]) -> GpuFacts:
    """The facts of what one source found, once CUDA_VISIBLE_DEVICES has had its say."""
    notes.extend(found.notes)
    visible = parse_visible_devices(environ.get("CUDA_VISIBLE_DEVICES"))
    hidden, stop = _visibility(found.gpus, visible)
    if stop is not None:
        notes.append(
            f"CUDA_VISIBLE_DEVICES={visible.value}: {stop}; CUDA ignores that entry and every one after it"
        )
    gpus: list[Gpu] = []
    excluded: list[ExcludedGpu] = []
    for g in found.gpus:
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
    _note_device_order(found.gpus, visible, environ, notes)
    if gpus:
        _note_container(environ, len(found.gpus), notes)
        return GpuFacts(
            source=source,
            gpus=tuple(gpus),
            excluded=tuple(excluded),
            driver_version=found.driver_version,
            cuda_driver_version=found.cuda_driver_version,
            unavailable_reason=None,
            notes=tuple(notes),
        )
    if not found.gpus:
        reason = "the NVIDIA driver reports no GPU" if source == "nvml" else "nvidia-smi lists no GPU"
    elif visible.entries == () and visible.stopped_at is None:
        reason = "CUDA_VISIBLE_DEVICES is empty, which hides every GPU"
    elif stop is not None and len(hidden) == len(found.gpus):
        reason = f"CUDA_VISIBLE_DEVICES={visible.value} hides every GPU ({stop})"
    else:
        reason = "; ".join(f"GPU {e.index}: {e.reason}" for e in excluded)
    facts = _none(reason, notes, environ)
    return GpuFacts(
        source="none",
        gpus=(),
        excluded=tuple(excluded),
        driver_version=found.driver_version,
        cuda_driver_version=found.cuda_driver_version,
        unavailable_reason=facts.unavailable_reason,
        notes=facts.notes,
    )


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


def _none(reason: str, notes: list[str], environ: Mapping[str, str]) -> GpuFacts:
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
