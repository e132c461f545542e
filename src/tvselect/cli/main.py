"""The `tvselect` command line: gathers options, calls the library, hands the result to one renderer.

Only typer and the error module are imported at start-up; everything else is imported
on the path that needs it, so that `tvselect --json` does not pay for rich.
"""

# No `from __future__ import annotations` here: typer reads these signatures on every run,
# and string annotations cost it a compile and eval each (measured: ~1.5 ms a run).
import contextlib
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tvselect import __version__
from tvselect.errors import ExitCode, TvselectError

if TYPE_CHECKING:
    from typer._click.exceptions import UsageError

    from tvselect.app.cover import CoverRequest
    from tvselect.app.inputs import MachineInputs
    from tvselect.app.plan import Progress

HELP = """Choose the build-torchvision variant that belongs on this machine, explain why, and install it.

\b
Examples:
  tvselect                                 # what should go on this machine, and why
  tvselect --install --org acme            # install the best that acme has published
  tvselect --available published.txt       # choose among the packages listed there
  tvselect --json | jq -r .package         # for provisioning scripts: JSON on stdout only
  tvselect --gpu 8.6 --cpuinfo FILE        # decide for another machine
  tvselect list --gpu-arch 9.0             # the catalog's builds for an H100

\b
Shell completion (bash, zsh, fish): tvselect --install-completion

\b
Exit status:
  0  a variant was chosen (and installed, with --install)
  1  unexpected error (please report it; --debug shows the traceback)
  2  bad usage or bad input
  3  no variant runs on this machine, or none your org has published (the answer still prints in full)
  4  the install failed (flox missing, or flox failed), or flox could not say what your org has published
  5  tvselect verify: a check failed
  141  the reader of standard output went away (as for SIGPIPE)
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


def _version(value: bool) -> None:
    if value:
        print(f"tvselect {__version__}")
        raise typer.Exit()


WorkloadOpt = Annotated[
    str,
    typer.Option(
        "--workload",
        metavar="WORKLOAD",
        help="What the machine will run, a workload of the catalog (a wrong name lists them); "
        "orders the CPU builds.",
    ),
]
BranchOpt = Annotated[
    str,
    typer.Option(
        "--branch",
        metavar="BRANCH",
        help="Consider only this branch of the catalog ('auto': all); 'tvselect list' shows them.",
    ),
]
CpuOnlyOpt = Annotated[bool, typer.Option("--cpu-only", help="Choose among CPU-only builds even with GPUs.")]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON object on stdout, and nothing else there.")
]
CatalogOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        metavar="PATH",
        help="Use this catalog file, or the recipes of this checkout folder ([BRANCH=]DIR), instead of "
        "the built-in catalog (default: $TVSELECT_CATALOG).",
    ),
]
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


def _say(line: str) -> None:
    """One line on standard error, cleaned of terminal escapes; a stderr that fails is not fatal."""
    from tvselect.base.safe_text import safe_line

    with contextlib.suppress(OSError, ValueError):
        print(f"tvselect: {safe_line(line)}", file=sys.stderr)


def _warn(message: str) -> None:
    _say(f"warning: {message}")


def say_error(exc: TvselectError) -> None:
    """The one line for a TvselectError (none for a reader that went away)."""
    if str(exc):
        _say(f"error: {exc}")


def print_json(document: object) -> None:
    """Write one JSON document to stdout."""
    import json

    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


def _machine(
    cpuinfo: str | None, gpu: list[str] | None, driver: str | None, facts_path: str | None
) -> "MachineInputs":
    from tvselect.app.inputs import MachineInputs

    return MachineInputs(cpuinfo=cpuinfo, gpus=tuple(gpu or ()), driver=driver, facts_path=facts_path)


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
    verify_: Annotated[
        bool,
        typer.Option("--verify", help="With --install: then run 'tvselect verify' in the flox environment."),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="With --install: stop flox (and all it started) after this long. [default: 1800]",
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
    no_color: NoColorOpt = False,
    debug: DebugOpt = False,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> int:
    if ctx.invoked_subcommand is not None:
        _refuse_main_options(ctx, ctx.invoked_subcommand)
        return 0
    if quiet and (json_ or explain):
        raise typer.BadParameter("--quiet prints only the package name; leave out --json and --explain")
    import os

    from tvselect.app.choose import ChooseRequest
    from tvselect.app.choose import choose as run_choose
    from tvselect.app.inputs import Choice

    request = ChooseRequest(
        Choice(workload, branch, cpu_only),
        _machine(cpuinfo, gpu, driver, facts_path),
        catalog_path,
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
    )
    report = run_choose(request, os.environ, sys.stdin)
    for warning in report.warnings:
        _warn(warning)
    if report.install_result is not None and report.install_result.error is not None:
        _say(f"error: {report.install_result.error}")
    if report.nfd_note is not None:
        _say(report.nfd_note)
    if quiet:
        if report.variant is not None:
            print(report.variant.package)
    elif json_:
        from tvselect.render.document import report_document

        print_json(report_document(report))
    else:
        from tvselect.render.human import render_report

        render_report(report)
    return report.exit_code


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


@app.command()
def probe(
    json_: JsonOpt = False,
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
      ssh gpu7 tvselect probe --json > gpu7.json    # then: tvselect --facts gpu7.json
    """
    import os

    from tvselect.app.inputs import facts_of, input_warnings, load

    catalog = load(catalog_path)
    machine = _machine(cpuinfo, gpu, driver, facts_path)
    facts = facts_of(catalog, machine, os.environ, sys.stdin)
    for warning in input_warnings(machine, facts):
        _warn(warning)
    if json_:
        from tvselect.facts.document import to_document

        print_json(to_document(facts))
    else:
        from tvselect.render.human import render_facts

        render_facts(facts, catalog, machine)
    return ExitCode.OK


