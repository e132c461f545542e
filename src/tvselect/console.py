"""The process entry point of the `tvselect` command (and of `python -m tvselect`).

Two things here are about speed, and both touch only the command's own process, never a
program that imports tvselect as a library (benchmarks/startup.py measures them):

- the cyclic garbage collector is off: a run makes almost no reference cycles, and the
  collector's passes while typer and the catalog load cost about 5 ms of a ~60 ms run;
- once `main()` has returned, the process ends with `os._exit` after flushing its output:
  interpreter teardown (freeing every module and object one by one) costs about 10 ms and
  does nothing a finished process needs. tvselect registers no atexit work, writes its
  files (NFD labels) before returning, and a stuck NVML worker thread cannot delay exit.
"""

from __future__ import annotations


def run() -> None:
    """Run the command line in this process and exit with its status."""
    import gc

    gc.disable()
    import contextlib
    import os
    import sys

    from tvselect.cli.main import main

    status = main()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (`tvselect --json | head -1`) leaves nothing more to say.
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(status)
