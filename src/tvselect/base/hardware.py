"""Facts about hardware, from the shipped table data/hardware.json: which compute capabilities
exist, which belong to Tegra GPUs, and the names of ARM cores. Read only when asked.
"""

from __future__ import annotations

from typing import Any

from tvselect.base.capability import Capability, parse_capability
from tvselect.base.shipped import shipped_table
from tvselect.errors import DataError

TABLE = "hardware"


def _capabilities(texts: Any, where: str) -> frozenset[Capability]:
    caps = frozenset(parse_capability(t) if isinstance(t, str) else None for t in texts)
    if None in caps:
        raise DataError(f"tvselect/data/{TABLE}.json: {where} lists something not a compute capability")
    return frozenset(c for c in caps if c is not None)


def known_capabilities() -> frozenset[Capability]:
    """Every compute capability NVIDIA has shipped."""
    return _capabilities(shipped_table(TABLE)["compute_capabilities"]["known"], "compute_capabilities")


def tegra_table() -> dict[str, Any]:
    """The Tegra section: `socs` (each SoC's GPU) and `l4t_cuda` (each L4T release's CUDA driver)."""
    section: dict[str, Any] = shipped_table(TABLE)["tegra"]
    return section


def tegra_capabilities() -> frozenset[Capability]:
    """The compute capabilities of Tegra GPUs, which run only cubins of their exact capability:
    each SoC's, and the one it reported before CUDA 13 where that differs."""
    keys = ("compute_capability", "compute_capability_before_cuda_13")
    socs = tegra_table()["socs"].values()
    return _capabilities((soc[key] for soc in socs for key in keys if key in soc), "tegra.socs")


def arm_core_name(implementer: str, part: str) -> str | None:
    """The core's name (`ARM Neoverse V2`) by /proc/cpuinfo's `CPU implementer` and `CPU part`; None if unknown."""
    implementers = shipped_table(TABLE)["arm_parts"]["implementers"]
    name = implementers.get(implementer.lower(), {}).get(part.lower())
    return name if isinstance(name, str) else None
