"""Running a child process that must never hang tvselect: a timeout kills its whole process group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple


class Finished(NamedTuple):
    """The child ended by itself."""

    returncode: int
    """Its exit status; negative when a signal killed it."""
    stdout: bytes
    """What it wrote on standard output."""
    stderr: bytes
    """What it wrote on standard error."""


class TimedOut(NamedTuple):
    """The child did not finish in time and was killed, with everything it started."""

    stdout: bytes
    """What it wrote on standard output before it was killed."""
    stderr: bytes
    """What it wrote on standard error before it was killed."""


class NotStarted(NamedTuple):
    """The child could not be started."""

    reason: str
    """The operating system's words for why."""


def run_bounded(
    argv: Sequence[str], env: Mapping[str, str], timeout: float, *, drain: float = 1.0
) -> Finished | TimedOut | NotStarted:
    """Run `argv` with no standard input, capturing its output, for at most `timeout` seconds.

    The child gets its own process group, so that a timeout kills whatever it started too;
    after the kill, its output is read for at most `drain` seconds more. Never raises.
    """
    import os
    import signal
    import subprocess

    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            start_new_session=True,
        )
    except OSError as exc:
        return NotStarted(exc.strerror or str(exc))
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            process.kill()
        try:
            out, err = process.communicate(timeout=drain)
        except subprocess.TimeoutExpired:
            # A grandchild that left its own group still holds the pipes: stop reading them.
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
            out, err = b"", b""
        return TimedOut(out, err)
    return Finished(process.returncode, out, err)
