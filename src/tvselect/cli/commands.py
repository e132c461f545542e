"""The subcommands that look at one machine or the catalog: probe, list, show, verify."""

# No `from __future__ import annotations` here: typer reads these signatures on every run,
# and string annotations cost it a compile and eval each (measured: ~1.5 ms a run).
import sys
from typing import Annotated

import typer

from tvselect.cli import complete
from tvselect.cli.options import (
    BranchOpt,
    CatalogOpt,
    CpuinfoOpt,
    DriverOpt,
    FactsOpt,
    FormatOpt,
    GpuOpt,
    JsonOpt,
    NoColorOpt,
    WorkloadOpt,
    catalog_arg,
    machine_inputs,
    output_format,
)
from tvselect.cli.output import warn
from tvselect.cli.root import app
from tvselect.errors import ExitCode

ListBranchOpt = Annotated[
    str | None,
    typer.Option(
        "--branch",
        metavar="BRANCH",
        autocompletion=complete.branches,
        help="Only this branch of the catalog (auto: all); 'tvselect list' shows them.",
    ),
]
GpuArchOpt = Annotated[
    str | None,
    typer.Option(
        "--gpu-arch", metavar="CC", help="Only builds for this GPU: 9.0, sm_90, sm90 or 90 (as --gpu)."
    ),
]
IsaOpt = Annotated[str | None, typer.Option("--isa", metavar="ISA", help="Only this CPU ISA, e.g. avx512.")]
ListCpuOnlyOpt = Annotated[bool, typer.Option("--cpu-only", help="Only CPU-only builds.")]
ProductOpt = Annotated[
    str | None,
    typer.Option(
        "--product",
        autocompletion=complete.products,
        metavar="NAME",
        help="Only this product: pytorch, torchvision, torchaudio, vllm.",
    ),
]
ListJsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print the variants as one JSON array on stdout, and nothing else there."),
]
PythonOpt = Annotated[
    str | None,
    typer.Option("--python", metavar="PATH", help="The interpreter to check (default: tvselect's own)."),
]
VerifyTimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", metavar="SECONDS", help="Give up on the checked interpreter after this."),
]


@app.command()
def probe(
    json_: JsonOpt = False,
    format_: FormatOpt = None,
    catalog_path: CatalogOpt = None,
    cpuinfo: CpuinfoOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    facts_path: FactsOpt = None,
    no_color: NoColorOpt = False,
) -> int:
    """Print the facts tvselect decides from (GPUs, driver, CPU); --json gives the facts document.

    \b
    Examples:
      tvselect probe
      ssh gpu7 tvselect probe --json > gpu7.json
      tvselect --facts gpu7.json
    """
    import os

    from tvselect.app.browse import probe as run_probe
    from tvselect.app.inputs import input_warnings
    from tvselect.render.emit import emit

    fmt = output_format(json_, format_)
    machine = machine_inputs(cpuinfo, gpu, driver, facts_path)
    probed = run_probe(catalog_arg(catalog_path), machine, os.environ, sys.stdin)
    for warning in input_warnings(machine, probed.facts):
        warn(warning)
    emit(probed, fmt)
    return ExitCode.OK


@app.command(name="list")
def list_(
    branch: ListBranchOpt = None,
    gpu_arch: GpuArchOpt = None,
    isa: IsaOpt = None,
    cpu_only: ListCpuOnlyOpt = False,
    product: ProductOpt = None,
    json_: ListJsonOpt = False,
    format_: FormatOpt = None,
    catalog_path: CatalogOpt = None,
    no_color: NoColorOpt = False,
) -> int:
    """List the catalog's variants, optionally filtered.

    \b
    Examples:
      tvselect list --gpu-arch 9.0 --isa avx512
      tvselect list --cpu-only --json | jq -r '.[].package'
    """
    from tvselect.app.browse import ListRequest, list_variants
    from tvselect.render.emit import emit

    fmt = output_format(json_, format_)
    emit(list_variants(ListRequest(branch, gpu_arch, isa, cpu_only, catalog_arg(catalog_path), product)), fmt)
    return ExitCode.OK


@app.command()
def show(
    package: Annotated[
        str,
        typer.Argument(
            metavar="PACKAGE", help="A package name from 'tvselect list'.", autocompletion=complete.packages
        ),
    ],
    json_: JsonOpt = False,
    format_: FormatOpt = None,
    catalog_path: CatalogOpt = None,
    cpuinfo: CpuinfoOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    facts_path: FactsOpt = None,
    no_color: NoColorOpt = False,
) -> int:
    """Everything the catalog knows about one package, and whether it would run here.

    \b
    Example:
      tvselect show torchvision-python313-cpu-avx2 --gpu none
    """
    import os

    from tvselect.app.browse import show_package
    from tvselect.app.inputs import input_warnings
    from tvselect.render.emit import emit

    fmt = output_format(json_, format_)
    machine = machine_inputs(cpuinfo, gpu, driver, facts_path)
    view = show_package(package, machine, catalog_arg(catalog_path), os.environ, sys.stdin)
    for warning in input_warnings(machine, view.decision.facts):
        warn(warning)
    emit(view, fmt)
    return ExitCode.OK


@app.command()
def verify(
    python: PythonOpt = None,
    json_: JsonOpt = False,
    format_: FormatOpt = None,
    timeout: VerifyTimeoutOpt = 120.0,
    workload: WorkloadOpt = "general",
    branch: BranchOpt = "auto",
    catalog_path: CatalogOpt = None,
    cpuinfo: CpuinfoOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    facts_path: FactsOpt = None,
    no_color: NoColorOpt = False,
) -> int:
    """Check that the PyTorch and TorchVision of a Python environment really fit this machine.

    \b
    Example:
      tvselect verify --python /opt/torch/.venv/bin/python
    """
    import os

    from tvselect.app.inputs import Choice
    from tvselect.app.verify import VerifyRequest
    from tvselect.app.verify import verify as run_verify
    from tvselect.render.emit import emit

    fmt = output_format(json_, format_)
    machine = machine_inputs(cpuinfo, gpu, driver, facts_path)
    request = VerifyRequest(
        sys.executable if python is None else python,
        timeout,
        Choice(workload, branch),
        machine,
        catalog_arg(catalog_path),
    )
    result = run_verify(request, os.environ, sys.stdin)
    emit(result, fmt)
    return ExitCode.OK if result.ok else ExitCode.VERIFY_FAILED
