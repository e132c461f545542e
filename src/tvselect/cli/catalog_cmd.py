"""`tvselect catalog import|lint|diff`: the catalog, read from build-torchvision recipes.

A typer sub-app; cli/main.py adds it only when `catalog` (or --help) is on the command line.
"""

# No `from __future__ import annotations`: typer reads these signatures (see cli/main.py).
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tvselect.errors import ExitCode

if TYPE_CHECKING:
    from tvselect.catalog.commands import ImportResult

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
    typer.Option("-o", "--output", metavar="FILE", help="Write the catalog here (else stdout)."),
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


def _json(document: object) -> None:
    import json

    sys.stdout.write(json.dumps(document, indent=2) + "\n")


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
      tvselect catalog import main=./build-torchvision -o team-catalog.json
    """
    import os

    from tvselect.app.recipes import ImportRequest, import_recipes

    request = ImportRequest(
        tuple(sources), tuple(branch or ()), all_branches, prefer or "", tuple(version_of or ()), skip_bad
    )
    result = import_recipes(request, os.environ)
    for line in result.skipped:
        print(f"tvselect: skipped {line}", file=sys.stderr)
    _write_catalog(result, output)
    return ExitCode.OK


def _write_catalog(result: "ImportResult", output: str | None) -> None:
    """The imported catalog on stdout or into `output`, then its counts on stderr."""
    import json

    from tvselect.catalog.commands import write_atomically

    text = json.dumps(result.document, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text)
    counts = ", ".join(f"{name} {n}" for name, n in result.counts)
    print(f"tvselect: imported {counts} variants" + (f" into {output}" if output else ""), file=sys.stderr)
    for note in result.notes:
        print(f"tvselect: {note}", file=sys.stderr)


@catalog_app.command()
def lint(sources: Sources, branch: GitBranch = None, all_branches: AllBranches = False) -> int:
    """Find what in the recipes cannot work or contradicts itself; exit status 1 when anything is found.

    \b
    Example:
      tvselect catalog lint ./build-torchvision
    """
    import os

    from tvselect.catalog.commands import gather, lint_sources

    found = lint_sources(gather(sources, branch or (), all_branches, os.environ))
    for line in found:
        print(line)
    print(f"tvselect: {len(found)} finding{'' if len(found) == 1 else 's'}", file=sys.stderr)
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
) -> int:
    """Variants added, removed and changed from catalog A to catalog B, on the branches both have.

    \b
    Example:
      tvselect catalog diff builtin main=./build-torchvision
    """
    from tvselect.catalog.commands import open_two
    from tvselect.catalog.diff import diff_catalogs, diff_document, diff_lines

    first, second = open_two(a, b)
    result = diff_catalogs(first, second)
    if json_:
        _json(diff_document(result, first, second))
    else:
        print("\n".join(diff_lines(result, first, second)))
    return ExitCode.OK
