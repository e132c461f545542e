"""Running the payload in the checked interpreter: a subprocess under a time limit, whose
death by a signal, non-zero exit or unreadable output comes back as a PayloadFailure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tvselect.errors import BadInputError
from tvselect.verify.observations import RawObservations, json_object, read_observations
from tvselect.verify.payload import STAGE_MARK

PAYLOAD_PATH = Path(__file__).with_name("payload.py")
DEFAULT_TIMEOUT = 120.0
# The oldest Python the payload runs on: it starts with `from __future__ import annotations`
# (3.7); older interpreters, Python 2 included, stop on a SyntaxError before running anything.
OLDEST_PYTHON = "3.7"

SIGNAL_HINTS: Mapping[str, str] = {
    "SIGILL": "an illegal instruction: the build uses CPU instructions this CPU does not have",
    "SIGSEGV": "a segmentation fault in native code",
    "SIGBUS": "a bus error in native code",
    "SIGABRT": "native code aborted",
    "SIGKILL": "killed from outside, often by the kernel when memory runs out",
}


@dataclass(frozen=True, slots=True)
class PayloadFailure:
    """Why the checked interpreter gave no observations."""

    command: tuple[str, ...]
    """The command that was run, payload path last."""
    kind: str
    """`not-started`, `timeout`, `signal`, `exit-status` or `bad-output`."""
    detail: str
    """What happened, in words."""
    stage: str | None
    """The payload stage that was running when it stopped, when known."""
    stderr_tail: str
    """The last lines the interpreter wrote on stderr, stage marks left out."""


def python_command(python: str) -> tuple[str, ...]:
    """The command prefix for an interpreter given as `--python`; BadInputError when unusable.

    A bare name is looked up on PATH. The path is kept as given, not resolved: a
    virtual environment's python is a symbolic link, and resolving it leaves the environment.
    """
    import os
    import shutil

    path = python if os.sep in python else shutil.which(python)
    if path is None or not os.path.exists(path):
        raise BadInputError(f"--python {python!r}: not found")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise BadInputError(f"--python {python!r}: not an executable file")
    return (path,)


def flox_command(directory: str | None) -> tuple[str, ...]:
    """The command prefix that runs `python` inside a flox environment (`.` by default)."""
    return ("flox", "activate", "-d", directory or ".", "--", "python")


def _split_stderr(text: str) -> tuple[str | None, str]:
    stage = None
    kept = []
    for line in text.splitlines():
        if line.startswith(STAGE_MARK):
            stage = line[len(STAGE_MARK) :].strip()
        else:
            kept.append(line)
    tail = "\n".join(kept[-15:])
    return stage, tail[-2000:]


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _during(stage: str | None) -> str:
    return f" during '{stage}'" if stage and stage != "done" else ""


def _exit_failure(
    argv: tuple[str, ...], wrapped: bool, code: int, stage: str | None, tail: str
) -> PayloadFailure | None:
    """Why a finished interpreter gave nothing: a signal or a non-zero status; None when it exited 0."""
    if code < 0:
        name = _signal_name(-code)
        hint = SIGNAL_HINTS.get(name)
        detail = f"the interpreter was killed by {name}{_during(stage)}" + (f" ({hint})" if hint else "")
        return PayloadFailure(argv, "signal", detail, stage, tail)
    if code != 0 and stage is None and "SyntaxError" in tail:
        detail = (
            f"{argv[0]} cannot run the checks: tvselect verify checks Python {OLDEST_PYTHON} or newer "
            f"(it exited with status {code} on a SyntaxError)"
        )
        return PayloadFailure(argv, "exit-status", detail, stage, tail)
    if code != 0:
        detail = f"the interpreter exited with status {code}{_during(stage)}"
        if wrapped and 128 < code < 160:
            name = _signal_name(code - 128)
            hint = SIGNAL_HINTS.get(name)
            detail += f" (128 + {code - 128}: probably killed by {name}" + (f", {hint})" if hint else ")")
        return PayloadFailure(argv, "exit-status", detail, stage, tail)
    return None


def run_payload(
    command: Sequence[str], *, timeout: float, env: Mapping[str, str]
) -> RawObservations | PayloadFailure:
    """Run the payload with `command` (e.g. `[python]`, or `flox activate ... -- python`).

    Never raises for what the checked interpreter does: a timeout kills its whole
    process group; death by a signal, a non-zero exit and output that is not the
    payload's JSON all come back as a PayloadFailure.
    """
    from tvselect.base.children import Flooded, NotStarted, TimedOut, run_bounded

    argv = (*command, str(PAYLOAD_PATH))
    done = run_bounded(argv, env, timeout)
    if isinstance(done, NotStarted):
        return PayloadFailure(
            argv, "not-started", f"{argv[0]} could not be started ({done.reason})", None, ""
        )
    stage, tail = _split_stderr(done.stderr.decode("utf-8", "replace"))
    if isinstance(done, TimedOut):
        return PayloadFailure(
            argv, "timeout", f"no answer within {timeout:g} s{_during(stage)}; it was killed", stage, tail
        )
    if isinstance(done, Flooded):
        detail = f"the interpreter printed more than {done.limit // (1024 * 1024)} MiB; it was killed"
        return PayloadFailure(argv, "bad-output", detail, stage, tail)
    failed = _exit_failure(argv, len(command) > 1, done.returncode, stage, tail)
    if failed is not None:
        return failed
    return _observations_in(argv, done.stdout.decode("utf-8", "replace"), stage, tail)


def _observations_in(
    argv: tuple[str, ...], text: str, stage: str | None, tail: str
) -> RawObservations | PayloadFailure:
    """The payload's observations: the last line of its output that is a JSON object."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                return read_observations(argv, json_object(line))
            except ValueError as exc:
                return PayloadFailure(
                    argv, "bad-output", f"the payload's output is not understood ({exc})", stage, tail
                )
    shown = text.strip()[-300:] or "nothing"
    return PayloadFailure(
        argv, "bad-output", f"the interpreter printed no JSON object (stdout: {shown})", stage, tail
    )
