"""The options several commands share, as typer annotations, and the machine they describe."""

# No `from __future__ import annotations` here: typer reads these signatures on every run,
# and string annotations cost it a compile and eval each (measured: ~1.5 ms a run).
from typing import TYPE_CHECKING, Annotated

import typer

from tvselect import __version__
from tvselect.cli import complete
from tvselect.render.emit import FORMATS

if TYPE_CHECKING:
    from tvselect.app.inputs import MachineInputs


def version_callback(value: bool) -> None:
    """`--version`: print the version and stop."""
    if value:
        print(f"tvselect {__version__}")
        raise typer.Exit()


WorkloadOpt = Annotated[
    str,
    typer.Option(
        "--workload",
        metavar="WORKLOAD",
        autocompletion=complete.workloads,
        help="What the machine will run, a workload of the catalog (a wrong name lists them); "
        "orders the CPU builds.",
    ),
]
BranchOpt = Annotated[
    str,
    typer.Option(
        "--branch",
        metavar="BRANCH",
        autocompletion=complete.branches,
        help="Consider only this branch of the catalog ('auto': all); 'tvselect list' shows them.",
    ),
]
CpuOnlyOpt = Annotated[bool, typer.Option("--cpu-only", help="Choose among CPU-only builds even with GPUs.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout, and nothing else there.")
]


def _check_format(value: str | None) -> str | None:
    if value is not None and value not in FORMATS:
        raise typer.BadParameter(f"{value!r}: choose from {', '.join(FORMATS)}")
    return value


FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        metavar="|".join(FORMATS),
        help=f"Print in this format ({FORMATS[0]} by default); --json is --format json.",
        callback=_check_format,
        show_default=False,
    ),
]


def output_format(json_: bool, format_: str | None) -> str:
    """The format --json and --format ask for; BadParameter when they disagree."""
    if format_ is None:
        return "json" if json_ else FORMATS[0]
    if json_ and format_ != "json":
        raise typer.BadParameter(f"--json and --format {format_} disagree; give one")
    return format_


CatalogOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--catalog",
        metavar="PATH",
        help="Use this catalog file, or the recipes of this checkout folder ([BRANCH=]DIR), instead of "
        "the built-in catalog ('builtin'); repeat it to use several as one "
        "(default: $TVSELECT_CATALOG, a path list).",
    ),
]


def catalog_arg(paths: list[str] | None) -> str | None:
    """The `--catalog` values as the one path (list) the use cases take; None: not given."""
    import os

    return os.pathsep.join(paths) if paths else None


CpuinfoOpt = Annotated[
    str | None,
    typer.Option("--cpuinfo", metavar="PATH", help="Take the CPU from this /proc/cpuinfo-format file."),
]
GpuOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--gpu",
        metavar="CC",
        help="Take the GPUs from here: a compute capability (8.6, sm_86, sm86, 86), repeatable; 'none' for no GPU.",
    ),
]
DriverOpt = Annotated[
    str | None,
    typer.Option("--driver", metavar="VERSION", help="Take this NVIDIA driver version, e.g. 550.54.14."),
]
FactsOpt = Annotated[
    str | None,
    typer.Option(
        "--facts",
        metavar="PATH",
        help="Take all facts from a 'tvselect probe --json' document ('-' for stdin).",
    ),
]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback for unexpected errors.")]
AvailableOpt = Annotated[
    str | None,
    typer.Option(
        "--available",
        metavar="FILE",
        help="The packages your org has published, one a line or 'flox search --json' output ('-' for stdin); "
        "the best of them that runs is chosen.",
    ),
]
# Read by `main` before parsing (it sets NO_COLOR); declared on every command for --help and parsing.
NoColorOpt = Annotated[
    bool, typer.Option("--no-color", help="No colours or bold/dim styles (as NO_COLOR=1 does).")
]


def machine_inputs(
    cpuinfo: str | None, gpu: list[str] | None, driver: str | None, facts_path: str | None
) -> "MachineInputs":
    """The MachineInputs for the --cpuinfo, --gpu, --driver and --facts values."""
    from tvselect.app.inputs import MachineInputs

    return MachineInputs(cpuinfo=cpuinfo, gpus=tuple(gpu or ()), driver=driver, facts_path=facts_path)
