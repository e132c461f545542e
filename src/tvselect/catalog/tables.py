"""The CUDA driver minimums of data/cuda.json, as the catalog applies them (read through
`base.shipped`, like every shipped table)."""

from __future__ import annotations

from tvselect.base.capability import parse_version
from tvselect.base.shipped import shipped_table
from tvselect.errors import CatalogError


def driver_minimum(cuda: str) -> tuple[tuple[int, ...], str, str]:
    """(minimum driver, as written, why) for builds of CUDA version `cuda`, by its major version."""
    major = cuda.split(".")[0]
    entry = shipped_table("cuda")["majors"].get(major)
    if entry is None:
        raise CatalogError(f"no NVIDIA driver minimum is known for CUDA {cuda} (tvselect/data/cuda.json)")
    text = entry["min_driver"]
    version = parse_version(text)
    if version is None:
        raise CatalogError(f"tvselect/data/cuda.json: min_driver {text!r} is not a version")
    return version, text, entry["min_driver_note"]
