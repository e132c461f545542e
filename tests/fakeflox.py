"""A fake `flox` first on PATH that models one organisation's published packages.

It answers `flox show ORG/PACKAGE` and `flox install ORG/PACKAGE[@VERSION]` in the formats of
flox 1.14.1 (cli/flox/src/commands/show.rs and main.rs): found is exit 0 with the show text
on stdout; not found is exit 1 with `✘ ERROR: no packages matched this pkg-path: '…'` on
stderr; every other failure is exit 1 with `✘ ERROR: catalog error: …`. It records each
argument list, one JSON array a line, and its process id (and its own child's) for the tests.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

FAKE = r"""#!{python}
import json, os, subprocess, sys, time

state = json.load(open(os.environ["FAKE_FLOX_STATE"]))
with open(state["log"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
with open(state["pids"], "a") as pids:
    pids.write(f"{{os.getpid()}}\n")
mode = state["mode"]
args = sys.argv[1:]


def fail(message, warn=None):
    if warn:
        print(warn, file=sys.stderr)
    print("\u2718 ERROR: " + message, file=sys.stderr)
    sys.exit(1)


if mode == "hang":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(state["pids"], "a") as pids:
        pids.write(f"{{child.pid}}\n")
    time.sleep(600)
if mode == "not-logged-in":
    fail(
        "catalog error: 401 Unauthorized: authentication required",
        "! You are not logged in to FloxHub. Run 'flox auth login' to log in.",
    )
if mode == "no-network":
    fail(
        "catalog error: Communication Error: error sending request for url "
        "(https://api.flox.dev/api/v1/catalog/packages/" + args[-1] + "?page=0&pageSize=10)"
    )
if mode == "garbage":
    sys.stdout.write("\x1b[31m<html>502 Bad Gateway</html>\n")
    sys.exit(0)
if mode == "huge":
    line = "x" * 1023 + "\n"
    for _ in range(10 * 1024):
        sys.stdout.write(line)
    sys.exit(0)

published = state["published"]


def owned(path):
    org, _, name = path.partition("/")
    return name if org == state["org"] and name in published else None


if args[:1] == ["show"]:
    name = owned(args[1])
    if name is None:
        fail(f"no packages matched this pkg-path: '{{args[1]}}'")
    versions = published[name]
    print(f"{{args[1]}} - TorchVision built for one GPU and CPU")
    print(f"Catalog: {{state['org']}}")
    print(f"Latest:  {{args[1]}}@{{versions[0]}}")
    print("Outputs: out* (* installed by default)")
    print("Systems: x86_64-linux")
    print()
    print("Other versions:")
    for version in versions:
        print(f"    {{args[1]}}@{{version}}    (x86_64-linux only)")
    sys.exit(0)
if args[:1] == ["install"]:
    specs = args[1:]
    if specs[:1] == ["-d"]:
        specs = specs[2:]
    names = []
    for spec in specs:  # flox installs several packages in one call, or none of them
        path, _, version = spec.partition("@")
        name = owned(path)
        if name is None or (version and version not in published[name]):
            fail(f"Could not find package '{{spec}}'.")
        names.append(name)
    for name in names:
        print(f"\u2714 '{{name}}' installed to environment 'default'", file=sys.stderr)
    sys.exit(0)
fail("unexpected arguments")
"""


@dataclass(frozen=True)
class FakeFlox:
    """The fake's folder (put first on PATH) and what it recorded."""

    bin_dir: Path
    state: Path
    log: Path
    pids: Path

    def env(self) -> dict[str, str]:
        return {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_FLOX_STATE": str(self.state),
        }

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def process_ids(self) -> list[int]:
        return [int(p) for p in self.pids.read_text().split()] if self.pids.exists() else []


def make_org_flox(
    tmp_path: Path, published: dict[str, list[str]], *, org: str = "acme", mode: str = "ok"
) -> FakeFlox:
    """A fake flox for which `org` has published `published` (package name: versions, latest first).

    `mode`: `ok`, `not-logged-in`, `no-network`, `hang`, `garbage` or `huge` (10 MiB on stdout).
    """
    bin_dir = tmp_path / "orgbin"
    bin_dir.mkdir(exist_ok=True)
    flox = bin_dir / "flox"
    flox.write_text(FAKE.format(python=sys.executable))
    flox.chmod(0o755)
    fake = FakeFlox(bin_dir, tmp_path / "flox-state.json", tmp_path / "flox-calls.jsonl", tmp_path / "pids")
    state = {"org": org, "published": published, "mode": mode, "log": str(fake.log), "pids": str(fake.pids)}
    fake.state.write_text(json.dumps(state))
    return fake


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "?")
    return state not in ("Z", "X")
