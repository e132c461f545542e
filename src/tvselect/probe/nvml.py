"""NVML through its Python bindings (nvidia-ml-py), in a worker thread under a time limit.

`run_nvml` never raises: a missing binding, a driver error or a stuck call each become a
`Failure` with the reason in words and NVML's return code.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from tvselect.base.capability import Capability
from tvselect.probe.visibility import Failure, Found, FoundGpu

NVML_LIBRARY = "libnvidia-ml.so.1"

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
NVML_HINTS: Mapping[int, str] = {
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: (
        "the loaded nvidia kernel module is not the version libnvidia-ml belongs to; "
        "reboot, or reload the module, after a driver update"
    ),
    NVML_ERROR_NO_PERMISSION: "the user cannot open /dev/nvidiactl or /dev/nvidia*",
}
BINDINGS_MISSING = -1
NVML_TIMED_OUT = -2


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


def run_nvml(timeout: float) -> Found | Failure:
    """NVML in a daemon thread, so that a call stuck in the driver cannot stop tvselect."""
    box: list[Found | Failure] = []

    def work() -> None:
        try:
            box.append(_nvml_query())
        except BaseException as exc:  # noqa: BLE001 - anything at all becomes a reason
            box.append(Failure(f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=work, name="tvselect-nvml", daemon=True)
    thread.start()
    thread.join(timeout)
    if not box:
        return Failure(f"NVML did not answer within {timeout:g} s", NVML_TIMED_OUT)
    return box[0]


def _nvml_query() -> Found | Failure:
    try:
        import pynvml
    except ImportError:
        return Failure("Python bindings not installed (package nvidia-ml-py)", BINDINGS_MISSING)
    except Exception as exc:  # noqa: BLE001 - a broken binding is one more reason
        why = f"the Python bindings failed to load ({type(exc).__name__}: {exc})"
        return Failure(why, BINDINGS_MISSING)
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # noqa: BLE001 - NVMLError and its kin
        return Failure(_nvml_reason(exc), _code(exc))
    try:
        return _nvml_found(pynvml)
    except Exception as exc:  # noqa: BLE001
        return Failure(_nvml_reason(exc), _code(exc))
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
        capability=Capability(int(major), int(minor)),
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
