"""Running a child process that must never hang tvselect nor outlive it.

The child gets its own session (so its own process group, and no controlling terminal it
could stop on) and, on Linux, the parent-death signal; tvselect is the subreaper of whatever
it starts (base/reaper.py). What it prints is read as it comes, never more than the cap.

The bounds (docs/promises.md): a child runs at most its time limit. When it ends, or is
killed at the limit or past the cap, what it started is ended too (SIGTERM, then SIGKILL
after REMAINS_GRACE seconds for what a child that finished left behind; SIGKILL at once
otherwise) within reaper.END_WITHIN seconds more, and its pipes are read for at most
`drain` seconds more, even if a descendant tvselect could not end still holds them. A
SIGTERM, SIGHUP or SIGINT sent to tvselect goes on to the child's group; SIGNAL_GRACE
seconds later the group is killed and tvselect acts on the signal.
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

from tvselect.base import reaper

if TYPE_CHECKING:
    import selectors

MAX_OUTPUT_BYTES = 4 * 1024 * 1024
"""The most read of each of a child's standard output and standard error."""
FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""The signals that, sent to tvselect, go on to the child's process group."""
SIGNAL_GRACE = 2.0
"""Seconds a child has to end after a signal tvselect passed on, before its group is killed."""
REMAINS_GRACE = 0.5
"""Seconds what a finished child left running has between SIGTERM and SIGKILL."""
_POLL = 0.05
"""How often a child's end is looked for where the system has no process descriptors."""

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


