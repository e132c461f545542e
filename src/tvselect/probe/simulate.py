"""Facts of another machine, given on the command line (`--gpu`, `--driver`) or as a facts document."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from tvselect.base.capability import format_capability, parse_capability, parse_version
from tvselect.errors import BadInputError
from tvselect.facts.model import Facts, Gpu, GpuFacts

if TYPE_CHECKING:
    from tvselect.catalog.model import Catalog

MAX_FACTS_BYTES = 16 * 1024 * 1024
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
            unavailable_reason="the simulated machine has no GPU (--gpu none)",
            notes=("simulated: --gpu none",),
        )
    gpus = []
    for index, value in enumerate(values):
        if not value.strip():
            raise BadInputError(f"--gpu '{value}': empty; {_FORMS}, or none")
        cap = parse_capability(value)
        if cap is None:
            hint = "; give --gpu once per GPU" if "," in value else ""
            raise BadInputError(f"--gpu '{value}': not a compute capability; {_FORMS}, or none{hint}")
        if cap not in catalog.known_capabilities:
            known = ", ".join(format_capability(c) for c in sorted(catalog.known_capabilities))
            raise BadInputError(
                f"--gpu '{value}': no GPU has compute capability {format_capability(cap)} (known: {known})"
            )
        gpus.append(
            Gpu(
                index=index,
                name=f"simulated GPU (compute capability {format_capability(cap)})",
                uuid=None,
                capability=cap,
                memory_mib=None,
                mig=None,
            )
        )
    return GpuFacts(
        source="simulated",
        gpus=tuple(gpus),
        excluded=(),
        driver_version=driver_version,
        cuda_driver_version=None,
        unavailable_reason=None,
        notes=("simulated: " + " ".join(f"--gpu {v}" for v in values),),
    )


def load_facts(path: str, stdin: TextIO) -> Facts:
    """The facts document at `path` (`-`: standard input), as `tvselect probe --json` prints it.

    BadInputError with a one-line message for anything that is not such a document.
    """
    source = "standard input" if path == "-" else path
    data = _read(path, stdin, source)
    from tvselect.base.textfile import decode_text, load_json

    label = f"facts document {source}"
    doc = load_json(decode_text(data, label, "JSON"), label)
    from tvselect.facts.model import from_document

    try:
        return from_document(doc, source)
    except (TypeError, ValueError, AttributeError, OverflowError, RecursionError) as exc:
        # from_document names the field for the mistakes it knows; this catches the rest.
        raise BadInputError(f"facts document {source}: malformed ({exc})") from None


def _read(path: str, stdin: TextIO, source: str) -> bytes:
    from tvselect.base.textfile import read_user_file

    return read_user_file(path, f"facts document {source}", MAX_FACTS_BYTES, stdin)
