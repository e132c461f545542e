"""Gathering the facts of this machine, or of another one given on the command line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

from tvselect.catalog import Catalog
from tvselect.facts import Facts, GpuFacts


def gather_facts(
    catalog: Catalog,
    *,
    cpuinfo: str | None,
    gpus: Sequence[str],
    driver: str | None,
    facts_path: str | None,
    environ: Mapping[str, str],
    stdin: TextIO,
) -> Facts:
    """Placeholder until the GPU probe lands: CPU from /proc/cpuinfo or a file, GPUs from --gpu."""
    from tvselect.capability import parse_capability
    from tvselect.facts import Gpu
    from tvselect.probe.cpu import read_cpuinfo, read_cpuinfo_file

    cpu = read_cpuinfo_file(cpuinfo) if cpuinfo else read_cpuinfo()
    devices = tuple(
        Gpu(i, "simulated", None, cap, None, None)
        for i, cap in enumerate(parse_capability(v) for v in gpus if v != "none")
        if cap is not None
    )
    return Facts(cpu, GpuFacts("simulated" if gpus else "none", devices, (), driver, None, None if devices else "none"))
