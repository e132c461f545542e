"""The installed `tvselect` with children that misbehave: flox, git and the checked Python that
hang with their streams closed, leave grandchildren (detached or not) holding the pipes, flood,
answer garbage, ignore signals; and tvselect itself signalled or killed meanwhile.

One row per case of issue 23 (items 2 and 3). Each asserts the exit status, at most one stderr
line (with the words expected), no traceback, the wall-clock bound, and that no process a fake
recorded (children and grandchildren, by process id) is left running once tvselect has exited.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import tvselect_exe
from hostile_fakes import kill_recorded, left_running, recorded, write_fakes

from tvselect.errors import ExitCode


@dataclass(frozen=True)
class Row:
    args: tuple[str, ...]
    code: int
    says: str | None
    """Words of the one stderr line; None: stderr must be empty (the words are on stdout)."""
    within: float
    """Seconds the run may take, hung children included."""
    env: tuple[tuple[str, str], ...] = ()
    out: str | None = None
    """Words stdout must hold."""


INSTALL = ("--install", "--org", "acme")
FLOX_1S = ("TVSELECT_FLOX_TIMEOUT", "1")

ROWS = {
    # flox show answers and exits 0 while a grandchild holds the pipe: a valid answer, promptly.
    "show-answers-grandchild-holds-pipe": Row(INSTALL, 0, None, 8, (("FAKE_SHOW", "grandchild"),)),
    "show-answers-detached-holds-pipe": Row(INSTALL, 0, None, 8, (("FAKE_SHOW", "detached"),)),
    "show-closes-streams-and-hangs": Row(
        INSTALL, 4, "did not answer within 1 s", 10, (("FAKE_SHOW", "closes-and-hangs"), FLOX_1S)
    ),
    "show-detached-grandchild-hangs": Row(
        INSTALL, 4, "did not answer within 1 s", 10, (("FAKE_SHOW", "detached-hangs"), FLOX_1S)
    ),
    "show-ignores-signals-hangs": Row(
        INSTALL, 4, "did not answer within 1 s", 10, (("FAKE_SHOW", "ignores-signals-hangs"), FLOX_1S)
    ),
    "install-closes-streams-and-hangs": Row(
        (*INSTALL, "--timeout", "2"),
        4,
        "did not finish within 2 s",
        10,
        (("FAKE_INSTALL", "closes-and-hangs"),),
    ),
    "install-detached-grandchild-hangs": Row(
        (*INSTALL, "--timeout", "2"),
        4,
        "did not finish within 2 s",
        10,
        (("FAKE_INSTALL", "detached-hangs"),),
    ),
    "install-succeeds-leaves-detached": Row(INSTALL, 0, None, 8, (("FAKE_INSTALL", "detached"),)),
    "verify-python-closes-streams-and-hangs": Row(
        ("verify", "--python", "{bin}/python", "--timeout", "2"),
        ExitCode.VERIFY_FAILED,
        None,
        10,
        (("FAKE_PYTHON", "closes-and-hangs"),),
        "no answer within 2 s",
    ),
    "verify-python-detached-grandchild": Row(
        ("verify", "--python", "{bin}/python", "--timeout", "2"),
        ExitCode.VERIFY_FAILED,
        None,
        10,
        (("FAKE_PYTHON", "detached-hangs"),),
        "no answer within 2 s",
    ),
    "install-then-verify-python-hangs": Row(
        (*INSTALL, "--verify", "--timeout", "2"),
        ExitCode.VERIFY_FAILED,
        None,
        12,
        (("FAKE_ACTIVATE", "closes-and-hangs"),),
        "no answer within 2 s",
    ),
}


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    env = write_fakes(tmp_path)
    yield tmp_path, env
    kill_recorded(tmp_path)


def _environment(extra: dict[str, str]) -> dict[str, str]:
    variables = {k: v for k, v in os.environ.items() if not k.startswith(("CUDA_", "NVIDIA_", "FAKE_"))}
    variables.update(extra)
    return variables


def _check_stderr(stderr: str, says: str | None) -> None:
    assert "Traceback" not in stderr and "unexpected error" not in stderr, stderr
    lines = stderr.strip().splitlines()
    if says is None:
        assert lines == [], stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("tvselect: ") and says in lines[0], stderr


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_children_never_outlive_their_deadline(fakes: tuple[Path, dict[str, str]], row: Row) -> None:
    folder, env = fakes
    args = [a.format(bin=folder / "bin") for a in row.args]
    started = time.monotonic()
    done = subprocess.run(
        [tvselect_exe(), *args],
        env=_environment({**env, **dict(row.env)}),
        cwd=folder,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    seconds = time.monotonic() - started
    assert done.returncode == row.code, done.stdout + done.stderr
    _check_stderr(done.stderr, row.says)
    assert seconds < row.within, seconds
    if row.out is not None:
        assert row.out in done.stdout, done.stdout
    assert recorded(folder), "the fake was never started"
    assert left_running(folder) == []


def _start(folder: Path, env: dict[str, str], args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [tvselect_exe(), *args],
        env=_environment(env),
        cwd=folder,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A test run in a background job inherits SIGINT ignored; tvselect rightly keeps it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_sleepers(folder: Path, count: int) -> None:
    until = time.monotonic() + 15
    while len(recorded(folder)) < count and time.monotonic() < until:
        time.sleep(0.05)
    assert len(recorded(folder)) >= count, recorded(folder)
    time.sleep(0.2)  # the fake is now in its `wait`


SIGNALLED = {
    # flox ignores TERM: passed on, then its group is killed SIGNAL_GRACE (2 s) later.
    "TERM-flox-ignores-it": (signal.SIGTERM, INSTALL, "FAKE_INSTALL", -signal.SIGTERM, 3),
    "HUP-flox-ignores-it": (signal.SIGHUP, INSTALL, "FAKE_INSTALL", -signal.SIGHUP, 3),
    "INT-hung-verify": (
        signal.SIGINT,
        ("verify", "--python", "{bin}/python", "--timeout", "60"),
        "FAKE_PYTHON",
        ExitCode.INTERRUPTED,
        2,
    ),
}


@pytest.mark.parametrize("case", list(SIGNALLED.values()), ids=list(SIGNALLED))
def test_a_signal_ends_tvselect_and_all_it_started_within_the_grace(
    fakes: tuple[Path, dict[str, str]], case: tuple[int, tuple[str, ...], str, int, int]
) -> None:
    number, args, variable, code, count = case
    folder, env = fakes
    process = _start(
        folder,
        {**env, variable: "ignores-signals-hangs"},
        [a.format(bin=folder / "bin") for a in args],
    )
    _wait_for_sleepers(folder, count)
    started = time.monotonic()
    process.send_signal(number)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - started < 6  # 2 s of grace, then at most 2 s to end and read
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr
    assert left_running(folder) == []


def test_sigkill_to_tvselect_takes_flox_with_it(fakes: tuple[Path, dict[str, str]]) -> None:
    """The kernel's parent-death signal: nothing of tvselect's runs to pass it on."""
    folder, env = fakes
    process = _start(folder, {**env, "FAKE_INSTALL": "is-the-sleeper"}, list(INSTALL))
    _wait_for_sleepers(folder, 2)  # flox show, then flox install (which became `sleep`)
    process.kill()
    process.communicate(timeout=30)
    assert left_running(folder, settle=2.0) == []
