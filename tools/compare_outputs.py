"""Run a table of tvselect command lines with two installed scripts and compare their outputs.

    python tools/compare_outputs.py BASELINE_TVSELECT [CANDIDATE_TVSELECT]

Each command runs with both scripts in the same scratch folder (so paths in the output are the
same); stdout, stderr, the exit status and every file it writes (-o, --nfd, --assign) are compared
byte for byte. Prints one line per command that differs and a summary line; exits 1 on any
difference. The recipes of ../shared/build-torchvision are used when present.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
RECIPES = SHARED / "build-torchvision"
CPUINFO = SHARED / "cpuinfo"

sys.path.insert(0, str(ROOT / "tests"))

PACKAGE = "torchvision-python313-cuda12_9-sm90-avx512"


def _table(scratch: Path) -> list[tuple[str, list[str], str | None]]:
    """(id, arguments, stdin) for every command compared."""
    zen4 = str(CPUINFO / "linux-rocky8.5-zen4.txt")
    arm = str(CPUINFO / "linux-rhel9-neoverse_v2.txt")
    facts = str(scratch / "facts")
    out = str(scratch / "out")
    python = ["--python", sys.executable]
    rows: list[tuple[str, list[str], str | None]] = []
    for fmt in ([], ["--json"]):
        tag = "json" if fmt else "text"
        rows += [
            (f"main-h100-{tag}", ["--gpu", "9.0", "--cpuinfo", zen4, *fmt], None),
            (f"main-explain-{tag}", ["--gpu", "8.6", "--cpuinfo", zen4, "--explain", *fmt], None),
            (f"main-two-gpus-{tag}", ["--gpu", "8.6", "--gpu", "7.5", "--driver", "535.54.03", *fmt], None),
            (f"main-cpu-{tag}", ["--gpu", "none", "--cpuinfo", arm, *fmt], None),
            (f"main-nomatch-{tag}", ["--gpu", "12.1", "--cpuinfo", zen4, "--explain", *fmt], None),
            (f"main-dryrun-{tag}", ["--gpu", "9.0", "--install", "--dry-run", "--org", "acme", *fmt], None),
            (f"probe-{tag}", ["probe", "--gpu", "9.0", "--cpuinfo", zen4, *fmt], None),
            (f"probe-facts-{tag}", ["probe", "--facts", f"{facts}/a.json", *fmt], None),
            (f"list-{tag}", ["list", *fmt], None),
            (f"list-filtered-{tag}", ["list", "--gpu-arch", "9.0", "--isa", "avx512", *fmt], None),
            (f"show-{tag}", ["show", PACKAGE, "--gpu", "9.0", "--cpuinfo", zen4, *fmt], None),
            (f"show-cannot-run-{tag}", ["show", PACKAGE, "--gpu", "8.6", "--cpuinfo", arm, *fmt], None),
            (f"verify-{tag}", ["verify", *python, "--gpu", "9.0", "--cpuinfo", zen4, *fmt], None),
            (f"plan-{tag}", ["plan", facts, *fmt], None),
            (f"plan-available-{tag}", ["plan", facts, "--available", f"{scratch}/available.txt", *fmt], None),
            (f"plan-cover-{tag}", ["plan", facts, "--cover", *fmt], None),
            (
                f"plan-max-builds-{tag}",
                ["plan", facts, "--max-builds", "1", "--assign", f"{out}/assign", *fmt],
                None,
            ),
            (f"catalog-diff-{tag}", ["catalog", "diff", "builtin", f"main={RECIPES}/main", *fmt], None),
        ]
    rows += [
        ("main-quiet", ["--gpu", "9.0", "--cpuinfo", zen4, "-q"], None),
        ("main-nfd", ["--gpu", "9.0", "--cpuinfo", zen4, "--nfd", f"{out}/labels"], None),
        ("main-facts-stdin", ["--facts", "-", "--json"], (scratch / "facts" / "a.json").read_text()),
        ("main-bad-gpu", ["--gpu", "banana"], None),
        ("main-bad-json-quiet", ["--json", "-q"], None),
        ("plan-missing", ["plan", facts, "--available", f"{scratch}/available.txt", "--missing"], None),
        ("plan-missing-json", ["plan", facts, "--missing", "--json"], None),
        ("catalog-import", ["catalog", "import", f"main={RECIPES}/main"], None),
        (
            "catalog-import-o",
            ["catalog", "import", f"main={RECIPES}/main", "-o", f"{out}/catalog.json"],
            None,
        ),
        (
            "catalog-import-o-refused",
            ["catalog", "import", f"main={RECIPES}/main", "-o", f"{scratch}/available.txt"],
            None,
        ),
        (
            "catalog-import-bad-version",
            ["catalog", "import", str(RECIPES / "main"), "--version-of", "x"],
            None,
        ),
        (
            "catalog-lint",
            ["catalog", "lint", *(f"{b.name}={b}" for b in sorted(RECIPES.iterdir()) if b.is_dir())],
            None,
        ),
        ("catalog-diff-self", ["catalog", "diff", "builtin", "builtin"], None),
        ("catalog-help", ["catalog"], None),
    ]
    return rows


def _prepare(scratch: Path, exe: str) -> None:
    from fakeenv import GOOD_H100, write_fake_torch

    write_fake_torch(scratch / "fakes", GOOD_H100)
    (scratch / "facts").mkdir()
    zen4 = str(CPUINFO / "linux-rocky8.5-zen4.txt")
    arm = str(CPUINFO / "linux-rhel9-neoverse_v2.txt")
    for name, args in {
        "a": ["--gpu", "9.0", "--cpuinfo", zen4],
        "b": ["--gpu", "8.6", "--cpuinfo", zen4],
        "c": ["--gpu", "none", "--cpuinfo", arm],
        "d": ["--gpu", "12.1", "--cpuinfo", zen4],
    }.items():
        doc = subprocess.run([exe, "probe", "--json", *args], capture_output=True, check=True).stdout
        (scratch / "facts" / f"{name}.json").write_bytes(doc)
    (scratch / "available.txt").write_text(PACKAGE + "\n")


def _run(exe: str, args: list[str], stdin: str | None, scratch: Path) -> tuple[bytes, ...]:
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(scratch / "fakes"), "NO_COLOR": "1", "COLUMNS": "100"}
    env.pop("TVSELECT_CATALOG", None)
    done = subprocess.run(
        [exe, *args],
        input=None if stdin is None else stdin.encode(),
        capture_output=True,
        env=env,
        cwd=scratch,
        timeout=300,
    )
    files = tuple(p.name.encode() + b"\n" + p.read_bytes() for p in sorted(out.iterdir()))
    return tuple(_steady(part) for part in (done.stdout, done.stderr, str(done.returncode).encode(), *files))


# The solver's time differs from run to run, in the JSON and in the human text.
_TIMES = re.compile(rb'("solve_s": )[0-9.]+|(HiGHS solver in )[0-9.]+( s)')


# verify names its payload by the installed package's path, which differs between two installs.
_PACKAGE = re.compile(rb'/[^"\s]*/tvselect/verify/payload\.py')


def _steady(data: bytes) -> bytes:
    data = _PACKAGE.sub(b"TVSELECT/verify/payload.py", data)
    return _TIMES.sub(lambda m: b"".join(g or b"" for g in m.groups()), data)


def main(argv: list[str]) -> int:
    if not RECIPES.is_dir() or not CPUINFO.is_dir():
        print(f"needs {RECIPES} and {CPUINFO}", file=sys.stderr)
        return 2
    baseline = argv[1]
    candidate = os.path.abspath(argv[2]) if len(argv) > 2 else str(Path(sys.executable).parent / "tvselect")
    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        _prepare(scratch, baseline)
        rows = _table(scratch)
        for name, args, stdin in rows:
            before = _run(baseline, args, stdin, scratch)
            after = _run(candidate, args, stdin, scratch)
            if before != after:
                differ += 1
                parts = ("stdout", "stderr", "exit status", "files")
                what = [
                    parts[min(i, 3)]
                    for i in range(max(len(before), len(after)))
                    if i >= len(before) or i >= len(after) or before[i] != after[i]
                ]
                print(f"DIFFERS {name}: {', '.join(dict.fromkeys(what))} (tvselect {' '.join(args)})")
                for old, new in zip(before, after, strict=False):
                    lines = [
                        (a, b) for a, b in zip(old.splitlines(), new.splitlines(), strict=False) if a != b
                    ]
                    if lines:
                        print(f"  - {lines[0][0][:150]!r}\n  + {lines[0][1][:150]!r}")
            elif "-v" in argv:
                print(f"same    {name} (exit {before[2].decode()}, {len(before[0])} bytes out)")
    print(
        f"{len(rows) - differ} of {len(rows)} command lines give the same stdout, stderr, exit status "
        f"and files ({differ} differ)"
    )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
