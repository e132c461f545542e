"""Where recipes come from: a checkout folder's `.flox/pkgs/*.nix`, or a branch of a git repository
read as plain git objects (gitread.py: the work tree untouched, nothing the repository configures run).

Every recipe file is read bounded and without blocking (a regular file, at most
MAX_RECIPE_BYTES); every name shown in a message passes through `safe_line`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from tvselect.base.safe_text import safe_line
from tvselect.catalog.nix import MAX_RECIPE_BYTES
from tvselect.errors import BadInputError

if TYPE_CHECKING:
    from tvselect.catalog.gitread import Revision

PKGS = ".flox/pkgs"
MAX_RECIPES = 2000
MAX_SOURCE_BYTES = 32 * 1024 * 1024
"""The most bytes of recipes read from one folder or branch (real recipes are under 10 KiB each)."""


class RecipeFiles(NamedTuple):
    """The recipe files of one branch."""

    branch: str
    """The branch they build."""
    files: tuple[tuple[str, bytes], ...]
    """(name in messages, bytes) of each `.nix` file, sorted by name."""


def read_recipe_file(path: str) -> bytes:
    """The bytes of a recipe file: a regular file opened without blocking, at most one byte over
    MAX_RECIPE_BYTES (nix.py then says it is too large); BadInputError naming it otherwise."""
    from tvselect.base.textfile import read_capped

    try:
        data, more = read_capped(path, MAX_RECIPE_BYTES, sized=True)
    except OSError as exc:
        raise BadInputError(f"{safe_line(path)}: cannot be read ({exc.strerror or exc})") from None
    return data + b" " if more else data


def read_folder(path: str, branch: str | None = None) -> RecipeFiles:
    """The recipes of a checkout folder; the branch is named after the folder unless given."""
    import os

    pkgs = os.path.normpath(os.path.join(path, PKGS))
    try:
        names = sorted(n for n in os.listdir(pkgs) if n.endswith(".nix"))
    except OSError as exc:
        raise BadInputError(f"{safe_line(path)}: no readable {PKGS} folder ({exc.strerror})") from None
    if not names:
        raise BadInputError(f"{safe_line(pkgs)}: no *.nix recipe")
    if len(names) > MAX_RECIPES:
        raise BadInputError(f"{safe_line(pkgs)}: {len(names)} recipes, more than {MAX_RECIPES}")
    name = branch or os.path.basename(os.path.abspath(path))
    files, total = [], 0
    for n in names:
        data = read_recipe_file(os.path.join(pkgs, n))
        total += len(data)
        if total > MAX_SOURCE_BYTES:
            raise BadInputError(_too_much(safe_line(pkgs)))
        files.append((os.path.join(pkgs, n), data))
    return RecipeFiles(name, tuple(files))


def _too_much(where: str) -> str:
    return f"{where}: recipes of more than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB in all; real ones are a few KiB each"


def git_branches(repo: str, env: Mapping[str, str]) -> tuple[str, ...]:
    """The local branches of a repository."""
    from tvselect.catalog.gitread import branches

    return branches(repo, env)


def read_git(repo: str, branch: str, env: Mapping[str, str]) -> RecipeFiles:
    """The recipes of one branch, from git objects: each `.flox/pkgs/*.nix` blob, as it is stored."""
    from tvselect.catalog.gitread import resolve

    return read_revision(resolve(repo, branch, env))


def read_revision(revision: Revision) -> RecipeFiles:
    """The recipes of a resolved revision; `gitread.read_paths(revision, …)` reads any other file
    of the same tree (a `lib/*.nix` a recipe imports), as of the same commit."""
    from tvselect.catalog.gitread import list_tree, read_entries

    repo, branch = revision.repo, revision.name
    listing = [e for e in list_tree(revision, [f"{PKGS}/"]) if e.path.endswith(".nix")]
    if not listing:
        raise BadInputError(f"{safe_line(repo)}: branch {safe_line(branch)} has no {PKGS}/*.nix recipe")
    if len(listing) > MAX_RECIPES:
        raise BadInputError(f"{revision.shown(PKGS)}: {len(listing)} recipes, more than {MAX_RECIPES}")
    if sum(e.size for e in listing) > MAX_SOURCE_BYTES:
        raise BadInputError(_too_much(revision.shown(PKGS)))
    files = read_entries(revision, sorted(listing), MAX_RECIPE_BYTES)
    return RecipeFiles(branch, tuple((f"{branch}:{path}", data) for path, data in files))
