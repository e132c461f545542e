"""Ending a child and everything it started, on Linux through the kernel's own means.

- The child gets the parent-death signal (SIGKILL) before it runs: if tvselect dies, even by
  SIGKILL, the kernel kills the child.
- tvselect is a child subreaper: a descendant whose parent died (a daemon that forked twice,
  a `setsid` grandchild) becomes tvselect's child instead of init's, so it can be found and
  ended, and reaped.
- `end_rest` ends the child's process group and every such orphan, within a bound.

Off Linux (no prctl), children still get their own session and group and are killed with it;
detached descendants are then bounded only by the pipes no longer being read.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from contextlib import suppress

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
END_WITHIN = 1.0
"""Seconds given to ending what a child left running, after the grace of a polite SIGTERM."""
_STEP = 0.02

_Prctl = Callable[[int, int, int, int, int], int]
_loaded: list[_Prctl | None] = []


def _prctl() -> _Prctl | None:
    """libc's prctl, loaded once; None where there is none (not Linux, no ctypes)."""
    if not _loaded:
        found: _Prctl | None = None
        if os.uname().sysname == "Linux":
            try:
                import ctypes

                function = ctypes.CDLL(None, use_errno=True).prctl
                function.restype = ctypes.c_int
                function.argtypes = [
                    ctypes.c_int,
                    ctypes.c_ulong,
                    ctypes.c_ulong,
                    ctypes.c_ulong,
                    ctypes.c_ulong,
                ]
                found = function
            except (ImportError, OSError, AttributeError):
                found = None
        _loaded.append(found)
    return _loaded[0]


def become_subreaper() -> None:
    """Make tvselect the reaper of its orphaned descendants (Linux; elsewhere nothing)."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def parent_death_hook() -> Callable[[], None] | None:
    """What the child runs between fork and exec: SIGKILL me when tvselect dies; None off Linux.

    Run through Popen's preexec_fn. That forks without vfork; the only other thread tvselect
    may have is the NVML worker, blocked in the driver or finished, and this hook neither
    imports nor takes a lock: it calls the prctl function resolved here, in the parent.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # tvselect died before the line above: follow it
            os.kill(os.getpid(), kill)

    return hook


def own_children() -> frozenset[int]:
    """The process ids whose parent is tvselect, now: the kernel's list of each thread's
    children, or where the kernel keeps none (CONFIG_PROC_CHILDREN off) a look at every process."""
    found: set[int] = set()
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return frozenset()
    for thread in threads:
        try:
            with open(f"/proc/self/task/{thread}/children", "rb") as handle:
                found.update(int(pid) for pid in handle.read().split())
        except FileNotFoundError:
            return _children_by_scan()
        except (OSError, ValueError):
            continue
    return frozenset(found)


def _children_by_scan() -> frozenset[int]:
    me = os.getpid()
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            with suppress(OSError, IndexError, ValueError), open(f"/proc/{name}/stat", "rb") as handle:
                if int(handle.read().rpartition(b")")[2].split()[1]) == me:
                    found.add(int(name))
    return frozenset(found)


def _group_left(group: int) -> bool:
    """Whether any process (a zombie too) is still in process group `group`."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _signal(pid: int, number: int) -> None:
    with suppress(OSError):
        os.kill(pid, number)
    with suppress(OSError):
        group = os.getpgid(pid)
        if group > 1 and group != os.getpgrp():
            os.killpg(group, number)


def _reap(pid: int) -> bool:
    """Reap `pid` if it has ended; whether it is gone."""
    try:
        return os.waitpid(pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        return True


def end_rest(group: int, keep: frozenset[int], grace: float) -> None:
    """End what is left of process group `group` (its leader, the child, is reaped) and every
    orphan reparented to tvselect meanwhile; `keep` are tvselect's children from before.

    They get SIGTERM (SIGKILL at once when `grace` is 0) and SIGKILL `grace` seconds later,
    then at most END_WITHIN seconds to be gone; what is still there after that is left.
    """
    started = time.monotonic()
    number = signal.SIGTERM if grace > 0 else signal.SIGKILL
    while True:
        in_group = _group_left(group)
        orphans = [pid for pid in own_children() - keep if not _reap(pid)]
        if not in_group and not orphans:
            return
        with suppress(OSError):
            os.killpg(group, number)
        for pid in orphans:
            _signal(pid, number)
        elapsed = time.monotonic() - started
        if elapsed >= grace:
            number = signal.SIGKILL
        if elapsed >= grace + END_WITHIN:
            return
        time.sleep(_STEP)
