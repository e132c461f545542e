"""The fact tables under data/ that the catalog applies: CUDA driver minimums and targets,
compiler flags, nixpkgs pins. Each is read once per process, and only when needed.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tvselect.base.capability import parse_version
from tvselect.errors import CatalogError


@cache
def table(name: str) -> Any:
    """The decoded JSON of `data/NAME.json` shipped with tvselect."""
    import json

    from tvselect.base.textfile import shipped_text

    label = f"tvselect/data/{name}.json"
    try:
        text = shipped_text(f"{name}.json")
        return json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CatalogError(f"{label}: cannot be read ({exc})") from None


def driver_minimum(cuda: str) -> tuple[tuple[int, ...], str, str]:
    """(minimum driver, as written, why) for builds of CUDA version `cuda`, by its major version."""
    major = cuda.split(".")[0]
    entry = table("cuda")["majors"].get(major)
    if entry is None:
        raise CatalogError(f"no NVIDIA driver minimum is known for CUDA {cuda} (tvselect/data/cuda.json)")
    text = entry["min_driver"]
    version = parse_version(text)
    if version is None:
        raise CatalogError(f"tvselect/data/cuda.json: min_driver {text!r} is not a version")
    return version, text, entry["min_driver_note"]
