"""The nvidia-smi probe, which answers where NVML cannot: `parse_nvidia_smi` is a pure function of
its text, `run_nvidia_smi` runs it under a time limit and an output cap and never raises.
"""

from __future__ import annotations

from collections.abc import Mapping

from tvselect.base.capability import parse_capability
from tvselect.probe.visibility import Failure, Found, FoundGpu

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
        fields = _row_fields(line)
        if fields is None:
            notes.append(f"nvidia-smi: line {number} is not a GPU row: {line.strip()[:100]!r}")
            continue
        gpus.append(_found_gpu(fields))
        if not _is_missing(fields[4]):
            drivers.append(fields[4])
    return Found(
        gpus=tuple(sorted(gpus, key=lambda g: g.index)),
        driver_version=drivers[0] if drivers else None,
        cuda_driver_version=None,
        notes=tuple(notes),
    )


def _row_fields(line: str) -> list[str] | None:
    """A GPU row's fields, a product name with commas put back together; None when it is not one."""
    fields = [f.strip() for f in line.split(",")]
    width = len(SMI_FIELDS) if len(fields) >= len(SMI_FIELDS) else 5
    if len(fields) > width:
        # A comma inside the product name: everything between index and uuid is the name.
        extra = len(fields) - width
        fields = [fields[0], ", ".join(fields[1 : 2 + extra]), *fields[2 + extra :]]
    if len(fields) != width or _small_int(fields[0]) is None:
        return None
    return fields


def _found_gpu(fields: list[str]) -> FoundGpu:
    """One GPU from its row's fields (five, or all of SMI_FIELDS); `[N/A]` and the like are unknown."""
    index, name, uuid, cap_text = fields[:4]
    memory, mig = (fields[5], fields[6]) if len(fields) > 5 else ("", "")
    cap = None if _is_missing(cap_text) else parse_capability(cap_text)
    return FoundGpu(
        index=int(index),  # checked by _small_int in _row_fields
        name=None if _is_missing(name) else name,
        uuid=None if _is_missing(uuid) else uuid,
        capability=cap,
        memory_mib=_small_int(memory),
        mig={"enabled": True, "disabled": False}.get(mig.lower()),
        problem=None if cap else f"nvidia-smi reports its compute capability as '{cap_text}'",
    )


def _one_line(data: bytes) -> str:
    text = " ".join(data.decode("utf-8", "replace").split())
    return text if len(text) <= 300 else text[:297] + "..."


SMI_MAX_OUTPUT_BYTES = 1024 * 1024
"""The most of nvidia-smi's output read: its GPU list is a line per GPU."""


def run_nvidia_smi(path: str, environ: Mapping[str, str], timeout: float) -> Found | Failure:
    """What nvidia-smi at `path` says about the GPUs, given `timeout` seconds; why not, when it says nothing."""
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
