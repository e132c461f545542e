"""run_bounded: a child never hangs tvselect, never floods its memory, never outlives it."""

from __future__ import annotations

import math
import os
import time

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
    ],
    ids=["finished", "floods-stdout", "floods-stderr", "hangs", "trickles", "grandchild"],
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
