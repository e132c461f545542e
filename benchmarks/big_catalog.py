"""Time `tvselect --json` and `tvselect list --json` on a catalog of N minimal variants (default 197,000).

    .venv/bin/python benchmarks/big_catalog.py [N]

The catalog is the shipped one (tvselect/data/variants.json) with its variants replaced by N
minimal ones (package, branch, gpu_arch, cpu_isa; the rest from the branch), cycling through
its GPU architectures (and CPU-only), ISAs and branches: 197,000 of them are about 15 MiB of
compact JSON, under the 16 MiB --catalog reads. `--json` decides for the machine running it
with a simulated GPU of compute capability 9.0. Prints wall and CPU time and the peak memory
of each command (ru_maxrss of the child; on a shared machine the wall time also counts waiting).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path


def big_catalog(count: int) -> str:
    """The shipped catalog with `count` minimal variants, as compact JSON."""
    document = json.loads(files("tvselect").joinpath("data").joinpath("variants.json").read_text("utf-8"))
    archs = [None, *document["gpu_archs"]]
    isas = list(document["isas"])
    branches = list(document["branches"])
    document["variants"] = [
        {
            "package": f"tv{n}",
            "branch": branches[n % len(branches)],
            "gpu_arch": archs[n % len(archs)],
            "cpu_isa": isas[n // len(archs) % len(isas)],
        }
        for n in range(count)
    ]
    return json.dumps(document, separators=(",", ":"))


def _run(argv: list[str]) -> tuple[int, float, float, float]:
    """Exit status, wall and CPU seconds, and peak MiB of one run of `argv` (a child of its own)."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - start\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(code, wall, r.ru_utime + r.ru_stime, r.ru_maxrss / 1024)\n"
    )
    # A fresh parent per command, so that ru_maxrss is this command's alone.
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True)
    code, wall, cpu, peak = out.stdout.split()
    return int(code), float(wall), float(cpu), float(peak)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 197_000
    tvselect = str(Path(sys.executable).with_name("tvselect"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.json"
        path.write_text(big_catalog(count))
        size = path.stat().st_size / (1024 * 1024)
        for args in (["--json", "--gpu", "9.0"], ["list", "--json"]):
            argv = [tvselect, *args, "--catalog", str(path)]
            code, wall, cpu, peak = _run(argv)
            print(
                f"tvselect {' '.join(args)} --catalog ({count} variants, {size:.1f} MiB): "
                f"exit status {code} in {wall:.2f} s ({cpu:.2f} s CPU), peak memory {peak:.0f} MiB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
