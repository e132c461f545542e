"""The typer application and its main command (`tvselect` with no subcommand): decide, install, label."""

# No `from __future__ import annotations` here: typer reads these signatures on every run,
# and string annotations cost it a compile and eval each (measured: ~1.5 ms a run).
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tvselect.cli import complete
from tvselect.cli.options import (
    AvailableOpt,
    BranchOpt,
    CatalogOpt,
    CpuinfoOpt,
    CpuOnlyOpt,
    DebugOpt,
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
    version_callback,
)
from tvselect.cli.output import say, warn

if TYPE_CHECKING:
    from tvselect.app.choose import ChooseRequest, Report

HELP = """Choose the build-torchvision variant that belongs on this machine, explain why, and install it.

\b
Examples:
  What should go on this machine, and why:
    tvselect
  Install the best build that acme has published:
    tvselect --install --org acme
  Choose among the packages listed in a file:
    tvselect --available published.txt
  For provisioning scripts (JSON on stdout only):
    tvselect --json | jq -r .package
  Decide for another machine:
    tvselect --gpu 8.6 --cpuinfo FILE
  The catalog's builds for an H100:
    tvselect list --gpu-arch 9.0

\b
Shell completion (bash, zsh, fish):
  tvselect --install-completion

\b
Exit status:
  0    a variant was chosen (and installed, with
       --install)
  1    unexpected error (please report it; --debug
       shows the traceback)
  2    bad usage or bad input
  3    no variant runs on this machine, or none your
       org has published, or an NVIDIA GPU of unknown
       compute capability is present (--gpu X.Y or
       --cpu-only); the answer prints in full
  4    the install failed (flox missing or failed), or
       flox could not say what your org has published,
       or it was refused: the GPU was identified only
       by its PCI device ID (--gpu-from-pci installs
       anyway)
  5    tvselect verify: a check failed
  141  the reader of standard output went away
"""

