"""Running a child process that must never hang tvselect nor outlive it.

The child gets its own session (so its own process group, and no controlling terminal it
could stop on): a deadline, a flood of output past the cap, or a SIGTERM, SIGHUP or SIGINT
sent to tvselect reaches everything it started. What it prints is read as it comes, never
more than the cap, so a child that floods costs no memory and cannot outrun the deadline.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import selectors

MAX_OUTPUT_BYTES = 4 * 1024 * 1024
"""The most read of each of a child's standard output and standard error."""
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""The signals that, sent to tvselect, go on to the child's process group."""


MAX_TIMEOUT = 7 * 86400.0
"""The longest time limit accepted: a week."""


def check_timeout(value: float, option: str) -> float:
    """`value` if it is a finite number of seconds above 0 and at most MAX_TIMEOUT; else BadInputError."""
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        from tvselect.errors import BadInputError

        raise BadInputError(
            f"{option} {value!r}: give a number of seconds above 0 and at most {MAX_TIMEOUT:g}"
        )
    return value


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


class Flooded(NamedTuple):
    """The child wrote more than the cap on one stream and was killed, with everything it started."""

    limit: int
    """The cap, in bytes."""
    stdout: bytes
    """The first bytes of its standard output."""
    stderr: bytes
    """The first bytes of its standard error."""


class NotStarted(NamedTuple):
    """The child could not be started."""

    reason: str
    """The operating system's words for why."""


def run_bounded(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float,
    *,
    drain: float = 1.0,
    limit: int = MAX_OUTPUT_BYTES,
    output: int | None = None,
) -> Finished | TimedOut | Flooded | NotStarted:
    """Run `argv` with no standard input for at most `timeout` seconds; never raises.

    Its output is captured, at most `limit` bytes of each stream: past that, or past the
    deadline, its process group is killed and its output read for at most `drain` seconds
    more. With `output` (a file descriptor), both streams go there instead and nothing is
    read. A SIGTERM, SIGHUP or SIGINT that tvselect gets meanwhile is sent on to the child's
    group; tvselect waits for it (to the deadline), then acts on the signal itself.
    """
    if not math.isfinite(timeout) or timeout <= 0:
        return NotStarted(f"the time limit {timeout!r} is not a positive number of seconds")
    pipe = subprocess.PIPE if output is None else output
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=pipe,
            stderr=pipe,
            env=dict(env),
            start_new_session=True,
        )
    except (OSError, ValueError) as exc:
        return NotStarted(getattr(exc, "strerror", None) or str(exc))
    with _forwarding(process.pid) as received:
        deadline = time.monotonic() + timeout
        if output is None:
            result = _read_until(process, deadline, drain, limit)
        else:
            result = _wait_until(process, deadline)
    if received:
        _act_on(received[0])
    return result


def _read_until(
    process: subprocess.Popen[bytes], deadline: float, drain: float, limit: int
) -> Finished | TimedOut | Flooded:
    import selectors

    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    taken: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    sizes = dict.fromkeys(taken, 0)
    flooded = False
    killed_at: float | None = None
    with selectors.DefaultSelector() as selector:
        for stream in (process.stdout, process.stderr):
            os.set_blocking(stream.fileno(), False)
            selector.register(stream.fileno(), selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if killed_at is None and (now >= deadline or flooded):
                _kill_group(process)
                killed_at = now
            elif killed_at is not None and now >= killed_at + drain:
                break  # a grandchild that left the group still holds the pipes: stop reading them
            end = deadline if killed_at is None else killed_at + drain
            for key, _ in selector.select(max(0.0, end - now)):
                if _take(selector, int(key.fd), taken, sizes, limit):
                    flooded = True
    for stream in (process.stdout, process.stderr):
        stream.close()
    out, err = b"".join(taken[out_fd]), b"".join(taken[err_fd])
    if killed_at is None:
        return Finished(process.wait(), out, err)
    _reap(process)
    return Flooded(limit, out, err) if flooded else TimedOut(out, err)


def _take(
    selector: selectors.BaseSelector,
    fd: int,
    taken: dict[int, list[bytes]],
    sizes: dict[int, int],
    limit: int,
) -> bool:
    """Read what one pipe has ready, keeping at most `limit` bytes of it; whether it passed the limit.

    A pipe at its end (or failing) is unregistered from the selector.
    """
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        return False
    except OSError:
        chunk = b""
    if not chunk:
        selector.unregister(fd)
        return False
    taken[fd].append(chunk[: max(0, limit - sizes[fd])])
    sizes[fd] += len(chunk)
    return sizes[fd] > limit


def _wait_until(process: subprocess.Popen[bytes], deadline: float) -> Finished | TimedOut:
    while True:
        try:
            return Finished(process.wait(timeout=max(0.0, deadline - time.monotonic())), b"", b"")
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                _kill_group(process)
                _reap(process)
                return TimedOut(b"", b"")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        with suppress(OSError):
            process.kill()


def _reap(process: subprocess.Popen[bytes]) -> None:
    # SIGKILL cannot be caught: the child is gone within moments; a zombie is not left behind.
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextmanager
def _forwarding(pid: int) -> Iterator[list[int]]:
    """While the child runs, send SIGTERM, SIGHUP and SIGINT on to its group; yields those received."""
    import threading

    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def forward(number: int, _frame: object) -> None:
        received.append(number)
        with suppress(OSError):
            os.killpg(pid, number)

    # A signal tvselect was started ignoring (`nohup`, a background job) stays ignored.
    wanted = [number for number in FORWARDED if signal.getsignal(number) is not signal.SIG_IGN]
    previous = {number: signal.signal(number, forward) for number in wanted}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _act_on(number: int) -> None:
    """Having passed `number` on to the child, do what it asks of tvselect too."""
    if number == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
