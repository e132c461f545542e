"""Fakes at the process boundary for the hostile rows: `flox`, `git` and a checked Python that
misbehave as children can, each writing its process id (and its children's) to a file.

Every fake is a shell script first on PATH. After tvselect exits, `left_running` says which of
the recorded processes still run: the rows assert there are none.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

# What a child does, by mode. PIDS is the file of process ids; every background sleep records its own.
BEHAVIOURS = {
    "ok": "",
    "grandchild": 'sleep 300 & echo $! >> "$PIDS"',
    "detached": "setsid sh -c 'echo $$ >> \"$PIDS\"; exec sleep 300' &",
    "closes-and-hangs": 'exec >&- 2>&-; sleep 300 & echo $! >> "$PIDS"; wait; exit 0',
    "detached-hangs": (
        'setsid sh -c \'echo $$ >> "$PIDS"; exec sleep 300\' & sleep 300 & echo $! >> "$PIDS"; wait; exit 0'
    ),
    "ignores-signals-hangs": "trap '' TERM INT HUP; sleep 300 & echo $! >> \"$PIDS\"; wait; wait; exit 0",
    "is-the-sleeper": "exec sleep 300",
    "flood": "exec yes flood",
    "garbage": "echo 'this is not what git prints'; exit 0",
}

# flox 1.14.1's answer to `flox show` for a published package; the behaviour comes before or
# after it (FAKE_SHOW_AFTER=1: after, so the answer is already written).
FLOX = """#!/bin/sh
echo $$ >> "$PIDS"
case "$1" in
  show) mode="$FAKE_SHOW" ;;
  install) mode="$FAKE_INSTALL" ;;
  activate) mode="$FAKE_ACTIVATE" ;;
  *) mode=ok ;;
esac
if [ "$1" = show ]; then
  printf '%s - fake package\\nLatest:  %s@0.24.0\\n\\nOther versions:\\n    %s@0.24.0\\n' "$2" "$2" "$2"
fi
{cases}
exit 0
"""

# A git that is the real one except for `cat-file`, which behaves as FAKE_GIT says (after
# answering, for the modes that leave something running behind a correct answer).
GIT = """#!/bin/sh
echo $$ >> "$PIDS"
for arg in "$@"; do
  if [ "$arg" = cat-file ]; then
    mode="$FAKE_GIT"
    case "$mode" in
      ""|ok) exec {real} "$@" ;;
      grandchild|detached) {real} "$@" ;;
    esac
{cases}
    exit 0
  fi
done
exec {real} "$@"
"""

# A Python for `tvselect verify --python`: behaves as FAKE_PYTHON says.
PYTHON = """#!/bin/sh
echo $$ >> "$PIDS"
mode="$FAKE_PYTHON"
{cases}
exit 3
"""


def _cases(indent: str) -> str:
    lines = [f'{indent}case "$mode" in']
    lines += [f"{indent}  {name}) {body} ;;" for name, body in BEHAVIOURS.items() if body]
    lines.append(f"{indent}esac")
    return "\n".join(lines)


def write_fakes(folder: Path) -> dict[str, str]:
    """Write fake flox, git and python into `folder`/bin; the environment that puts them first on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    real = shutil.which("git") or "/usr/bin/git"
    for name, text in {
        "flox": FLOX.format(cases=_cases("")),
        "git": GIT.format(real=real, cases=_cases("    ")),
        "python": PYTHON.format(cases=_cases("")),
    }.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(0o755)
    pids = folder / "pids"
    pids.touch()
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PIDS": str(pids)}


def recorded(folder: Path) -> list[int]:
    """Every process id a fake recorded."""
    path = folder / "pids"
    return [int(word) for word in path.read_text().split()] if path.exists() else []


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def left_running(folder: Path, settle: float = 1.0) -> list[int]:
    """The recorded processes still running `settle` seconds from now (gone earlier: none)."""
    until = time.monotonic() + settle
    while True:
        alive = [pid for pid in recorded(folder) if _running(pid)]
        if not alive or time.monotonic() >= until:
            return alive
        time.sleep(0.05)


def kill_recorded(folder: Path) -> None:
    """Clean up after a failed row: SIGKILL every recorded process still running."""
    for pid in recorded(folder):
        if _running(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
