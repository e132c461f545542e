"""Facts of another machine, given on the command line (`--gpu`, `--driver`); facts documents are
read by `tvselect.facts.document`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tvselect.base.capability import parse_capability, parse_version, unknown_capability
from tvselect.errors import BadInputError
from tvselect.facts.model import Gpu, GpuFacts

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog

MAX_GPUS = 64
"""The most `--gpu` values taken: more is a mistake, and each costs memory in `--explain`."""
_FORMS = "write it like 8.6, sm_86, sm86 or 86"


def check_driver(driver: str) -> str:
    """The `--driver` value stripped; BadInputError unless it is dotted integers like 550.54.14."""
    if parse_version(driver) is None:
        raise BadInputError(f"--driver '{driver}': not an NVIDIA driver version like 550.54.14")
    return driver.strip()


def simulated_gpus(values: Sequence[str], driver: str | None, catalog: Catalog) -> GpuFacts:
    """GPUs of the compute capabilities in `values` (`none`, alone, for no GPU); BadInputError if malformed.

    A capability must be one NVIDIA has shipped (`catalog.known_capabilities`). Without `driver`
    the driver version is unknown, and the engine says the driver minimum was not checked.
    """
    if len(values) > MAX_GPUS:
        raise BadInputError(
            f"--gpu given {len(values)} times; a machine has at most {MAX_GPUS} GPUs "
            "(the largest servers have 16, and NVML numbers them in the dozens at most)"
        )
    driver_version = check_driver(driver) if driver is not None else None
    lowered = [v.strip().lower() for v in values]
    if "none" in lowered:
        if len(values) > 1:
            raise BadInputError("--gpu none means no GPU and cannot be combined with other --gpu values")
        return GpuFacts(
            source="simulated",
            gpus=(),
            excluded=(),
            driver_version=driver_version,
            cuda_driver_version=None,
            unavailable_reason="simulated with --gpu none",
            notes=("simulated: --gpu none",),
        )
    gpus = [_simulated_gpu(index, value, catalog) for index, value in enumerate(values)]
    return GpuFacts(
        source="simulated",
        gpus=tuple(gpus),
        excluded=(),
        driver_version=driver_version,
        cuda_driver_version=None,
        unavailable_reason=None,
        notes=("simulated: " + " ".join(f"--gpu {v}" for v in values),),
    )


def _simulated_gpu(index: int, value: str, catalog: Catalog) -> Gpu:
    """One `--gpu` value as a GPU; BadInputError unless it is a compute capability NVIDIA shipped."""
    if not value.strip():
        raise BadInputError(f"--gpu '{value}': empty; {_FORMS}, or none")
    cap = parse_capability(value)
    if cap is None:
        hint = "; give --gpu once per GPU" if "," in value else ""
        raise BadInputError(f"--gpu '{value}': not a compute capability; {_FORMS}, or none{hint}")
    problem = unknown_capability(cap, catalog.known_capabilities)
    if problem is not None:
        raise BadInputError(f"--gpu '{value}': {problem}")
    name = "simulated GPU"
    return Gpu(index=index, name=name, uuid=None, capability=cap, memory_mib=None, mig=None)
