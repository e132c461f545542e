"""Time `tvselect plan --json` on a JSON Lines fleet of N hosts (default 100,000).

    .venv/bin/python benchmarks/plan_fleet.py [N]

Hosts cycle through five kinds of machine made from the cpuinfo files in ../shared/cpuinfo,
each with its own host name and GPU UUIDs (as a real probe reports them).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tvselect.facts.model import Facts, Gpu, GpuFacts, to_document
from tvselect.probe.cpu import read_cpuinfo_file

CPUINFO = Path(__file__).resolve().parents[1].parent / "shared" / "cpuinfo"
KINDS = (
    ("linux-rhel7-haswell.txt", ((9, 0),) * 8),
    ("linux-rhel7-skylake_avx512.txt", ((8, 0),) * 4),
    ("linux-rhel9-neoverse_v2.txt", ((9, 0),)),
    ("linux-rhel8-power9.txt", ()),
    ("linux-rocky8.5-zen4.txt", ((7, 0),) * 2),
)


def _document(cpuinfo: str, caps: tuple[tuple[int, int], ...], n: int) -> dict[str, object]:
    gpus = tuple(
        Gpu(i, "NVIDIA GPU", f"GPU-{n:08x}-{i:04x}", cap, 81559, False) for i, cap in enumerate(caps)
    )
    gpu = GpuFacts(
        "nvml" if gpus else "none", gpus, (), "580.65.06", "13.0", None if gpus else "no NVIDIA driver"
    )
    return to_document(Facts(read_cpuinfo_file(str(CPUINFO / cpuinfo)), gpu, f"node-{n:06d}"))


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    templates = [_document(cpuinfo, caps, 0) for cpuinfo, caps in KINDS]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fleet.jsonl"
        with path.open("w") as out:
            for n in range(count):
                document = json.loads(json.dumps(templates[n % len(templates)]))
                document["host"] = f"node-{n:06d}"
                for i, device in enumerate(document["gpu"]["devices"]):  # type: ignore[index]
                    device["uuid"] = f"GPU-{n:08x}-{i:04x}"
                out.write(json.dumps(document) + "\n")
        size_mb = path.stat().st_size / 1e6
        tvselect = str(Path(sys.executable).with_name("tvselect"))
        start = time.perf_counter()
        done = subprocess.run(
            [tvselect, "plan", "--json", str(path)], capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - start
    totals = json.loads(done.stdout)["totals"]
    print(f"tvselect plan --json: {count} hosts ({size_mb:.0f} MB of JSON Lines) in {elapsed:.2f} s")
    print(f"exit status {done.returncode}; totals {totals}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
