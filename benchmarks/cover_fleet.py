"""Time `tvselect plan --json --cover` on a JSON Lines fleet of N hosts of K kinds (default 100,000 and 500).

    .venv/bin/python benchmarks/cover_fleet.py [N] [--kinds K] [--max-builds M] [--distinct-drivers]

The kinds come from benchmarks/plan_fleet.py's generator (`generated_kinds`): K distinct
combinations of the cpuinfo files in ../shared/cpuinfo, GPU sets and driver versions, drawn
with a fixed seed; hosts cycle through them, each with its own name and GPU UUIDs. Prints wall
and CPU time (on a shared machine the wall time also counts waiting for the CPUs), and whether
the solver proved the cover optimal. With --distinct-drivers every host gets a driver version
of its own (from 450 to 599: across the catalog's driver minimums), so the N hosts are N
distinct kinds of machine; the peak memory (ru_maxrss of the child) is printed too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan_fleet import _document, distinct_drivers, generated_kinds, write_fleet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=100_000, help="hosts (default 100,000)")
    parser.add_argument("--kinds", type=int, default=500, help="kinds of machine (default 500)")
    parser.add_argument("--max-builds", type=int, help="time --max-builds M instead of --cover")
    parser.add_argument("--distinct-drivers", action="store_true", help="a driver version per host")
    args = parser.parse_args()
    templates = [_document(cpu, caps, 0, driver) for cpu, caps, driver in generated_kinds(args.kinds)]
    drivers = distinct_drivers if args.distinct_drivers else None
    mode = ["--cover"] if args.max_builds is None else ["--max-builds", str(args.max_builds)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.jsonl"
        write_fleet(path, templates, args.count, drivers)
        size_mb = path.stat().st_size / 1e6
        tvselect = str(Path(sys.executable).with_name("tvselect"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run([tvselect, "plan", "--json", *mode, str(path)], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = after.ru_maxrss / 1024  # KiB on Linux: the largest child so far, this one alone here
    document = json.loads(done.stdout)
    cover = document["cover"]
    proved = "proved optimal" if cover["proved_optimal"] else "NOT proved optimal"
    print(
        f"tvselect plan --json {' '.join(mode)}: {args.count} hosts of {args.kinds} kinds "
        f"({size_mb:.0f} MB of JSON Lines{', a driver version each' if drivers else ''}; "
        f"{document['totals']['kinds']} kinds once merged) "
        f"in {elapsed:.2f} s ({cpu:.2f} s CPU), peak memory {peak:.0f} MiB"
    )
    print(f"cover: {cover['totals']['builds']} builds, {proved}, solver {cover['solve_s']:.2f} s")
    print(f"exit status {done.returncode}; cover totals {cover['totals']}")
    return 0 if cover["proved_optimal"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
