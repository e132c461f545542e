"""The process entry point of the `tvselect` command (and of `python -m tvselect`)."""

from __future__ import annotations


def run() -> None:
    """Run the command line in this process and exit with its status."""
    import gc

    # A tvselect run is a short-lived process that makes almost no reference cycles; the
    # cyclic collector's passes while typer and the catalog load cost about 5 ms of a
    # ~60 ms run (benchmarks/startup.py) and free nothing that process exit would not.
    # Only the command's own process is affected: importing tvselect as a library is not.
    gc.disable()
    from tvselect.cli import main

    raise SystemExit(main())
