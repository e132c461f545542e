"""Engine benchmark: decisions per second in one process, over varied facts and all workloads.

    python benchmarks/engine.py             # 10,000 decisions, best of 5 runs
    python benchmarks/engine.py --quick     # 1,000 decisions, one run: keeps the script working in CI

The facts are drawn with a fixed seed: real feature sets (x86, ARM, and POWER with no build),
0 to 8 GPUs of one capability (every capability the catalog builds for, plus 7.0, 8.7 and 3.7
that no variant serves), one machine in ten with a second, different GPU, and several driver
versions; so choices, near misses and no-matches all occur.
"""

from __future__ import annotations

import argparse
import random
import time

from tvselect.base.capability import Capability
from tvselect.catalog.model import load_catalog
from tvselect.engine.decision import NO_MATCH, Options, select
from tvselect.facts.model import CpuFacts, Facts, Gpu, GpuFacts

AVX = {"avx", "sse4_2", "lm"}
AVX2 = AVX | {"avx2", "fma", "f16c"}
AVX512 = AVX2 | {"avx512f", "avx512dq", "avx512vl", "avx512bw"}
CPUS = [
    ("x86_64", AVX),
    ("x86_64", AVX2),
    ("x86_64", AVX512),
    ("x86_64", AVX512 | {"avx512_vnni"}),
    ("x86_64", AVX512 | {"avx512_vnni", "avx512_bf16"}),
    ("aarch64", {"fp", "asimd", "atomics", "asimdrdm", "fphp", "asimdhp", "asimddp"}),
    ("aarch64", {"fp", "asimd", "atomics", "asimdrdm", "fphp", "asimdhp", "asimddp", "sve", "sve2"}),
    ("ppc64le", set()),
]
DRIVERS = [None, "535.104.05", "550.54.14", "570.86.10", "580.65.06"]


def facts_set(
    count: int, caps: list[Capability], workloads: list[str], seed: int = 7
) -> list[tuple[Facts, Options]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        arch, features = rng.choice(CPUS)
        count = rng.choice([0, 0, 1, 1, 2, 4, 8])
        kinds = [rng.choice(caps)] + ([rng.choice(caps)] if count > 1 and rng.random() < 0.1 else [])
        devices = tuple(Gpu(i, "g", None, kinds[i % len(kinds)], None, None) for i in range(count))
        gpu = GpuFacts("simulated", devices, (), rng.choice(DRIVERS), None, None if devices else "none")
        options = Options(workload=rng.choice(workloads), cpu_only=rng.random() < 0.1)
        out.append((Facts(CpuFacts(arch, None, None, frozenset(features), "bench"), gpu), options))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decisions", type=int, default=10_000)
    args = parser.parse_args()
    count, runs = (1_000, 1) if args.quick else (args.decisions, 5)
    catalog = load_catalog()
    caps = sorted(
        {a.capability for a in catalog.gpu_archs.values()}
        | {Capability(7, 0), Capability(8, 7), Capability(3, 7)}
    )
    work = facts_set(count, caps, list(catalog.workloads))
    best = float("inf")
    misses = 0
    for _ in range(runs):
        start = time.perf_counter()
        misses = sum(select(facts, catalog, options).status == NO_MATCH for facts, options in work)
        best = min(best, time.perf_counter() - start)
    print(
        f"{count} decisions in {best:.3f} s (best of {runs}): {best / count * 1e6:.1f} us each, {misses} no-match"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
