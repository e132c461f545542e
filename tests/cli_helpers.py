"""Running the installed `tvselect` console script, and a fake `flox` at the process boundary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent


def tvselect_exe() -> str:
    """The console script installed beside this interpreter."""
    exe = BIN / "tvselect"
    assert exe.is_file(), f"tvselect is not installed beside {sys.executable}; install the project first"
    return str(exe)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> object:
        return json.loads(self.stdout)


def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 60) -> Run:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "NVIDIA_"))}
    full_env.update(env or {})
    done = subprocess.run(
        [tvselect_exe(), *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


# `flox show` answers as flox 1.14.1 does for an org that has published every package (see fakeflox.py).
FAKE_FLOX = """#!{python}
import json, os, sys
with open(os.environ["FAKE_FLOX_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:2] == ["show"]:
    p = sys.argv[2]
    print(p + " - fake package\\nLatest:  " + p + "@0.24.0\\n\\nOther versions:\\n    " + p + "@0.24.0\\n    " + p + "@0.23.0")
    sys.exit(0)
print("fake flox: " + os.environ.get("FAKE_FLOX_SAYS", "installed"), file=sys.stderr if os.environ.get("FAKE_FLOX_STATUS", "0") != "0" else sys.stdout)
sys.exit(int(os.environ.get("FAKE_FLOX_STATUS", "0")))
"""


@dataclass(frozen=True)
class FakeFlox:
    bin_dir: Path
    log: Path

    def env(self, status: int = 0, says: str = "installed") -> dict[str, str]:
        return {
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "FAKE_FLOX_LOG": str(self.log),
            "FAKE_FLOX_STATUS": str(status),
            "FAKE_FLOX_SAYS": says,
        }

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


def make_fake_flox(tmp_path: Path) -> FakeFlox:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    flox = bin_dir / "flox"
    flox.write_text(FAKE_FLOX.format(python=sys.executable))
    flox.chmod(0o755)
    return FakeFlox(bin_dir, tmp_path / "flox-calls.jsonl")
