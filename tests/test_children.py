"""run_bounded: a child never hangs tvselect, never floods its memory, never outlives it."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from tvselect.base.children import Finished, Flooded, NotStarted, TimedOut, check_timeout, run_bounded
from tvselect.errors import BadInputError

ENV = dict(os.environ)


@pytest.mark.parametrize(
    ("script", "timeout", "limit", "kind", "within"),
    [
        ("echo out; echo err >&2; exit 3", 10, 1024, Finished, 5),
        ("yes flood", 10, 64 * 1024, Flooded, 5),
        ("yes flood >&2", 10, 64 * 1024, Flooded, 5),
        ("sleep 60", 0.5, 1024, TimedOut, 4),
        # Floods slower than the cap would take to fill: the deadline still holds.
        ("while :; do echo x; sleep 0.01; done", 0.5, 1 << 30, TimedOut, 4),
        # A grandchild in the group holding the pipes open is killed with it.
        ("sleep 60 & echo started; wait", 0.5, 1024, TimedOut, 4),
        # The child answers and exits; a grandchild (in its group or detached) holds the pipes.
        ("echo out; echo err >&2; sleep 300 & exit 3", 10, 1024, Finished, 3),
        ("echo out; echo err >&2; setsid sleep 300 & exit 3", 10, 1024, Finished, 3),
        # The child closes its streams and keeps running: the deadline still holds.
        ("exec >&- 2>&-; sleep 300", 0.5, 1024, TimedOut, 4),
        ("setsid sleep 300 & exec >&- 2>&-; sleep 300", 0.5, 1024, TimedOut, 4),
    ],
    ids=[
        "finished",
        "floods-stdout",
        "floods-stderr",
        "hangs",
        "trickles",
        "grandchild",
        "answers-grandchild-holds-pipes",
        "answers-detached-holds-pipes",
        "closes-streams-hangs",
        "closes-streams-detached",
    ],
)
def test_run_bounded(script: str, timeout: float, limit: int, kind: type, within: float) -> None:
    started = time.monotonic()
    done = run_bounded(["sh", "-c", script], ENV, timeout, limit=limit, drain=0.5)
    assert isinstance(done, kind)
    assert time.monotonic() - started < within
    if isinstance(done, (Finished, Flooded, TimedOut)):
        assert len(done.stdout) <= limit and len(done.stderr) <= limit
    if isinstance(done, Finished):
        assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n")


def test_output_to_a_descriptor_keeps_the_deadline(tmp_path: object) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        started = time.monotonic()
        done = run_bounded(["sh", "-c", "yes flood"], ENV, 0.5, output=null)
    finally:
        os.close(null)
    assert isinstance(done, TimedOut)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("timeout", [math.inf, math.nan, 0.0, -1.0], ids=["inf", "nan", "zero", "negative"])
def test_no_child_without_a_finite_deadline(timeout: float) -> None:
    assert isinstance(run_bounded(["true"], ENV, timeout), NotStarted)
    with pytest.raises(BadInputError, match="--timeout"):
        check_timeout(timeout, "--timeout")


def test_not_started() -> None:
    done = run_bounded(["/nonexistent/program"], ENV, 1)
    assert isinstance(done, NotStarted) and "No such file" in done.reason


def _sleepers() -> set[int]:
    """This test process's children that still run: tvselect's runner makes it their subreaper,
    so whatever a child started and left behind would be here (other users' processes never are)."""
    from tvselect.base.reaper import own_children

    found = set()
    for pid in own_children():
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                state = handle.read().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            found.add(pid)
    return found


def test_nothing_a_child_started_outlives_it() -> None:
    before = _sleepers()
    for script in ("setsid sleep 300 & sleep 300 & echo $!", "setsid sh -c 'setsid sleep 300 &' & exit 0"):
        run_bounded(["sh", "-c", script], ENV, 0.5)
    assert _sleepers() - before == set()


def test_nvidia_smi_that_closes_its_streams_and_hangs(tmp_path: Path) -> None:
    from tvselect.probe.smi import run_nvidia_smi
    from tvselect.probe.visibility import Failure

    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\nexec >&- 2>&-\nsetsid sleep 300 &\nsleep 300\n")
    smi.chmod(0o755)
    before = _sleepers()
    started = time.monotonic()
    found = run_nvidia_smi(str(smi), ENV, 1.0)
    assert time.monotonic() - started < 4
    assert isinstance(found, Failure) and "did not answer within 1 s" in found.reason
    assert _sleepers() - before == set()