@app.command(name="list")
def list_(
    branch: Annotated[
        str | None,
        typer.Option(
            "--branch", metavar="[auto|main|cuda-12_9|cuda-13_0]", help="Only this branch (auto: all)."
        ),
    ] = None,
    gpu_arch: Annotated[
        str | None,
        typer.Option(
            "--gpu-arch", metavar="CC", help="Only builds for this GPU: 9.0, sm_90, sm90 or 90 (as --gpu)."
        ),
    ] = None,
    isa: Annotated[
        str | None, typer.Option("--isa", metavar="ISA", help="Only this CPU ISA, e.g. avx512.")
    ] = None,
    cpu_only: Annotated[bool, typer.Option("--cpu-only", help="Only CPU-only builds.")] = False,
    json_: Annotated[
        bool,
        typer.Option(
            "--json", help="Print the variants as one JSON array on stdout, and nothing else there."
        ),
    ] = False,
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

    listing = list_variants(ListRequest(branch, gpu_arch, isa, cpu_only, catalog_path))
    if json_:
        from tvselect.render.document import variant_summary

        print_json([variant_summary(v, listing.catalog) for v in listing.variants])
    else:
        from tvselect.render.human import render_variants

        render_variants(list(listing.variants), listing.catalog)
    return ExitCode.OK


@app.command()
def show(
    package: Annotated[str, typer.Argument(metavar="PACKAGE", help="A package name from 'tvselect list'.")],
    json_: JsonOpt = False,
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
      tvselect show torchvision-python313-cuda12_9-sm90-avx512 --gpu 9.0
    """
    import os

    from tvselect.app.browse import show_package
    from tvselect.app.inputs import input_warnings
    from tvselect.render.show import package_document

    machine = _machine(cpuinfo, gpu, driver, facts_path)
    view = show_package(package, machine, catalog_path, os.environ, sys.stdin)
    for warning in input_warnings(machine, view.decision.facts):
        _warn(warning)
    document = package_document(view.variants, view.catalog, view.decision)
    if json_:
        print_json(document)
    else:
        from tvselect.render.human import render_show

        render_show(document)
    return ExitCode.OK


@app.command()
def verify(
    python: Annotated[
        str | None,
        typer.Option("--python", metavar="PATH", help="The interpreter to check (default: tvselect's own)."),
    ] = None,
    json_: JsonOpt = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="Give up on the checked interpreter after this."),
    ] = 120.0,
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

    machine = _machine(cpuinfo, gpu, driver, facts_path)
    request = VerifyRequest(
        sys.executable if python is None else python, timeout, Choice(workload, branch), machine, catalog_path
    )
    result = run_verify(request, os.environ, sys.stdin)
    if json_:
        from tvselect.verify.document import verify_document

        print_json(verify_document(result))
    else:
        from tvselect.render.human import render_verify

        render_verify(result)
    return ExitCode.OK if result.ok else ExitCode.VERIFY_FAILED


@app.command(name="plan")
def plan_(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH...",
            help="Facts documents ('tvselect probe --json'): files, directories of them, '-' for stdin.",
            show_default=False,
        ),
    ] = None,
    workload: WorkloadOpt = "general",
    branch: BranchOpt = "auto",
    cpu_only: CpuOnlyOpt = False,
    json_: JsonOpt = False,
    catalog_path: CatalogOpt = None,
    available: AvailableOpt = None,
    org: Annotated[
        str | None,
        typer.Option("--org", metavar="ORG", help="Ask flox which planned packages ORG has published."),
    ] = None,
    missing: Annotated[
        bool,
        typer.Option(
            "--missing",
            help="Print only the packages still to build, one a line (with --available or --org).",
        ),
    ] = False,
    cover: Annotated[
        bool, typer.Option("--cover", help="The fewest builds that serve every host some variant serves.")
    ] = False,
    max_builds: Annotated[
        int | None,
        typer.Option(
            "--max-builds", metavar="N", help="The best N builds: most hosts served, least given up."
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            metavar="SECONDS",
            help="With --cover/--max-builds: the solver's limit (default 30).",
        ),
    ] = None,
    assign: Annotated[
        str | None,
        typer.Option("--assign", metavar="FILE", help="With --cover/--max-builds: one JSON line per host."),
    ] = None,
    no_color: NoColorOpt = False,
) -> int:
    """Plan a fleet: which packages to build for which hosts, and which hosts no build serves.

    Reads one facts document per file, or JSON Lines (one per line). A document that cannot
    be read is reported on stderr with its file and line, and left out. With --available or
    --org, each package is marked published or missing. With --cover or --max-builds N, chooses
    the builds (proved optimal, or says the time limit stopped it) and shows what each kind of
    machine gives up. Exit status 0 when every host is served, 3 when some are not, 2 for bad
    input, 4 when flox cannot say what is published.

    \b
    Examples:
      tvselect plan facts/            # a folder of 'tvselect probe --json' documents
      tvselect plan facts/ --cover    # the fewest builds that serve every host
    """
    import os
    from functools import partial

    from tvselect.app.inputs import Choice
    from tvselect.app.plan import PlanRequest, plan_fleet
    from tvselect.render.progress import with_progress

    if missing and json_:
        from tvselect.errors import BadInputError

        raise BadInputError("--missing prints plain names; leave out --json")
    request = PlanRequest(
        tuple(paths or ()), Choice(workload, branch, cpu_only), catalog_path, available, org, missing
    )
    progress = partial(with_progress, enabled=not json_ and sys.stderr.isatty(), label="reading facts")
    if cover or max_builds is not None or time_limit is not None or assign is not None:
        from tvselect.app.cover import CoverRequest, cover_request

        wanted = cover_request(cover, CoverRequest(request, max_builds, time_limit, assign))
        return _plan_cover(wanted, progress, json_)
    result = plan_fleet(
        request,
        sys.stdin,
        progress,
        lambda bad: _warn(f"{bad.source}:{bad.line}: skipped: {bad.error}"),
        os.environ,
        _warn,
    )
    if missing:
        from tvselect.fleet.plan import missing_packages

        names = missing_packages(result)
        sys.stdout.write("".join(name + "\n" for name in names))
    elif json_:
        from tvselect.fleet.plan import plan_document

        print_json(plan_document(result))
    else:
        from tvselect.render.plan import render_plan

        render_plan(result)
    return ExitCode.NO_MATCH if result.totals.unserved else ExitCode.OK


def _plan_cover(request: "CoverRequest", progress: "Progress", json_: bool) -> int:
    from tvselect.app.cover import cover_fleet_plan

    result = cover_fleet_plan(
        request, sys.stdin, progress, lambda bad: _warn(f"{bad.source}:{bad.line}: skipped: {bad.error}")
    )
    if json_:
        from tvselect.fleet.coverage import cover_document
        from tvselect.fleet.plan import plan_document

        print_json({**plan_document(result.plan), "cover": cover_document(result.cover)})
    else:
        from tvselect.render.cover import render_cover

        render_cover(result.cover, result.assigned)
    return ExitCode.NO_MATCH if result.cover.totals.unserved else ExitCode.OK


def _command_for(args: list[str]) -> typer.Typer:
    """The full app when a subcommand or --help may be named, else one holding only the main command.

    Typer turns every registered function's signature into click parameters on each run;
    building only the main command keeps `tvselect --json` near the cost of importing typer.
    A value that merely looks like a subcommand name (a file called `list`) just takes the
    full app, which handles every command line correctly.
    """
    names = {
        info.name or info.callback.__name__.replace("_", "-")
        for info in app.registered_commands
        if info.callback
    }
    import os

    full = ("-h", "--help", "catalog", "--install-completion", "--show-completion")
    if "_TVSELECT_COMPLETE" in os.environ or any(arg in names or arg in full for arg in args):
        if not app.registered_groups:
            from tvselect.cli.catalog_cmd import catalog_app

            app.add_typer(catalog_app)
        return app
    single = typer.Typer(
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    single.command(name="tvselect", help=HELP)(choose)
    return single


def _usage_message(exc: "UsageError", args: list[str]) -> str:
    """The usage error, a guess for a mistyped subcommand, and the --help that covers it."""
    command = exc.ctx.command_path if exc.ctx is not None else "tvselect"
    if command.split()[-1] != "tvselect":
        return f"{exc.format_message()} (see '{command} --help')"
    if args and not args[0].startswith("-"):
        import difflib

        names = [info.name or info.callback.__name__ for info in app.registered_commands if info.callback]
        close = difflib.get_close_matches(args[0], names, n=1, cutoff=0.5)
        if close:
            return f"no such command {args[0]!r}; did you mean {close[0]}? (see 'tvselect --help')"
    return f"{exc.format_message()} (see 'tvselect --help')"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (documented in --help)."""
    # typer vendors click from 0.28 on; the version range in pyproject.toml pins this path.
    from typer._click.exceptions import ClickException, UsageError

    args = sys.argv[1:] if argv is None else argv
    if "--no-color" in args:
        import os

        os.environ["NO_COLOR"] = "1"
    try:
        result = _command_for(args)(args=args, prog_name="tvselect", standalone_mode=False)
    except UsageError as exc:
        _say(f"error: {_usage_message(exc, args)}")
        return ExitCode.BAD_INPUT
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return ExitCode.INTERRUPTED
    except ClickException as exc:
        _say(f"error: {exc.format_message()}")
        return ExitCode.BAD_INPUT
    except TvselectError as exc:
        say_error(exc)
        return int(exc.exit_code)
    except BrokenPipeError:
        return ExitCode.BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into a message
        if "--debug" in args:
            import traceback

            traceback.print_exc()
        _say(
            f"unexpected error: {type(exc).__name__}: {exc}. This is a bug in tvselect; "
            "please report it with the command you ran (--debug shows the traceback)."
        )
        return ExitCode.UNEXPECTED
    return int(result or 0)
