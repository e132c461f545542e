"""The GPU probe: NVML first, nvidia-smi where NVML cannot answer, then the GPU visibility rules of CUDA.

`read_gpus` never raises and never hangs: every source that cannot be read becomes a reason in
words, and both NVML (tvselect.probe.nvml) and nvidia-smi run under a time limit; the
visibility rules are in tvselect.probe.visibility. `parse_nvidia_smi` is a pure function of
its text.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence

from tvselect.base.capability import parse_capability
from tvselect.facts.model import GpuFacts
from tvselect.probe.nvml import (
    BINDINGS_MISSING,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_HINTS,
    NVML_LIBRARY,
    run_nvml,
)
from tvselect.probe.root import HOST_ROOT, ProbeRoot
from tvselect.probe.visibility import Failure, Found, FoundGpu, found_to_facts, no_gpu

# Where these lived before the visibility rules and NVML had modules of their own.
from tvselect.probe.visibility import VisibleDevices as VisibleDevices
from tvselect.probe.visibility import parse_visible_devices as parse_visible_devices

DRIVER_DIR = "/proc/driver/nvidia"
# WSL2 has no /proc/driver/nvidia; its GPUs are reached through this device instead.
WSL_DEVICE = "/dev/dxg"
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


def _is_missing(field: str) -> bool:
    return not field or field.startswith("[") or field.upper() in ("N/A", "ERR!")


def _small_int(text: str) -> int | None:
    """`text` as an int when it is 1 to 12 ASCII digits (a GPU index or MiB count); else None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


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
        if len(fields) != width or _small_int(fields[0]) is None:
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
                index=int(index),  # checked by _small_int above
                name=None if _is_missing(name) else name,
                uuid=None if _is_missing(uuid) else uuid,
                capability=cap,
                memory_mib=_small_int(memory),
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
        return no_gpu(f"the GPU probe failed ({type(exc).__name__}: {exc})", [], environ)


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
            return no_gpu("no NVIDIA driver installed", notes, environ)
        present = " and ".join(root.shown(p) for p in (library, smi) if p)
        notes.append(
            f"no {root.shown(driver_dir)} although {present} exists: the kernel driver is not loaded"
        )
        notes.append("NVML and nvidia-smi not tried: without the kernel driver they cannot answer")
        return no_gpu("NVIDIA driver installed but not loaded", notes, environ)
    if not root.is_host:
        if loaded:
            notes.append(f"{root.shown(driver_dir)} exists: the nvidia kernel module is loaded there")
        else:
            notes.append(f"{root.shown(wsl_device)} exists: a WSL2 machine, whose GPUs only NVML can list")
        notes.append(
            f"NVML and nvidia-smi not tried: they answer for this machine, not for the one under {root.path}"
        )
        return no_gpu(
            f"the GPUs under {root.path} can be read only by NVML on that machine itself", notes, environ
        )

    nvml = run_nvml(nvml_timeout)
    if isinstance(nvml, Found):
        notes.append("NVML: answered")
        return found_to_facts(nvml, "nvml", notes, environ)
    notes.append(f"NVML: {nvml.reason}")
    hint = NVML_HINTS.get(nvml.code) if nvml.code is not None else None
    if hint is not None:
        notes.append(f"NVML: {hint}")
    if smi is None:
        notes.append("nvidia-smi: not found on PATH")
        return no_gpu(nvml.reason, notes, environ)
    found = _run_nvidia_smi(smi, environ, smi_timeout)
    if isinstance(found, Found):
        notes.append("used nvidia-smi")
        return found_to_facts(found, "nvidia-smi", notes, environ)
    notes.append(f"nvidia-smi: {found.reason}")
    # Where NVML could not even start, nvidia-smi's own message says more about the machine.
    nvml_absent = nvml.code in (BINDINGS_MISSING, NVML_ERROR_LIBRARY_NOT_FOUND)
    return no_gpu(f"nvidia-smi {found.reason}" if nvml_absent else nvml.reason, notes, environ)


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


# ----------------------------------------------------------------------------------- nvidia-smi


def _one_line(data: bytes) -> str:
    text = " ".join(data.decode("utf-8", "replace").split())
    return text if len(text) <= 300 else text[:297] + "..."


SMI_MAX_OUTPUT_BYTES = 1024 * 1024
"""The most of nvidia-smi's output read: its GPU list is a line per GPU."""


def _run_nvidia_smi(path: str, environ: Mapping[str, str], timeout: float) -> Found | Failure:
    from tvselect.base.children import Flooded, NotStarted, TimedOut, run_bounded

    done = run_bounded([path, *SMI_ARGS], environ, timeout, limit=SMI_MAX_OUTPUT_BYTES)
    if isinstance(done, NotStarted):
        return Failure(f"could not be started ({done.reason})")
    if isinstance(done, TimedOut):
        return Failure(f"did not answer within {timeout:g} s")
    if isinstance(done, Flooded):
        return Failure(
            f"printed more than {done.limit // 1024} KiB, far more than any GPU list; it was killed"
        )
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
        return Failure(f"printed no GPU row: {message}")
    return Failure(f"failed (exit status {done.returncode}): {message}")