app = typer.Typer(
    name="tvselect",
    help=HELP,
    # Only the full app (a subcommand, --help or a completion request named) carries the
    # completion options; `_command_for` keeps them off the path that answers.
    add_completion=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(invoke_without_command=True)
def choose(
    ctx: typer.Context,
    workload: WorkloadOpt = "general",
    branch: BranchOpt = "auto",
    cpu_only: CpuOnlyOpt = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show every candidate and why it lost or cannot run.")
    ] = False,
    json_: JsonOpt = False,
    format_: FormatOpt = None,
    install: Annotated[
        bool, typer.Option("--install", help="Run 'flox install ORG/PACKAGE' for the choice.")
    ] = False,
    org: Annotated[
        str | None,
        typer.Option(
            "--org",
            metavar="ORG",
            help="The Flox organisation that publishes the builds; with flox on PATH, the best variant it has "
            "published is chosen.",
        ),
    ] = None,
    available: AvailableOpt = None,
    directory: Annotated[
        str | None,
        typer.Option("--dir", metavar="DIR", help="The flox environment to install into (flox -d)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --install: print the command, run nothing.")
    ] = False,
    gpu_from_pci: Annotated[
        bool,
        typer.Option(
            "--gpu-from-pci",
            help="With --install: install the GPU build even when the GPU was identified only by its PCI "
            "device ID (NVIDIA's tools could not read it, e.g. no driver loaded yet).",
        ),
    ] = False,
    verify_: Annotated[
        bool,
        typer.Option("--verify", help="With --install: then run 'tvselect verify' in the flox environment."),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="With --install: stop flox (and all it started) after this long; --verify's check too, when shorter than 120 s. [default: 1800]",
            show_default=False,
        ),
    ] = 1800.0,
    catalog_path: CatalogOpt = None,
    cpuinfo: CpuinfoOpt = None,
    gpu: GpuOpt = None,
    driver: DriverOpt = None,
    facts_path: FactsOpt = None,
    nfd: Annotated[
        str | None,
        typer.Option(
            "--nfd",
            metavar="PATH",
            help="Write the choice as Node Feature Discovery labels to this file (removed on no-match).",
        ),
    ] = None,
    nfd_expiry: Annotated[
        str | None,
        typer.Option(
            "--nfd-expiry", metavar="DURATION", help="With --nfd: labels expire after this (30m, 12h, 7d)."
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print only the package name on stdout (nothing on no-match)."),
    ] = False,
    product: Annotated[
        list[str] | None,
        typer.Option(
            "--product",
            autocompletion=complete.products,
            metavar="NAME",
            help="Choose a package of this product (pytorch, torchvision, torchaudio, vllm); repeat it "
            "for one package per product, all for one Python, installed with one flox install.",
        ),
    ] = None,
    allow_two_torch: Annotated[
        bool,
        typer.Option(
            "--allow-two-torch",
            help="With --install and --product: install packages that bring different PyTorch builds.",
        ),
    ] = False,
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> int:
    """The main command: decide for this machine, then install, verify and label as asked."""
    if ctx.invoked_subcommand is not None:
        _refuse_main_options(ctx, ctx.invoked_subcommand)
        return 0
    fmt = output_format(json_, format_)
    if quiet and (json_ or explain):
        raise typer.BadParameter("--quiet prints only the package name; leave out --json and --explain")
    if quiet and format_ is not None:
        raise typer.BadParameter("--quiet prints only the package name; leave out --format")
    import os

    from tvselect.app.choose import ChooseRequest
    from tvselect.app.choose import choose as run_choose
    from tvselect.app.inputs import Choice

    request = ChooseRequest(
        Choice(workload, branch, cpu_only),
        machine_inputs(cpuinfo, gpu, driver, facts_path),
        catalog_arg(catalog_path),
        explain=explain,
        install=install,
        org=org,
        directory=directory,
        dry_run=dry_run,
        verify=verify_,
        timeout=timeout,
        nfd=nfd,
        nfd_expiry=nfd_expiry,
        available=available,
        gpu_from_pci=gpu_from_pci,
    )
    if product:
        return _choose_products(request, tuple(product), allow_two_torch, quiet, fmt)
    if allow_two_torch:
        raise typer.BadParameter("--allow-two-torch goes with --product")
    report = run_choose(request, os.environ, sys.stdin)
    _diagnose(report)
    if quiet:
        if report.variant is not None:
            print(report.variant.package)
    else:
        from tvselect.render.emit import emit

        emit(report, fmt)
    return report.exit_code


def _choose_products(
    request: "ChooseRequest", products: tuple[str, ...], allow_two_torch: bool, quiet: bool, fmt: str
) -> int:
    """`--product`: one package per product; warnings on stderr, the answer on stdout."""
    import os

    from tvselect.app.family import FamilyRequest, choose_family

    report = choose_family(FamilyRequest(products, request, allow_two_torch), os.environ, sys.stdin)
    for warning in report.warnings:
        warn(warning)
    if report.install_result is not None and report.install_result.error is not None:
        say(f"error: {report.install_result.error}")
    if quiet:
        for variant in report.variants:
            if variant is not None:
                print(variant.package)
    else:
        from tvselect.render.emit import emit

        emit(report, fmt)
    return report.exit_code


def _diagnose(report: "Report") -> None:
    """The run's warnings, install error and NFD note, on stderr."""
    for warning in report.warnings:
        warn(warning)
    if report.install_result is not None and report.install_result.error is not None:
        say(f"error: {report.install_result.error}")
    if report.nfd_note is not None:
        say(report.nfd_note)


def _refuse_main_options(ctx: typer.Context, name: str) -> None:
    """BadInputError for an option of the main command given before subcommand `name`.

    Such an option would be silently ignored (`tvselect --json list` printing a table);
    `--debug` works anywhere and is allowed.
    """
    given = [
        param
        for param in ctx.command.params
        if param.name not in ("debug", "version")
        and getattr(ctx.get_parameter_source(param.name or ""), "name", "") == "COMMANDLINE"
    ]
    if not given:
        return
    from tvselect.errors import BadInputError

    option = given[0].opts[0]
    sub = getattr(ctx.command, "commands", {}).get(name)
    takes = sub is not None and any(option in p.opts for p in sub.params)
    where = (
        f"give it after the command: tvselect {name} {option} ..."
        if takes
        else f"'tvselect {name}' has no {option}"
    )
    raise BadInputError(
        f"{option} before '{name}' is an option of the main command, not of '{name}'; {where}"
    )