class _Signals:
    """The signals tvselect received while a child ran, passed on to the child's group."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.at: float | None = None
        self.pid: int | None = None
        # The wait for the child is a select() that Python resumes after a handler (PEP 475):
        # the handler writes here, so that the wait ends and the grace is counted.
        self.wake, self.woken = os.pipe()
        os.set_blocking(self.woken, False)
        os.set_blocking(self.wake, False)

    def note(self, number: int, _frame: object = None) -> None:
        self.received.append(number)
        if self.at is None:
            self.at = time.monotonic()
        if self.pid is not None:
            with suppress(OSError):
                os.killpg(self.pid, number)
        with suppress(OSError):
            os.write(self.woken, b"!")

    def close(self) -> None:
        os.close(self.wake)
        os.close(self.woken)

    def started(self, pid: int) -> None:
        """The child is `pid`: what came before it started goes on to it now."""
        self.pid = pid
        for number in self.received:
            with suppress(OSError):
                os.killpg(pid, number)

    def end(self, deadline: float) -> float:
        """The deadline, brought forward to SIGNAL_GRACE after the first signal received."""
        return deadline if self.at is None else min(deadline, self.at + SIGNAL_GRACE)


def run_bounded(
    argv: Sequence[str],
    env: Mapping[str, str],
    timeout: float,
    *,
    drain: float = 1.0,
    limit: int = MAX_OUTPUT_BYTES,
    output: int | None = None,
    stdin: bytes = b"",
) -> Finished | TimedOut | Flooded | NotStarted:
    """Run `argv` with `stdin` as its standard input (from a file) for at most `timeout` seconds; never raises.

    Its output is captured, at most `limit` bytes of each stream: past that, or past the
    deadline, everything it started is killed and its output read for at most `drain`
    seconds more. With `output` (a file descriptor), both streams go there instead and
    nothing is read. A SIGTERM, SIGHUP or SIGINT that tvselect gets meanwhile is sent on to
    the child's group; tvselect waits for it (at most SIGNAL_GRACE), then acts on the signal.
    """
    if not math.isfinite(timeout) or timeout <= 0:
        return NotStarted(f"the time limit {timeout!r} is not a positive number of seconds")
    reaper.become_subreaper()
    keep = reaper.own_children()
    with _forwarding() as signals:
        try:
            process = _start(argv, env, output, stdin)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            return NotStarted(getattr(exc, "strerror", None) or str(exc))
        signals.started(process.pid)
        try:
            result = _supervise(process, time.monotonic() + timeout, signals, drain, limit, keep)
        except BaseException:
            _finish(process, keep, 0.0)
            raise
    if signals.received:
        _act_on(signals.received[0])
    return result


def _start(
    argv: Sequence[str], env: Mapping[str, str], output: int | None, stdin: bytes
) -> subprocess.Popen[bytes]:
    pipe = subprocess.PIPE if output is None else output
    if stdin:
        import tempfile

        with tempfile.TemporaryFile() as given:
            given.write(stdin)
            given.seek(0)
            return _popen(argv, env, given.fileno(), pipe)
    return _popen(argv, env, subprocess.DEVNULL, pipe)


def _popen(argv: Sequence[str], env: Mapping[str, str], stdin: int, pipe: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=pipe,
        stderr=pipe,
        env=dict(env),
        start_new_session=True,
        preexec_fn=reaper.parent_death_hook(),
    )


class _Exit:
    """Tells whether the child has ended, without reaping it (its pid stays its group's)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.fd: int | None = None
        with suppress(AttributeError, OSError):
            self.fd = os.pidfd_open(pid)

    def ended(self) -> bool:
        try:
            return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.fd is not None:
            selector.unregister(self.fd)
            os.close(self.fd)
            self.fd = None


def _supervise(
    process: subprocess.Popen[bytes],
    deadline: float,
    signals: _Signals,
    drain: float,
    limit: int,
    keep: frozenset[int],
) -> Finished | TimedOut | Flooded:
    import selectors

    exit_ = _Exit(process.pid)
    pipes = [s for s in (process.stdout, process.stderr) if s is not None]
    fds = [s.fileno() for s in pipes]
    taken: dict[int, list[bytes]] = {fd: [] for fd in fds}
    sizes = dict.fromkeys(taken, 0)
    flooded = ended = False
    with selectors.DefaultSelector() as selector:
        for fd in taken:
            os.set_blocking(fd, False)
            selector.register(fd, selectors.EVENT_READ)
        if exit_.fd is not None:
            selector.register(exit_.fd, selectors.EVENT_READ)
        selector.register(signals.wake, selectors.EVENT_READ)
        while not (flooded or ended):
            now, end = time.monotonic(), signals.end(deadline)
            ended = exit_.ended()
            if ended or now >= end:
                break
            wait = end - now if exit_.fd is not None else min(end - now, _POLL)
            for key, _ in selector.select(wait):
                if key.fd == signals.wake:
                    with suppress(OSError):
                        os.read(signals.wake, 64)
                elif key.fd in taken and _take(selector, int(key.fd), taken, sizes, limit):
                    flooded = True
        exit_.close(selector)
        selector.unregister(signals.wake)
        signals.pid = None  # from here on the child's group is ended here, and its pid may go
        _finish(process, keep, REMAINS_GRACE if ended else 0.0)
        flooded = _drain(selector, taken, sizes, limit, drain) or flooded
    for stream in pipes:
        stream.close()
    out, err = (b"".join(taken[fd]) for fd in fds) if fds else (b"", b"")
    if flooded:
        return Flooded(limit, out, err)
    if ended and process.returncode is not None:
        return Finished(process.returncode, out, err)
    return TimedOut(out, err)


def _finish(process: subprocess.Popen[bytes], keep: frozenset[int], grace: float) -> None:
    """Signal the child's group (SIGKILL; SIGTERM with a `grace` when the child ended by itself),
    reap the child (waiting at most END_WITHIN), then end what is left of its group and orphans."""
    if process.returncode is not None:
        return
    with suppress(OSError):
        os.killpg(process.pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
    try:
        process.wait(timeout=reaper.END_WITHIN)
    except subprocess.TimeoutExpired:
        return  # a child stuck in the kernel (state D) is left, and its group with it
    reaper.end_rest(process.pid, keep, grace)


def _drain(
    selector: selectors.BaseSelector,
    taken: dict[int, list[bytes]],
    sizes: dict[int, int],
    limit: int,
    drain: float,
) -> bool:
    """Read what the pipes still hold, for at most `drain` seconds; whether it passed the limit.

    Their writers are gone, or are not tvselect's to end: a pause of _POLL with nothing to
    read ends the reading.
    """
    stop = time.monotonic() + drain
    flooded = False
    while any(fd in taken for fd in selector.get_map()):
        ready = selector.select(max(0.0, min(_POLL, stop - time.monotonic())))
        if not ready or time.monotonic() >= stop:
            break
        for key, _ in ready:
            flooded = _take(selector, int(key.fd), taken, sizes, limit) or flooded
    return flooded


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


@contextmanager
def _forwarding() -> Iterator[_Signals]:
    """From before the child starts until it is reaped, send SIGTERM, SIGHUP and SIGINT on to
    its group; yields what was received. A signal that comes before the child exists waits for it."""
    import threading

    signals = _Signals()
    if threading.current_thread() is not threading.main_thread():
        try:
            yield signals
        finally:
            signals.close()
        return
    # A signal tvselect was started ignoring (`nohup`, a background job) stays ignored.
    wanted = [number for number in FORWARDED if signal.getsignal(number) is not signal.SIG_IGN]
    previous = {number: signal.signal(number, signals.note) for number in wanted}
    try:
        yield signals
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        signals.close()


def _act_on(number: int) -> None:
    """Having passed `number` on to the child, do what it asks of tvselect too."""
    if number == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
