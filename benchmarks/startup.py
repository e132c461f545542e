"""Start-up benchmark: tvselect against the floors it must stay near, as whole processes.

Each command runs as a fresh process; the commands are interleaved round by round so that
machine drift hits every side alike; a warm-up round comes first and is not counted.
Peak memory is the child's own maximum resident set (os.wait4), not a sum over children.

    python benchmarks/startup.py            # 21 rounds
    python benchmarks/startup.py --quick    # 3 rounds: to keep the script working in CI
    python benchmarks/startup.py --json     # figures as JSON on stdout
    python benchmarks/startup.py --baseline OLD/bin/tvselect --baseline-path OLD
                                            # before and after in the same interleaved rounds
    python benchmarks/startup.py --recipes DIR  # also --catalog DIR: a checkout read on the fly
                                                # (default: ../shared/build-torchvision/pytorch-2.10)

Uses the standard library only. Run it with the interpreter that has tvselect installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Command:
    name: str
    argv: tuple[str, ...]
    rounds: int | None = None  # None: every round; slow floors run fewer times
    env: dict[str, str] | None = None  # None: this process's environment


@dataclass
class Sample:
    wall: list[float]
    rss_mib: list[float]
    cpu: list[float] | None = None  # user + system time of the child; the 2 cores here are shared


def run_once(argv: tuple[str, ...], env: dict[str, str] | None = None) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit status, CPU seconds: the child's user + system time)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime


CHECKOUT = "tvselect --json --gpu none --cpuinfo FILE --catalog CHECKOUT"
SHARED_CHECKOUT = Path(__file__).resolve().parents[1].parent / "shared" / "build-torchvision" / "pytorch-2.10"


def commands(
    python: str, tvselect: tuple[str, ...], cpuinfo: str, with_gpu_floors: bool, recipes: str | None = None
) -> list[Command]:
    found = [
        Command("python -c pass", (python, "-c", "pass")),
        Command("python -c 'import typer'", (python, "-c", "import typer")),
        Command(
            "py-cpuinfo get_cpu_info()", (python, "-c", "import cpuinfo; cpuinfo.get_cpu_info()"), rounds=3
        ),
        Command(
            "tvselect --json --gpu none --cpuinfo FILE",
            (*tvselect, "--json", "--gpu", "none", "--cpuinfo", cpuinfo),
        ),
        Command("tvselect --json", (*tvselect, "--json")),
        Command("tvselect (human, rich)", (*tvselect, "--gpu", "none", "--cpuinfo", cpuinfo)),
    ]
    if recipes is not None:
        found.append(
            Command(
                CHECKOUT, (*tvselect, "--json", "--gpu", "none", "--cpuinfo", cpuinfo, "--catalog", recipes)
            )
        )
    if with_gpu_floors:
        found += [
            Command(
                "python -c 'import pynvml; pynvml.nvmlInit()'",
                (python, "-c", "import pynvml; pynvml.nvmlInit()"),
            ),
            Command(
                "nvidia-smi --query-gpu=compute_cap",
                ("nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"),
            ),
        ]
    return found


BASELINE = {
    "baseline: --json --gpu none --cpuinfo FILE": "tvselect --json --gpu none --cpuinfo FILE",
    "baseline: --json": "tvselect --json",
    "baseline: human, rich": "tvselect (human, rich)",
}


def baseline_commands(found: list[Command], baseline: str, path: str | None) -> list[Command]:
    """The tvselect commands again, run by the `baseline` executable (PYTHONPATH=`path` when given)."""
    env = {**os.environ, "PYTHONPATH": path} if path is not None else None
    by_name = {c.name: c for c in found}
    return [
        Command(name, (baseline, *by_name[ours].argv[1:]), env=env)
        for name, ours in BASELINE.items()
        if by_name[ours].argv[0] == by_name["tvselect --json"].argv[0]
    ]


def measure(cmds: list[Command], rounds: int) -> dict[str, Sample]:
    samples = {c.name: Sample([], []) for c in cmds}
    for c in cmds:  # warm-up: page cache, .pyc files
        run_once(c.argv, c.env)
    for index in range(rounds):
        for c in cmds:
            if c.rounds is not None and index >= c.rounds:
                continue
            wall, rss, code, cpu = run_once(c.argv, c.env)
            if code not in (0, 3):
                raise SystemExit(f"{c.name} exited with status {code}: {' '.join(c.argv)}")
            samples[c.name].wall.append(wall)
            samples[c.name].rss_mib.append(rss)
            samples[c.name].cpu = [*(samples[c.name].cpu or []), cpu]
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, to check that the script still works")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--cpuinfo", default="/proc/cpuinfo", help="the file for --cpuinfo FILE (default: this machine's)"
    )
    parser.add_argument(
        "--tvselect", help="the tvselect executable (default: the one beside this interpreter)"
    )
    parser.add_argument("--baseline", help="another tvselect executable to time in the same rounds")
    parser.add_argument("--baseline-path", help="PYTHONPATH for --baseline (a --target install)")
    parser.add_argument(
        "--recipes",
        default=str(SHARED_CHECKOUT) if SHARED_CHECKOUT.is_dir() else None,
        help="a checkout folder for --catalog DIR (default: the shared pytorch-2.10, 111 recipes, if present)",
    )
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds

    python = sys.executable
    script = args.tvselect or shutil.which("tvselect", path=str(Path(python).parent))
    tvselect = (script,) if script else (python, "-m", "tvselect")
    gpu = Path("/proc/driver/nvidia").exists() and shutil.which("nvidia-smi") is not None
    cmds = commands(python, tvselect, args.cpuinfo, gpu, args.recipes)
    if args.baseline:
        cmds += baseline_commands(cmds, args.baseline, args.baseline_path)
    samples = measure(cmds, rounds)

    def median(name: str) -> float:
        return statistics.median(samples[name].wall)

    typer_floor = median("python -c 'import typer'")
    figures = {
        name: {
            "runs": len(s.wall),
            "median_ms": round(statistics.median(s.wall) * 1000, 1),
            "min_ms": round(min(s.wall) * 1000, 1),
            "max_ms": round(max(s.wall) * 1000, 1),
            "peak_rss_mib": round(max(s.rss_mib), 1),
            "ratio_to_typer": round(statistics.median(s.wall) / typer_floor, 2),
        }
        for name, s in samples.items()
    }
    targets = {
        "json (simulated) / import typer <= 1.3": figures["tvselect --json --gpu none --cpuinfo FILE"][
            "ratio_to_typer"
        ],
        "json (this machine) / import typer <= 1.3": figures["tvselect --json"]["ratio_to_typer"],
        "human / import typer <= 1.6": figures["tvselect (human, rich)"]["ratio_to_typer"],
        "json peak RSS MiB <= 40": figures["tvselect --json"]["peak_rss_mib"],
    }
    if args.recipes is not None:
        recipes = len(list(Path(args.recipes).glob(".flox/pkgs/*.nix")))
        added = median(CHECKOUT) - median("tvselect --json --gpu none --cpuinfo FILE")
        targets[f"--catalog CHECKOUT ({recipes} recipes) adds ms <= 300"] = round(added * 1000, 1)
        cpu = statistics.median(samples[CHECKOUT].cpu or [0.0]) - statistics.median(
            samples["tvselect --json --gpu none --cpuinfo FILE"].cpu or [0.0]
        )
        targets[f"--catalog CHECKOUT ({recipes} recipes) adds CPU ms <= 300"] = round(cpu * 1000, 1)
    if gpu:
        nvml = median("python -c 'import pynvml; pynvml.nvmlInit()'")
        simulated = median("tvselect --json --gpu none --cpuinfo FILE")
        targets["json with NVML / (nvmlInit + json simulated) <= 1.3"] = round(
            median("tvselect --json") / (nvml + simulated), 2
        )
    for name, ours in BASELINE.items():
        if name in samples:
            targets[f"{ours[9:]}: this tree / baseline"] = round(median(ours) / median(name), 2)
    machine = (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    if args.json:
        print(
            json.dumps(
                {"machine": machine, "rounds": rounds, "commands": figures, "targets": targets}, indent=2
            )
        )
        return 0
    print(f"{machine}; {rounds} rounds, interleaved, after one warm-up round")
    print(f"{'command':<48} {'runs':>4} {'median':>8} {'min':>8} {'max':>8} {'peak RSS':>9} {'x typer':>8}")
    for name, f in figures.items():
        print(
            f"{name:<48} {f['runs']:>4} {f['median_ms']:>6.1f}ms {f['min_ms']:>6.1f}ms {f['max_ms']:>6.1f}ms "
            f"{f['peak_rss_mib']:>6.1f}MiB {f['ratio_to_typer']:>8.2f}"
        )
    print()
    for target, value in targets.items():
        print(f"{target:<55} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
