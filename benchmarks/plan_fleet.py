"""Time `tvselect plan --json`, then `tvselect plan --missing --available FILE`, on a JSON Lines fleet of N hosts.

    .venv/bin/python benchmarks/plan_fleet.py [N]        (default 100,000 hosts)

Hosts cycle through five kinds of machine made from the cpuinfo files in ../shared/cpuinfo
(TVSELECT_TEST_CPUINFO names another folder), each with its own host name and GPU UUIDs (as
a real probe reports them). The published set has 20 packages: the best for the first kind,
the second best for the second kind (served, not at its best), and 18 that no kind runs; the
script checks that `--missing` lists exactly the other kinds' best packages. Prints wall and
CPU time of each command (on a shared machine the wall time also counts waiting for the CPUs).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tvselect.base.capability import Capability
from tvselect.facts.document import to_document
from tvselect.facts.model import Facts, Gpu, GpuFacts
from tvselect.probe.cpu import read_cpuinfo_file

CPUINFO = Path(
    os.environ.get("TVSELECT_TEST_CPUINFO")
    or Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"
)
KINDS = (
    ("linux-rhel7-haswell.txt", ((9, 0),) * 8),
    ("linux-rhel7-skylake_avx512.txt", ((8, 0),) * 4),
    ("linux-rhel9-neoverse_v2.txt", ((9, 0),)),
    ("linux-rhel8-power9.txt", ()),
    ("linux-rocky8.5-zen4.txt", ((7, 0),) * 2),
)


# For generated_kinds (benchmarks/cover_fleet.py): GPUs and drivers that kinds are drawn from.
CAPABILITIES = ((6, 1), (7, 5), (8, 0), (8, 6), (8, 9), (9, 0), (10, 0), (10, 3), (12, 0))
DRIVERS = (("580.65.06", "13.0"), ("575.57.08", "12.9"), ("570.86.15", "12.8"), ("550.54.14", "12.4"))


def generated_kinds(count: int) -> list[tuple[str, tuple[tuple[int, int], ...], tuple[str, str]]]:
    """`count` distinct kinds (cpuinfo file, GPU capabilities, driver), drawn with a fixed seed.

    The CPUs are every cpuinfo file; the GPU sets one, two, four or eight GPUs of one capability,
    two of different capabilities of one major, or none; the drivers those of DRIVERS.
    """
    import itertools
    import random

    cpus = sorted(p.name for p in CPUINFO.glob("linux-*.txt"))
    sets: list[tuple[tuple[int, int], ...]] = [()]
    for cap in CAPABILITIES:
        sets += [(cap,) * n for n in (1, 2, 4, 8)]
    sets += [(a, b) for a, b in itertools.combinations(CAPABILITIES, 2) if a[0] == b[0]]
    every = [
        (cpu, caps, driver)
        for cpu in cpus
        for caps in sets
        for driver in DRIVERS
        if caps or driver == DRIVERS[0]
    ]
    random.Random(14).shuffle(every)
    if count > len(every):
        raise SystemExit(f"at most {len(every)} kinds can be generated")
    return every[:count]


def _document(
    cpuinfo: str, caps: tuple[tuple[int, int], ...], n: int, driver: tuple[str, str] = DRIVERS[0]
) -> dict[str, object]:
    gpus = tuple(
        Gpu(i, "NVIDIA GPU", f"GPU-{n:08x}-{i:04x}", Capability(*cap), 81559, False)
        for i, cap in enumerate(caps)
    )
    gpu = GpuFacts(
        "nvml" if gpus else "none",
        gpus,
        (),
        driver[0] if gpus else None,
        driver[1] if gpus else None,
        None if gpus else "no NVIDIA driver",
    )
    return to_document(Facts(read_cpuinfo_file(str(CPUINFO / cpuinfo)), gpu, f"node-{n:06d}"))


def distinct_drivers(n: int) -> tuple[str, str]:
    """Host n's own NVIDIA driver version (distinct for n < 1,500,000) and the CUDA it supports.

    The majors run from 450 to 599, across the catalog's driver minimums (data/cuda.json).
    """
    major = 450 + n % 150
    cuda = "13.0" if major >= 580 else "12.9" if major >= 575 else "12.4" if major >= 550 else "12.0"
    return f"{major}.{n // 150 % 100:02d}.{n // 15_000:02d}", cuda


def write_fleet(
    path: Path,
    templates: list[dict[str, object]],
    count: int,
    drivers: Callable[[int], tuple[str, str]] | None = None,
) -> None:
    """`count` hosts cycling through `templates`, each with its own host name and GPU UUIDs, as JSON Lines.

    With `drivers`, host n with a GPU has the driver version and CUDA `drivers(n)` gives.
    """
    with path.open("w") as out:
        for n in range(count):
            document: Any = json.loads(json.dumps(templates[n % len(templates)]))
            document["host"] = f"node-{n:06d}"
            for i, device in enumerate(document["gpu"]["devices"]):
                device["uuid"] = f"GPU-{n:08x}-{i:04x}"
            if drivers is not None and document["gpu"]["devices"]:
                document["gpu"]["driver_version"], document["gpu"]["cuda_driver_version"] = drivers(n)
            out.write(json.dumps(document) + "\n")


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    templates = [_document(cpuinfo, caps, 0) for cpuinfo, caps in KINDS]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.jsonl"
        write_fleet(path, templates, count)
        size_mb = path.stat().st_size / 1e6
        tvselect = str(Path(sys.executable).with_name("tvselect"))
        done, elapsed, cpu = _timed([tvselect, "plan", "--json", str(path)])
        totals = json.loads(done.stdout)["totals"]
        print(
            f"tvselect plan --json: {count} hosts ({size_mb:.0f} MB of JSON Lines) in {elapsed:.2f} s "
            f"({cpu:.2f} s CPU)"
        )
        print(f"exit status {done.returncode}; totals {totals}")
        available, expected = _published_set(templates)
        listing = Path(folder) / "published.txt"
        listing.write_text("".join(f"acme/{name}\n" for name in sorted(available)))
        done, elapsed, cpu = _timed([tvselect, "plan", "--missing", "--available", str(listing), str(path)])
    listed = done.stdout.split()
    print(
        f"tvselect plan --missing --available ({len(available)} packages): {count} hosts in {elapsed:.2f} s "
        f"({cpu:.2f} s CPU), exit status {done.returncode}"
    )
    print(f"missing: {listed}; exactly the packages to build: {sorted(listed) == sorted(expected)}")
    return 0 if sorted(listed) == sorted(expected) else 1


def _timed(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run `argv`: what it did, its wall time and its CPU time (user and system), in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, elapsed, cpu


def _published_set(templates: list[dict[str, object]]) -> tuple[set[str], list[str]]:
    """20 published packages, and the package names `--missing` must list for the fleet."""
    from tvselect.catalog.model import load_catalog
    from tvselect.engine.decision import Options, runnable_ranked
    from tvselect.facts.document import from_document

    catalog = load_catalog(None)
    ranked = [runnable_ranked(from_document(t, "bench"), catalog, Options()) for t in templates]
    ranked = [r for r in ranked if r]
    published = {ranked[0][0].package, ranked[1][1].package}
    runnable = {v.package for r in ranked for v in r}
    for variant in catalog.variants:
        if len(published) == 20:
            break
        if variant.package not in runnable:
            published.add(variant.package)
    expected = [r[0].package for r in ranked[1:] if r[0].package not in published]
    return published, list(dict.fromkeys(expected))


if __name__ == "__main__":
    raise SystemExit(main())
