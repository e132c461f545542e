"""`tvselect catalog import|lint|diff`: the catalog, read from build-torchvision recipes.

A typer sub-app; cli/main.py adds it only when `catalog` (or --help) is on the command line.
"""

# No `from __future__ import annotations`: typer reads these signatures (see cli/main.py).
from typing import Annotated

import typer

from tvselect.cli.options import FormatOpt, output_format
from tvselect.cli.output import say
from tvselect.errors import ExitCode

catalog_app = typer.Typer(
    name="catalog",
    help="Read the catalog from build-torchvision recipes: import it, lint the recipes, compare catalogs.\n\n"
    "\b\nExample:\n  tvselect catalog lint ./build-torchvision",
    invoke_without_command=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@catalog_app.callback()
def _catalog(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:  # `tvselect catalog` alone: its help, on stdout, exit 0
        print(ctx.get_help())


Sources = Annotated[
    list[str],
    typer.Argument(
        metavar="SOURCE...",
        help="A checkout folder (its .flox/pkgs/*.nix; NAME=PATH names the branch), or a git repository with --branch.",
        show_default=False,
    ),
]
GitBranch = Annotated[
    list[str] | None,
    typer.Option(
        "--branch", metavar="NAME", help="Read this branch of the git repository SOURCE (repeatable)."
    ),
]
AllBranches = Annotated[
    bool, typer.Option("--all-branches", help="Read every local branch of the git repository SOURCE.")
]
OutputOpt = Annotated[
    str | None,
    typer.Option(
        "-o", "--output", metavar="FILE", help="Write the catalog here ('-' or none: standard output)."
    ),
]
PreferOpt = Annotated[
    str | None, typer.Option("--prefer", metavar="BRANCH,...", help="Branch order of preference.")
]
SkipBadOpt = Annotated[
    bool, typer.Option("--skip-bad", help="Import the recipes that can be read; list the others.")
]
VersionOfOpt = Annotated[
    list[str] | None,
    typer.Option("--version-of", metavar="BRANCH=TV,PT", help="State a branch's TorchVision and PyTorch."),
]


@catalog_app.command(name="import")
def import_(
    sources: Sources,
    output: OutputOpt = None,
    prefer: PreferOpt = None,
    branch: GitBranch = None,
    all_branches: AllBranches = False,
    skip_bad: SkipBadOpt = False,
    version_of: VersionOfOpt = None,
) -> int:
    """Write a catalog (the format --catalog reads) from the recipes of checkouts or git branches.

    \b
    Example:
      tvselect catalog import main=./build-torchvision \\
          -o team-catalog.json
    """
    import os

    from tvselect.app.catalog import ImportRequest, import_recipes

    output = None if output == "-" else output  # '-' is standard output, as it is standard input elsewhere
    from tvselect.render.emit import emit, emit_file

    request = ImportRequest(
        tuple(sources),
        tuple(branch or ()),
        all_branches,
        prefer or "",
        tuple(version_of or ()),
        skip_bad,
        output,
    )
    result = import_recipes(request, os.environ)
    for line in result.skipped:
        say(f"skipped {line}")
    if output is None:
        emit(result, "json")
    else:
        emit_file(result, output)
    counts = ", ".join(f"{name} {n}" for name, n in result.counts)
    say(f"imported {counts} variants" + (f" into {output}" if output else ""))
    for note in result.notes:
        say(note)
    return ExitCode.OK


@catalog_app.command()
def lint(
    sources: Sources, branch: GitBranch = None, all_branches: AllBranches = False, format_: FormatOpt = None
) -> int:
    """Find what in the recipes cannot work or contradicts itself, one FILE:LINE line each.

    \b
    Exit status:
      0  nothing found
      1  something found (a recipe that cannot be read
         is a finding too)
      2  a SOURCE cannot be read (no .flox/pkgs, a git
         error, too many or too large recipes)

    \b
    Example:
      tvselect catalog lint ./build-torchvision
    """
    import os

    from tvselect.app.catalog import lint_recipes
    from tvselect.render.emit import emit

    fmt = output_format(False, format_)
    result = lint_recipes(sources, branch or (), all_branches, os.environ)
    emit(result, fmt)
    found = result.findings
    say(f"{len(found)} finding{'' if len(found) == 1 else 's'}")
    return 1 if found else ExitCode.OK


@catalog_app.command()
def diff(
    a: Annotated[
        str, typer.Argument(metavar="A", help="A catalog file, a checkout folder ([NAME=]DIR), or 'builtin'.")
    ],
    b: Annotated[
        str, typer.Argument(metavar="B", help="A catalog file, a checkout folder ([NAME=]DIR), or 'builtin'.")
    ],
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    format_: FormatOpt = None,
) -> int:
    """Variants added, removed and changed from catalog A to catalog B, on the branches both have.

    \b
    Example:
      tvselect catalog diff builtin main=./build-torchvision
    """
    from tvselect.app.catalog import diff_catalogs
    from tvselect.render.emit import emit

    fmt = output_format(json_, format_)
    emit(diff_catalogs(a, b), fmt)
    return ExitCode.OK
