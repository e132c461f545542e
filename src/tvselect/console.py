"""The process entry point of the `tvselect` command (and of `python -m tvselect`).

Two things here are about speed, and both touch only the command's own process, never a
program that imports tvselect as a library (benchmarks/startup.py measures them):

- the cyclic garbage collector is off: a run makes almost no reference cycles, and the
  collector's passes while typer and the catalog load cost about 5 ms of a ~60 ms run;
- once `main()` has returned, the process ends with `os._exit` after flushing its output:
  interpreter teardown (freeing every module and object one by one) costs about 10 ms and
  does nothing a finished process needs. tvselect registers no atexit work, writes its
  files (NFD labels) before returning, and a stuck NVML worker thread cannot delay exit.

And one thing is about the standard streams, handled here once for every command:

- a closed standard input, output or error (`>&-`) is given /dev/null, so that no file
  tvselect opens can take its number and receive its output; a closed standard output is
  refused before anything runs (exit 2), a closed standard error just silences diagnostics;
- standard output raises OutputError on a write error (a full disk: exit 2 with one line)
  and ReaderGone when its reader went away (exit 141 quietly, as for a SIGPIPE);
- text that the output encoding cannot carry (PYTHONIOENCODING=ascii) is replaced, not fatal.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import Any

from tvselect.errors import ExitCode, OutputError, ReaderGone


class _Output(io.TextIOWrapper):
    """Standard output whose write errors are tvselect errors the command line reports."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError as exc:
            raise _failure(exc) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            raise _failure(exc) from None


def _failure(exc: OSError) -> OutputError:
    if isinstance(exc, BrokenPipeError):
        return ReaderGone("")
    return OutputError(f"cannot write output: {exc.strerror or exc}")


def _closed(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False


def _streams() -> int | None:
    """Set up the standard streams; the exit status when tvselect must not run (stdout closed)."""
    closed = [fd for fd in (0, 1, 2) if _closed(fd)]
    for fd in closed:
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    if 2 in closed or sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - the process's own stream
    err: Any = sys.stderr
    if hasattr(err, "reconfigure"):
        err.reconfigure(errors="backslashreplace")
    if 1 in closed or sys.stdout is None:
        print("tvselect: error: standard output is closed; give it /dev/null to discard the output", file=err)
        return ExitCode.BAD_INPUT
    out: Any = sys.stdout
    sys.stdout = _Output(
        out.buffer, encoding=out.encoding, errors="replace", line_buffering=out.line_buffering
    )
    return None


def run() -> None:
    """Run the command line in this process and exit with its status."""
    import gc

    gc.disable()
    refused = _streams()
    if refused is not None:
        os._exit(refused)
    from tvselect.cli.main import main, say_error

    status = main()
    try:
        sys.stdout.flush()
    except OutputError as exc:
        say_error(exc)
        status = exc.exit_code
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(status)
