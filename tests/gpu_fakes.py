"""Fakes at the process boundary of the GPU probe: a `pynvml` module and `nvidia-smi` executables."""

from __future__ import annotations

import importlib
import json
import stat
from pathlib import Path
from typing import Any

# The fake NVML bindings. Errors carry the NVML return code in `value`, as the real NVMLError does.
FAKE_PYNVML = '''
"""Fake pynvml (nvidia-ml-py), configured by fake_nvml.json beside this file."""
import json
import os
import time
from types import SimpleNamespace

with open(os.path.join(os.path.dirname(__file__), "fake_nvml.json")) as _handle:
    _CONFIG = json.load(_handle)
if _CONFIG.get("import_error"):
    raise ImportError("fake: no NVML bindings")

calls = []


class NVMLError(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value

    def __str__(self):
        return "fake NVML error %d" % self.value


def _fail(key):
    code = _CONFIG.get("errors", {}).get(key)
    if code is not None:
        raise NVMLError(code)


def _gpu(handle, key):
    gpu = _CONFIG["gpus"][handle]
    code = gpu.get("errors", {}).get(key)
    if code is not None:
        raise NVMLError(code)
    return gpu


def _text(value):
    return value.encode() if _CONFIG.get("bytes") else value


def nvmlInit():
    calls.append("nvmlInit")
    time.sleep(_CONFIG.get("init_sleep", 0))
    _fail("init")


def nvmlShutdown():
    calls.append("nvmlShutdown")


def nvmlSystemGetDriverVersion():
    _fail("driver")
    return _text(_CONFIG.get("driver", "550.54.14"))


def nvmlSystemGetCudaDriverVersion_v2():
    _fail("cuda_v2")
    return _CONFIG.get("cuda", 12040)


def nvmlSystemGetCudaDriverVersion():
    _fail("cuda")
    return _CONFIG.get("cuda", 12040)


if _CONFIG.get("no_cuda_v2_binding"):
    del nvmlSystemGetCudaDriverVersion_v2


def nvmlDeviceGetCount():
    _fail("count")
    return len(_CONFIG["gpus"])


def nvmlDeviceGetHandleByIndex(index):
    _gpu(index, "handle")
    return index


def nvmlDeviceGetName(handle):
    return _text(_gpu(handle, "name")["name"])


def nvmlDeviceGetUUID(handle):
    if isinstance(handle, tuple):
        return _text(_CONFIG["gpus"][handle[0]]["mig_uuids"][handle[1]])
    return _text(_gpu(handle, "uuid")["uuid"])


# MIG as real NVML answers: the maximum count is the GPU's number of MIG slots (7 on A100 and
# H100) whatever exists; a slot without a MIG device answers NVML_ERROR_NOT_FOUND (6). In the
# configuration, "mig_uuids" lists the slots in order, null for an empty one.
MAX_MIG_DEVICES = 7


def nvmlDeviceGetMemoryInfo(handle):
    return SimpleNamespace(total=_gpu(handle, "memory")["memory"], free=0, used=0)


def nvmlDeviceGetMigMode(handle):
    mode = _gpu(handle, "mig").get("mig", 0)
    return [mode, mode]


def nvmlDeviceGetMaxMigDeviceCount(handle):
    _gpu(handle, "mig")
    return MAX_MIG_DEVICES


def nvmlDeviceGetMigDeviceHandleByIndex(handle, slot):
    if slot >= MAX_MIG_DEVICES:
        raise NVMLError(2)  # NVML_ERROR_INVALID_ARGUMENT
    uuids = _CONFIG["gpus"][handle].get("mig_uuids", [])
    if slot >= len(uuids) or uuids[slot] is None:
        raise NVMLError(6)  # NVML_ERROR_NOT_FOUND
    return (handle, slot)


def nvmlDeviceGetCudaComputeCapability(handle):
    return tuple(_gpu(handle, "cc")["cc"])
'''


def install_fake_pynvml(folder: Path, config: dict[str, Any]) -> None:
    """Write the fake module and its configuration into `folder`, which the test put on sys.path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pynvml.py").write_text(FAKE_PYNVML)
    (folder / "fake_nvml.json").write_text(json.dumps(config))
    importlib.invalidate_caches()


def write_nvidia_smi(
    folder: Path, *, stdout: str = "", stderr: str = "", status: int = 0, sleep: float = 0
) -> Path:
    """A fake `nvidia-smi` in `folder` that prints `stdout`/`stderr` and exits with `status`.

    It records its arguments in `nvidia-smi.args`, so a test can tell whether it ran. The sleep
    runs in a child process, as a stuck driver call would, so a timeout must kill the whole group.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nvidia-smi.out").write_text(stdout)
    (folder / "nvidia-smi.err").write_text(stderr)
    script = folder / "nvidia-smi"
    lines = [
        "#!/bin/sh",
        "PATH=/usr/bin:/bin",
        f'echo "$@" > "{folder}/nvidia-smi.args"',
        f"sleep {sleep}" if sleep else "",
        f'cat "{folder}/nvidia-smi.out"',
        f'cat "{folder}/nvidia-smi.err" >&2',
        f"exit {status}",
    ]
    script.write_text("\n".join(lines) + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def smi_row(
    index: int,
    name: str,
    uuid: str,
    cap: str,
    driver: str = "550.54.14",
    memory: str = "81559",
    mig: str = "Disabled",
) -> str:
    """One line of `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`."""
    return f"{index}, {name}, {uuid}, {cap}, {driver}, {memory}, {mig}\n"
