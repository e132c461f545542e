"""The GPU probe: NVML first, nvidia-smi where NVML cannot answer, then the GPU visibility rules of CUDA.

`read_gpus` never raises and never hangs: every source that cannot be read becomes a reason in
words, and both NVML (tvselect.probe.nvml) and nvidia-smi (tvselect.probe.smi, imported only
when NVML cannot answer) run under a time limit; the visibility rules are in
tvselect.probe.visibility. This module decides which of them may answer: none without a loaded
driver, none under a probe root other than `/`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence

from tvselect.facts.model import GpuFacts
from tvselect.probe.nvml import (
    BINDINGS_MISSING,
    NVML_ERROR_LIBRARY_NOT_FOUND,
    NVML_HINTS,
    NVML_LIBRARY,
    run_nvml,
)
from tvselect.probe.root import HOST_ROOT, ProbeRoot
from tvselect.probe.visibility import Found, found_to_facts, no_gpu

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
        shown = root.shown(driver_dir) if loaded else root.shown(wsl_device)
        return _under_root(root, shown, loaded, environ)
    return _ask_driver(environ, smi, nvml_timeout, smi_timeout)


def _under_root(root: ProbeRoot, shown: str, loaded: bool, environ: Mapping[str, str]) -> GpuFacts:
    """A driver found under a probe root: NVML and nvidia-smi would answer for this machine instead."""
    if loaded:
        notes = [f"{shown} exists: the nvidia kernel module is loaded there"]
    else:
        notes = [f"{shown} exists: a WSL2 machine, whose GPUs only NVML can list"]
    notes.append(
        f"NVML and nvidia-smi not tried: they answer for this machine, not for the one under {root.path}"
    )
    return no_gpu(
        f"the GPUs under {root.path} can be read only by NVML on that machine itself", notes, environ
    )


def _ask_driver(
    environ: Mapping[str, str], smi: str | None, nvml_timeout: float, smi_timeout: float
) -> GpuFacts:
    """The GPUs as NVML lists them, else as nvidia-smi does; else why neither could."""
    notes: list[str] = []
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
    from tvselect.probe.smi import run_nvidia_smi

    found = run_nvidia_smi(smi, environ, smi_timeout)
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
