"""Recipe-reading benchmark: every shared build-* checkout read into a checked catalog, in process.

Each round reads every branch folder of ../shared/build-{pytorch,torchaudio,vllm} (and, with
--torchvision, build-torchvision): the recipe files and their lib/ files, the Nix parse, the
interpretation, the catalog document and its check, as `--catalog CHECKOUT` does. The figure is
the median round's wall time (its CPU time beside it: the 2 cores here are shared, and CPU time is
what other processes do not inflate); the first round (which also loads the Nix grammar) is apart.

    python benchmarks/recipes.py             # 5 rounds
    python benchmarks/recipes.py --quick     # 1 round
    python benchmarks/recipes.py --json

Run it with the interpreter that has tvselect installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FAMILY = ("build-pytorch", "build-torchaudio", "build-vllm")
LIMIT_S = 2.0


def branches(repos: tuple[str, ...]) -> list[Path]:
    return sorted(p for r in repos for p in (SHARED / r).glob("*") if (p / ".flox/pkgs").is_dir())


def read_all(folders: list[Path]) -> int:
    """Read every folder into a checked catalog; the number of variants read."""
    from tvselect.catalog.importer import catalog_document, read_builds
    from tvselect.catalog.model import parse_document
    from tvselect.catalog.sources import read_folder

    total = 0
    for folder in folders:
        builds = read_builds([read_folder(str(folder))]).builds
        total += len(parse_document(catalog_document(builds), str(folder)).variants)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--torchvision", action="store_true", help="read build-torchvision too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folders = branches((*FAMILY, "build-torchvision") if args.torchvision else FAMILY)
    if not folders:
        print(f"no shared build-* checkouts under {SHARED}", file=sys.stderr)
        return 2
    recipes = sum(len(list(f.glob(".flox/pkgs/*.nix"))) for f in folders)
    times, cpu = [], []
    variants = 0
    for _ in range(1 if args.quick else max(args.rounds, 1) + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        variants = read_all(folders)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    first, rest = times[0], times[1:] or times
    median = statistics.median(rest)
    median_cpu = statistics.median(cpu[1:] or cpu)
    figures = {
        "branches": len(folders),
        "recipes": recipes,
        "variants": variants,
        "first_round_s": round(first, 3),
        "median_s": round(median, 3),
        "median_cpu_s": round(median_cpu, 3),
        "rounds": len(rest),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"read {recipes} recipes of {len(folders)} branches into {variants} variants: "
            f"first round {first:.3f} s, median of {len(rest)} {median:.3f} s <= {LIMIT_S:g} s "
            f"(CPU time {median_cpu:.3f} s)"
        )
    return 0 if median <= LIMIT_S or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
